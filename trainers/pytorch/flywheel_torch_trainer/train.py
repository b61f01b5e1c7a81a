"""Training run: fresh, warm-started from a parent checkpoint, or resumed from a mid-run checkpoint.
Seeded: epoch e shuffles with its own generator (seed, e), so a resumed run replays the same batches."""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Optional

import numpy as np
import torch

from .contract import BadInput, Inputs, ParentWatch, emit
from .data import read_snapshot
from .export import export_onnx
from .model import TabularNet, architecture, loss_fn, mismatch, prepare_targets, standardization

FORMAT = "flywheel.torch-checkpoint"
VERSION = 1


def pick_device() -> torch.device:
    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def settings_from(hparams: dict) -> dict:
    s = {
        "hiddenLayers": [int(h) for h in hparams.get("hiddenLayers", [])],
        "activation": hparams.get("activation", "relu"),
        "epochs": int(hparams.get("epochs", 10)),
        "learningRate": float(hparams.get("learningRate", 0.01)),
        "batchSize": int(hparams.get("batchSize", 64)),
        "l2": float(hparams.get("l2", 0.0)),
        "optimizer": hparams.get("optimizer", "adam"),
        "seed": int(hparams.get("seed", 0)),
        "patience": int(hparams.get("earlyStoppingPatience", hparams.get("patience", 5))),
    }
    if s["epochs"] < 1 or s["batchSize"] < 1 or not s["learningRate"] > 0 or s["l2"] < 0:
        raise BadInput(f"FLYWHEEL_HPARAMS: epochs and batchSize must be >= 1, learningRate > 0 and l2 >= 0 (got {s})")
    if s["optimizer"] not in ("adam", "sgd"):
        raise BadInput(f"FLYWHEEL_HPARAMS.optimizer must be adam or sgd, got {s['optimizer']!r}")
    return s


def make_optimizer(name: str, params, lr: float, l2: float):
    # L2 as weight_decay on every parameter: the closest torch equivalent of the TS trainers' penalty.
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=l2)
    return torch.optim.Adam(params, lr=lr, weight_decay=l2)


