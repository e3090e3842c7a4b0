"""Epoch snapshots of a training run, so that ``--resume`` continues exactly where an interrupted run stopped.

A snapshot holds the model, the optimiser, the best weights so far and every random state (torch and numpy), in
safetensors plus JSON (never pickle); it sits next to the model directory as ``.NAME.progress``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_dir


@dataclass
class Snapshot:
    epoch: int
    best_score: float
    best_epoch: int
    model: dict[str, torch.Tensor]
    best: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    numpy_rng: dict[str, Any]
    torch_rng: torch.Tensor
    fingerprint: str
    history: list[dict[str, Any]] = field(default_factory=list)


def progress_dir(model_dir: Path) -> Path:
    return model_dir.parent / f".{model_dir.name}.progress"


def _flatten_optimizer(states: dict[str, dict[str, Any]]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimiser state dicts (one per part) as named tensors plus JSON-able scalars."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for part, state in states.items():
        scalars: dict[str, Any] = {}
        for pid, slots in state["state"].items():
            for name, value in slots.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"opt.{part}.{pid}.{name}"] = value
                else:
                    scalars[f"{pid}.{name}"] = value
        meta[part] = {"param_groups": state["param_groups"], "scalars": scalars}
    return tensors, meta


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for part, part_meta in meta.items():
        state: dict[int, dict[str, Any]] = {}
        prefix = f"opt.{part}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, name = key[len(prefix):].split(".", 1)
                state.setdefault(int(pid), {})[name] = value
        for key, value in part_meta["scalars"].items():
            pid, name = key.split(".", 1)
            state.setdefault(int(pid), {})[name] = value
        states[part] = {"state": state, "param_groups": part_meta["param_groups"]}
    return states


def save_snapshot(model_dir: Path, snap: Snapshot) -> None:
    """Replace the run's snapshot atomically (the previous one survives a crash mid-write)."""
    opt_tensors, opt_meta = _flatten_optimizer(snap.optimizer)
    tensors = {f"model.{k}": v for k, v in snap.model.items()}
    tensors.update({f"best.{k}": v for k, v in snap.best.items()})
    tensors.update(opt_tensors)
    tensors["rng.torch"] = snap.torch_rng
    meta = {"epoch": snap.epoch, "best_score": snap.best_score, "best_epoch": snap.best_epoch,
            "optimizer": opt_meta, "numpy_rng": snap.numpy_rng, "fingerprint": snap.fingerprint,
            "history": snap.history}
    with atomic_dir(progress_dir(model_dir), force=True) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta))


def load_snapshot(model_dir: Path, fingerprint: str) -> Snapshot | None:
    """The last snapshot of this run, or None; a snapshot of different settings is refused."""
    path = progress_dir(model_dir)
    if not (path / "state.json").is_file():
        return None
    try:
        meta = json.loads((path / "state.json").read_text())
        tensors = load_file(str(path / "state.safetensors"))
    except (ValueError, OSError, SafetensorError) as err:
        raise InputError(f"unreadable training snapshot ({err}); remove it to start afresh", path) from None
    if not isinstance(meta, dict) or meta.get("fingerprint") != fingerprint:
        raise InputError("snapshot of a run with other data or settings; remove it or drop --resume", path)
    pick = lambda prefix: {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}  # noqa: E731
    try:
        return Snapshot(meta["epoch"], meta["best_score"], meta["best_epoch"], pick("model."), pick("best."),
                        _unflatten_optimizer(tensors, meta["optimizer"]), meta["numpy_rng"], tensors["rng.torch"],
                        fingerprint, meta.get("history", []))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"damaged training snapshot ({type(err).__name__}: {err}); remove it to start afresh",
                         path) from None


def drop_snapshot(model_dir: Path) -> None:
    shutil.rmtree(progress_dir(model_dir), ignore_errors=True)


def numpy_state(rng: np.random.Generator) -> dict[str, Any]:
    return rng.bit_generator.state


def restore_numpy(state: dict[str, Any]) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return rng
