"""Entry point: `python -m flywheel_torch_trainer` trains under the command-trainer contract;
`python -m flywheel_torch_trainer predict CHECKPOINT < rows.json` prints the model's outputs (debugging, parity tests)."""
from __future__ import annotations

import json
import sys
import traceback

from .contract import EXIT_BAD_INPUT, BadInput, read_inputs


def train() -> int:
    from .train import run

    try:
        run(read_inputs())
        return 0
    except BadInput as error:
        sys.stderr.write(f"flywheel_torch_trainer: {error}\n")
        return EXIT_BAD_INPUT
    except Exception:  # noqa: BLE001 - anything else may be transient (OOM, CUDA, disk): let the activity retry
        traceback.print_exc()
        return 1


def predict(checkpoint_path: str) -> int:
    """Reads {"features": [[...], ...]} on stdin; prints {"outputs": [[...], ...]} computed by torch on CPU."""
    import torch

    from .model import TabularNet
    from .train import read_checkpoint

    payload = read_checkpoint(checkpoint_path, "checkpoint")
    arch = payload["arch"]
    model = TabularNet(payload["mean"], payload["std"], arch["hidden"], arch["activation"], arch["task"], arch["outputs"], *payload["target"])
    model.load_state_dict(payload["state_dict"])
    model.eval()
    rows = json.load(sys.stdin)["features"]
    with torch.no_grad():
        out = model(torch.tensor(rows, dtype=torch.float32))
    json.dump({"outputs": out.tolist()}, sys.stdout)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["predict"]:
        if len(argv) != 2:
            sys.stderr.write("usage: python -m flywheel_torch_trainer predict CHECKPOINT < rows.json\n")
            return 2
        return predict(argv[1])
    if argv:
        sys.stderr.write("usage: python -m flywheel_torch_trainer [predict CHECKPOINT]\n")
        return 2
    return train()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