def run(inputs: Inputs) -> dict:
    watch = ParentWatch()
    device = pick_device()
    emit("info", device=str(device), torch=torch.__version__, message=f"flywheel_torch_trainer on {device}")
    settings = settings_from(inputs.hparams)
    task = inputs.task
    features = list(inputs.features.get("numeric", []))
    data = read_snapshot(inputs.dataset_path, inputs.features, inputs.data_since_ms)
    torch.manual_seed(settings["seed"])

    parent = load_parent(inputs) if inputs.mode == "stateful" else None
    outputs = 1
    if task == "multiclass":
        outputs = int(parent["arch"]["outputs"]) if parent else int(max(data.train.y.max(), data.validation.y.max() if data.validation else 0)) + 1
    if parent:
        mean, std = np.asarray(parent["mean"]), np.asarray(parent["std"])  # the parent's standardisation stays fixed
        target_mean, target_std = parent["target"]
    else:
        mean, std = standardization(data.train.x)
        target_mean, target_std = (float(data.train.y.mean()), float(data.train.y.std() or 1.0)) if task == "regression" else (0.0, 1.0)
    model = TabularNet(mean, std, settings["hiddenLayers"], settings["activation"], task, outputs, target_mean, target_std)
    arch = architecture(model, settings["hiddenLayers"], settings["activation"], outputs, features)
    optimizer = make_optimizer(settings["optimizer"], model.parameters(), settings["learningRate"], settings["l2"])
    init = "fresh"
    if parent:
        problem = mismatch(parent["arch"], arch)
        if problem:
            raise BadInput(f"warm start: {problem}; features or architecture changed, which is model iteration: run a stateless retrain")
        model.load_state_dict(parent["state_dict"])
        try:
            optimizer.load_state_dict(parent["optimizer"])
        except ValueError:
            emit("info", message="parent optimizer state does not fit this optimizer; starting it fresh")
        init = "warm_start"
    model.to(device)
    # Optimizer state tensors follow the parameters' device.
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value) and key != "step":
                state[key] = value.to(device)

    parent_total = int(parent["samples_seen_total"]) if parent else 0
    settings_key = hashlib.sha256(json.dumps({"s": settings, "f": inputs.features, "task": task, "mode": inputs.mode,
                                              "uri": inputs.dataset_uri, "since": inputs.data_since_ms,
                                              "parent": parent["digest"] if parent else None}, sort_keys=True).encode()).hexdigest()
    xt = torch.as_tensor(data.train.x, dtype=torch.float32, device=device)
    yt = prepare_targets(task, data.train.y, target_mean, target_std, device)
    xv = torch.as_tensor(data.validation.x, dtype=torch.float32, device=device) if data.validation else None
    yv = prepare_targets(task, data.validation.y, target_mean, target_std, device) if data.validation else None
    criterion = loss_fn(task)

    def evaluate(x, y) -> float:
        model.eval()
        with torch.no_grad():
            return float(criterion(model.logits(x), y).item())

    state = {"epoch": 0, "step": 0, "samples_seen": 0, "best_loss": math.inf, "best_epoch": 0, "since": 0,
             "best_state": None, "history": []}
    resumed = load_resume(inputs, settings_key)
    if resumed:
        model.load_state_dict(resumed["state_dict"])
        optimizer.load_state_dict(resumed["optimizer"])
        state = resumed["run"]["state"]
        init = "resume"
        emit("info", message=f"resuming from epoch {state['epoch']}", resumedFromEpoch=state["epoch"])
    else:
        first = {"epoch": 0, "trainLoss": evaluate(xt, yt), "validationLoss": evaluate(xv, yv) if xv is not None else None, "samplesSeen": 0}
        state["history"].append(first)
        if first["validationLoss"] is not None:
            state["best_loss"] = first["validationLoss"]
        state["best_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        emit("progress", epoch=0, epochs=settings["epochs"], step=0, loss=first["trainLoss"], validationLoss=first["validationLoss"], samplesSeen=0)

    start_epoch = state["epoch"]
    os.makedirs(os.path.join(inputs.output_dir, "checkpoints"), exist_ok=True)
    rows = xt.shape[0]
    stop_reason = "epochs"
    for epoch in range(state["epoch"] + 1, settings["epochs"] + 1):
        if xv is not None and settings["patience"] > 0 and state["since"] >= settings["patience"]:
            stop_reason = "early_stopping"
            break
        started = time.process_time()
        wall = time.perf_counter()
        model.train()
        generator = torch.Generator().manual_seed(settings["seed"] * 1_000_003 + epoch)
        order = torch.randperm(rows, generator=generator).to(device)
        for start in range(0, rows, settings["batchSize"]):
            index = order[start:start + settings["batchSize"]]
            optimizer.zero_grad()
            loss = criterion(model.logits(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            state["step"] += 1
            state["samples_seen"] += int(index.shape[0])
        watch.check()
        train_loss = evaluate(xt, yt)
        val_loss = evaluate(xv, yv) if xv is not None else None
        if not math.isfinite(train_loss):
            raise BadInput(f"training diverged at epoch {epoch} (train loss {train_loss}); lower learningRate (now {settings['learningRate']})")
        state["epoch"] = epoch
        state["history"].append({"epoch": epoch, "trainLoss": train_loss, "validationLoss": val_loss, "samplesSeen": state["samples_seen"]})
        if val_loss is not None:
            if val_loss < state["best_loss"]:
                state.update(best_loss=val_loss, best_epoch=epoch, since=0,
                             best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            else:
                state["since"] += 1
        emit("progress", epoch=epoch, epochs=settings["epochs"], step=state["step"], loss=train_loss, validationLoss=val_loss,
             samplesSeen=state["samples_seen"], seconds=time.perf_counter() - wall, cpuSeconds=time.process_time() - started)
        if epoch % inputs.checkpoint_every == 0 and epoch < settings["epochs"]:
            relative = os.path.join("checkpoints", f"epoch-{epoch:06d}.pt")
            save_checkpoint(os.path.join(inputs.output_dir, relative), model, optimizer, arch, parent_total + state["samples_seen"],
                            run={"run_id": inputs.run_id, "settings_key": settings_key, "state": state})
            emit("checkpoint", epoch=epoch, path=relative)
    else:
        if xv is not None and settings["patience"] > 0 and state["since"] >= settings["patience"]:
            stop_reason = "early_stopping"

    if xv is not None and state["best_state"] is not None:
        model.load_state_dict(state["best_state"])  # restore the best validation epoch
    best_epoch = state["best_epoch"] if xv is not None else state["epoch"]
    export_onnx(model, features, os.path.join(inputs.output_dir, "model.onnx"),
                {"pipeline_run_id": inputs.run_id, "dataset_uri": inputs.dataset_uri, "training_mode": inputs.mode, "device": str(device)})
    save_checkpoint(os.path.join(inputs.output_dir, "checkpoint.pt"), model, optimizer, arch, parent_total + state["samples_seen"], run=None)
    last = state["history"][-1]
    result = {
        "epochs": state["epoch"], "bestEpoch": best_epoch, "samplesSeen": state["samples_seen"],
        "samplesSeenTotal": parent_total + state["samples_seen"], "finalTrainLoss": last["trainLoss"],
        "finalValidationLoss": last["validationLoss"], "startEpoch": start_epoch,
        "init": init, "stopReason": stop_reason, "device": str(device), "history": state["history"],
    }
    with open(os.path.join(inputs.output_dir, "result.json"), "w") as out:
        json.dump(result, out)
    return result


def save_checkpoint(path: str, model: TabularNet, optimizer, arch: dict, samples_seen_total: int, run: Optional[dict]) -> None:
    payload = {
        "format": FORMAT, "version": VERSION, "arch": arch,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "mean": model.mean.cpu().tolist(), "std": model.std.cpu().tolist(),
        "target": [float(model.target_mean.item()), float(model.target_std.item())],
        "samples_seen_total": samples_seen_total, "run": run,
    }
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)  # a reader never sees a half-written checkpoint


def read_checkpoint(path: str, what: str) -> dict:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same problem for the user
        raise BadInput(f"{what} {path} cannot be read as a torch checkpoint: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BadInput(f"{what} is not a flywheel_torch_trainer checkpoint; warm-start from a checkpoint this trainer wrote")
    if payload.get("version") != VERSION:
        raise BadInput(f"{what} has version {payload.get('version')}, this trainer reads {VERSION}")
    return payload


def load_parent(inputs: Inputs) -> dict:
    if not inputs.parent_checkpoint_path:
        raise BadInput("a stateful run of flywheel_torch_trainer needs the parent's checkpoint.pt (FLYWHEEL_PARENT_CHECKPOINT_PATH); "
                       "the workflow passes parentCheckpointUri, or run stateless")
    payload = read_checkpoint(inputs.parent_checkpoint_path, "parent checkpoint")
    with open(inputs.parent_checkpoint_path, "rb") as source:
        payload["digest"] = hashlib.sha256(source.read()).hexdigest()
    return payload


def load_resume(inputs: Inputs, settings_key: str) -> Optional[dict]:
    if not inputs.resume_checkpoint_path:
        return None
    try:
        payload = read_checkpoint(inputs.resume_checkpoint_path, "resume checkpoint")
    except BadInput as error:
        emit("info", message=f"not resuming: {error}; starting over")
        return None
    run = payload.get("run")
    if not run or run.get("run_id") != inputs.run_id or run.get("settings_key") != settings_key:
        emit("info", message="not resuming: the checkpoint belongs to another run, settings or dataset; starting over")
        return None
    return payload
