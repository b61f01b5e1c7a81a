"""Reads a Flywheel Arrow dataset snapshot (columns event_time_ms, entity_id, f_<name>, label, split)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa

from .contract import BadInput

SPLIT_VALIDATION = 1


@dataclass
class Split:
    x: np.ndarray  # float32 [N, F], raw (unstandardised) numeric features
    y: np.ndarray  # float64 [N]


@dataclass
class Snapshot:
    train: Split
    validation: Optional[Split]


def read_snapshot(path: str, features: dict, data_since_ms: Optional[float]) -> Snapshot:
    categorical = [c["name"] for c in features.get("categorical", [])]
    if categorical:
        # One-hot encoding inside the exported graph is done by the built-in trainers; this reference
        # trainer keeps to numeric inputs rather than half-implement it.
        raise BadInput(
            f"flywheel_torch_trainer supports numeric features only, the spec has categorical {categorical}; "
            "use a built-in trainer (logistic_regression, softmax_regression, mlp) or declare them numeric"
        )
    numeric = list(features.get("numeric", []))
    if not numeric:
        raise BadInput("FLYWHEEL_FEATURES lists no numeric features; declare at least one")
    with pa.memory_map(path, "r") as source:
        table = pa.ipc.open_file(source).read_all()
    names = set(table.column_names)
    missing = [c for c in ["event_time_ms", "label", "split", *[f"f_{n}" for n in numeric]] if c not in names]
    if missing:
        raise BadInput(f"dataset snapshot lacks columns {missing} (has {sorted(names)})")
    x = np.column_stack([table.column(f"f_{n}").to_numpy(zero_copy_only=False).astype(np.float64) for n in numeric])
    if not np.isfinite(x).all():
        row, col = np.argwhere(~np.isfinite(x))[0]
        raise BadInput(f"feature \"{numeric[col]}\" has a non-finite value at row {row}; impute or drop it")
    y = table.column("label").to_numpy(zero_copy_only=False).astype(np.float64)
    split = table.column("split").to_numpy(zero_copy_only=False)
    times = table.column("event_time_ms").to_numpy(zero_copy_only=False).astype(np.float64)
    train = split != SPLIT_VALIDATION
    if data_since_ms is not None:
        train &= times > data_since_ms
    if not train.any():
        raise BadInput("no training rows" + (f" after data_since_ms {data_since_ms}" if data_since_ms is not None else ""))
    val = split == SPLIT_VALIDATION
    return Snapshot(
        train=Split(x[train], y[train]),
        validation=Split(x[val], y[val]) if val.any() else None,
    )
