"""The network: in-graph standardisation (buffers, so they export into ONNX), dense layers, task head."""
from __future__ import annotations

from typing import List, Optional

import torch
from torch import nn

# float32's smallest normal number: a smaller std would turn finite inputs into inf in the graph.
MIN_STD = 1.1754943508222875e-38

OUTPUT_NAMES = {"binary_classification": "probability", "multiclass": "probabilities", "regression": "prediction"}


class TabularNet(nn.Module):
    """features [N, F] -> ((x - mean) / std) -> hidden layers -> head (sigmoid, softmax, or un-scaled value)."""

    def __init__(self, mean, std, hidden: List[int], activation: str, task: str, outputs: int,
                 target_mean: float = 0.0, target_std: float = 1.0) -> None:
        super().__init__()
        if task not in OUTPUT_NAMES:
            raise ValueError(f"unknown task {task}")
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be relu or tanh, got {activation}")
        self.task = task
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).clone())
        self.register_buffer("target_mean", torch.tensor([target_mean], dtype=torch.float32))
        self.register_buffer("target_std", torch.tensor([target_std], dtype=torch.float32))
        sizes = [int(self.mean.shape[0]), *hidden, outputs]
        layers: List[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU() if activation == "relu" else nn.Tanh())
        self.body = nn.Sequential(*layers)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-activation outputs of standardised inputs (what the losses take)."""
        return self.body((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.logits(x)
        if self.task == "binary_classification":
            return torch.sigmoid(z)
        if self.task == "multiclass":
            return torch.softmax(z, dim=-1)
        return z * self.target_std + self.target_mean


def standardization(x, moments_std_floor: float = MIN_STD):
    """Population mean/std per column; a std below float32's normal range becomes 1 (as the TS trainers do)."""
    import numpy as np

    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(np.isfinite(std) & (std >= moments_std_floor), std, 1.0)
    return mean, std


def loss_fn(task: str):
    if task == "binary_classification":
        return nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return nn.CrossEntropyLoss()
    return nn.MSELoss()


def prepare_targets(task: str, y, target_mean: float, target_std: float, device) -> torch.Tensor:
    if task == "binary_classification":
        return torch.as_tensor(y, dtype=torch.float32, device=device).reshape(-1, 1)
    if task == "multiclass":
        return torch.as_tensor(y, dtype=torch.long, device=device)
    return torch.as_tensor((y - target_mean) / target_std, dtype=torch.float32, device=device).reshape(-1, 1)


def architecture(model: TabularNet, hidden: List[int], activation: str, outputs: int, features: List[str]) -> dict:
    return {"task": model.task, "hidden": list(hidden), "activation": activation, "outputs": outputs, "features": list(features)}


def mismatch(parent: dict, current: dict) -> Optional[str]:
    for key in ("task", "hidden", "activation", "outputs", "features"):
        if parent.get(key) != current.get(key):
            return f"{key} is {parent.get(key)!r} in the parent but {current.get(key)!r} now"
    return None
