"""The command-trainer contract on the trainer side: FLYWHEEL_* inputs, JSON-lines events, exit codes."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

# sysexits EX_DATAERR: the data or the settings are wrong; the activity fails without retrying.
EXIT_BAD_INPUT = 65


class BadInput(Exception):
    """Raised for problems that a retry cannot fix (bad data, bad settings, architecture mismatch)."""


def emit(event: str, **fields: Any) -> None:
    """One JSON object per line on stdout; the activity relays progress lines as heartbeats."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


@dataclass
class Inputs:
    dataset_path: str
    dataset_uri: str
    output_dir: str
    hparams: dict
    features: dict
    task: str
    mode: str
    parent_checkpoint_path: Optional[str]
    parent_model_path: Optional[str]
    resume_checkpoint_path: Optional[str]
    checkpoint_every: int
    data_since_ms: Optional[float]
    run_id: str


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise BadInput(f"{name} is not set; the Flywheel training activity sets it (see training/COMMAND_TRAINER.md)")
    return value


def _json(name: str) -> Any:
    try:
        return json.loads(_required(name))
    except json.JSONDecodeError as error:
        raise BadInput(f"{name} is not valid JSON: {error}") from error


def read_inputs() -> Inputs:
    since = os.environ.get("FLYWHEEL_DATA_SINCE_MS")
    return Inputs(
        dataset_path=_required("FLYWHEEL_DATASET_PATH"),
        dataset_uri=os.environ.get("FLYWHEEL_DATASET_URI", ""),
        output_dir=_required("FLYWHEEL_OUTPUT_DIR"),
        hparams=_json("FLYWHEEL_HPARAMS"),
        features=_json("FLYWHEEL_FEATURES"),
        task=os.environ.get("FLYWHEEL_TASK", "binary_classification"),
        mode=os.environ.get("FLYWHEEL_MODE", "stateless"),
        parent_checkpoint_path=os.environ.get("FLYWHEEL_PARENT_CHECKPOINT_PATH") or None,
        parent_model_path=os.environ.get("FLYWHEEL_PARENT_MODEL_PATH") or None,
        resume_checkpoint_path=os.environ.get("FLYWHEEL_RESUME_CHECKPOINT_PATH") or None,
        checkpoint_every=max(1, int(os.environ.get("FLYWHEEL_CHECKPOINT_EVERY", "1") or 1)),
        data_since_ms=float(since) if since else None,
        run_id=os.environ.get("FLYWHEEL_RUN_ID", ""),
    )


class ParentWatch:
    """Exits when the process that started us is gone (re-parented): nobody would upload our work."""

    def __init__(self) -> None:
        self.parent = os.getppid()

    def check(self) -> None:
        if os.getppid() != self.parent:
            sys.stderr.write("flywheel_torch_trainer: the worker that started this run is gone; exiting\n")
            sys.stderr.flush()
            os._exit(1)
