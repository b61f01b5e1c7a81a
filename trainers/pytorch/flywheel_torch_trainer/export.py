"""ONNX export through torch's TorchScript exporter (dynamo=False: it needs only the onnx package),
with Flywheel's input/output names and metadata so serving checks the feature order."""
from __future__ import annotations

import io
import json
import warnings
from typing import List

import onnx
import torch

from .model import OUTPUT_NAMES, TabularNet

OPSET = 17


def export_onnx(model: TabularNet, features: List[str], path: str, meta: dict) -> None:
    model = model.to("cpu").eval()
    example = torch.zeros(2, len(features), dtype=torch.float32)
    output = OUTPUT_NAMES[model.task]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model, (example,), buffer,
            input_names=["features"], output_names=[output],
            dynamic_axes={"features": {0: "N"}, output: {0: "N"}},
            opset_version=OPSET, dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    props = {
        "flywheel.model_kind": "torch_mlp",
        "flywheel.feature_names": json.dumps(features),
        "flywheel.task": model.task,
        **{k: str(v) for k, v in meta.items()},
    }
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "flywheel_torch_trainer"
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
