"""Model checkpoints: config.json + weights.safetensors + vocab.txt; loading never runs code from the files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_dir, fsync_file

FORMAT = "cltc-model/1"
WEIGHTS = "weights.safetensors"


@dataclass
class Checkpoint:
    path: Path
    config: dict[str, Any]
    state: dict[str, torch.Tensor]
    vocab: list[tuple[str, str]]


def save_checkpoint(path: str | Path, config: dict[str, Any], state: dict[str, torch.Tensor],
                    vocab: list[tuple[str, str]], force: bool = False) -> str:
    """Write a checkpoint directory atomically; returns its sha256 (config + weights + vocab)."""
    config = {"format": FORMAT, **config}
    with atomic_dir(path, force=force) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp / WEIGHTS))
        with open(tmp / "vocab.txt", "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(f"{lang}\t{tok}\n" for lang, tok in vocab)
        (tmp / "config.json").write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2) + b"\n")
        for name in (WEIGHTS, "vocab.txt", "config.json"):
            fsync_file(tmp / name)
        digest = checkpoint_sha256(tmp)
    return digest


def checkpoint_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", WEIGHTS, "vocab.txt"):
        digest.update((path / name).read_bytes())
    return digest.hexdigest()


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise InputError("not a model checkpoint (no config.json)", path)
    try:
        config = orjson.loads(config_path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise InputError(f"invalid JSON ({err.msg})", config_path, err.lineno) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} checkpoint", config_path)
    for key in ("arch", "hparams", "labels", "mode", "train_langs", "space"):
        if key not in config:
            raise InputError(f"missing field {key!r}", config_path)
    return config


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; the weights come from safetensors, which holds tensors only."""
    path = Path(path)
    config = load_config(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise InputError(f"checkpoint lacks {WEIGHTS} (weights in other formats are not loaded)", path)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"unreadable weights ({err})", weights) from None
    vocab = []
    with open(path / "vocab.txt", encoding="utf-8", newline="\n") as handle:
        for line_no, line in enumerate(handle, start=1):
            lang, sep, tok = line.rstrip("\n").partition("\t")
            if not sep:
                raise InputError("expected 'lang<TAB>token'", path / "vocab.txt", line_no)
            vocab.append((lang, tok))
    return Checkpoint(path, config, state, vocab)
