"""Model checkpoints: config.json + weights.safetensors + vocab.txt; loading never runs code from the files."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_dir, fsync_file
from cltc_tools.io.names import check_lang
from cltc_tools.io.space import read_lang_tokens

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
    if not path.exists():
        raise InputError("no such folder", path)
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
    _check_config(config, config_path)
    return config


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _check_config(config: dict[str, Any], path: Path) -> None:
    """Types and ranges of every field that evaluation uses, so that a damaged config is an input error."""
    from cltc_tools.text.tokenize import Tokenizer
    from cltc_tools.training.models import ARCHS

    if not isinstance(config["arch"], str):
        raise InputError("field 'arch' must be a string", path)
    try:
        arch = ARCHS.get(config["arch"])
    except InputError as err:
        raise InputError(err.problem, path) from None
    labels = config["labels"]
    if not _strings(labels) or not labels or len(set(labels)) != len(labels):
        raise InputError("field 'labels' must be a non-empty list of distinct strings", path)
    if config["mode"] not in ("mono", "multi"):
        raise InputError("field 'mode' must be 'mono' or 'multi'", path)
    if not _strings(config["train_langs"]) or not config["train_langs"]:
        raise InputError("field 'train_langs' must be a non-empty list of language codes", path)
    space = config["space"]
    if not isinstance(space, dict) or not isinstance(space.get("path"), str):
        raise InputError("field 'space' must be an object with a 'path'", path)
    for key in ("name", "method", "sha256", "path_from_checkpoint"):
        if key in space and not isinstance(space[key], str):
            raise InputError(f"field 'space.{key}' must be a string", path)
    if "size" in space and (type(space["size"]) is not int or space["size"] < 0):
        raise InputError("field 'space.size' must be a non-negative integer", path)
    for lang in config["train_langs"]:
        check_lang(lang, path)
    if not isinstance(config.get("tokenizer", {}), dict):
        raise InputError("field 'tokenizer' must be an object", path)
    try:
        Tokenizer.from_json(config.get("tokenizer", {}))
    except InputError as err:
        raise InputError(f"field 'tokenizer': {err.problem}", path) from None
    hparams = config["hparams"]
    if not isinstance(hparams, dict):
        raise InputError("field 'hparams' must be an object", path)
    for key, default in arch.defaults.items():
        if key not in hparams:
            raise InputError(f"missing hyper-parameter {key!r} of architecture {arch.name!r}", path)
        if not _same_kind(hparams[key], default):
            raise InputError(f"hyper-parameter {key!r} must be like {default!r}, found {hparams[key]!r}"[:200], path)


def _same_kind(value: Any, default: Any) -> bool:
    """A hyper-parameter of the type of its default: bool, a non-negative int or finite number, a list of ints."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return type(value) is int and 0 <= value < 1 << 31
    if isinstance(default, float):
        return type(value) in (int, float) and math.isfinite(value) and value >= 0
    if isinstance(default, list):
        return (isinstance(value, list) and bool(value)
                and all(type(x) is int and 0 < x < 1 << 16 for x in value))
    return True


def model_space_path(path: Path, config: dict[str, Any]) -> Path:
    """The space a checkpoint was trained on: ``space.path_from_checkpoint`` resolved against the checkpoint's
    folder (not the current one); checkpoints written before that field have only ``space.path``."""
    space = config["space"]
    relative = space.get("path_from_checkpoint")
    if relative is None:
        return Path(space["path"])
    return Path(os.path.normpath(Path(path) / relative))


def check_checkpoint_fingerprint(path: Path, expected: str, force: bool = False) -> str | None:
    """The checkpoint against the sha256 its model record holds; a mismatch is refused (or, with ``force``,
    returned as a warning) with both fingerprints named."""
    found = checkpoint_sha256(path)
    if found == expected:
        return None
    message = (f"fingerprint mismatch: the model record has sha256 {expected} but the checkpoint has {found} "
               "(the checkpoint changed; --force uses it anyway)")
    if not force:
        raise InputError(message, path)
    return message


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; the weights come from safetensors, which holds tensors only."""
    path = Path(path)
    config = load_config(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise InputError(f"checkpoint lacks {WEIGHTS} (weights in other formats are not loaded)", path)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, MemoryError) as err:
        raise InputError(f"unreadable weights ({err})", weights) from None
    embedding = state.get("embedding.weight")
    if embedding is None or embedding.ndim != 2 or embedding.dtype != torch.float32 or embedding.shape[0] < 1:
        raise InputError("weights lack a float32 [rows, dim] 'embedding.weight' tensor", weights)
    vocab = _read_vocab(path / "vocab.txt")
    if len(vocab) + 1 != embedding.shape[0]:
        raise InputError(f"vocab.txt has {len(vocab)} lines but the embedding has {embedding.shape[0] - 1} "
                         "word rows (plus padding)", path / "vocab.txt")
    return Checkpoint(path, config, state, vocab)


def _read_vocab(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise InputError("checkpoint lacks vocab.txt", path.parent)
    return [(lang, token) for _, lang, token in read_lang_tokens(path)]


def embedding_blocks(ckpt: Checkpoint) -> list:
    """The tuned embedding rows of a checkpoint, one block per language (rows in vocabulary order)."""
    from cltc_tools.io.space import LangBlock

    weights = ckpt.state["embedding.weight"]
    if "embedding.map.weight" in ckpt.state:  # --embeddings mapped: the rows as the network sees them
        weights = weights @ ckpt.state["embedding.map.weight"].T
    weights = weights.numpy()[1:]
    rows: dict[str, list[int]] = {}
    for i, (lang, _) in enumerate(ckpt.vocab):
        rows.setdefault(lang, []).append(i)
    return [LangBlock(lang, [ckpt.vocab[i][1] for i in idx], weights[idx]) for lang, idx in sorted(rows.items())]


def export_tuned_space(model_dir: Path, out: Path, arch: str, tool: str, force: bool) -> dict[str, Any]:
    """Write a model's tuned embedding rows as a space, derived from (so superseding) the space it trained on;
    returns the fields of its ``space`` record."""
    from cltc_tools.io.space import write_space

    ckpt = load_checkpoint(model_dir)
    sha = write_space(out, embedding_blocks(ckpt), provenance=[{"tool": tool, "method": "fine-tuned",
                                                                 "model": str(model_dir)}], force=force)
    return {"path": str(out), "sha256": sha, "langs": sorted({lang for lang, _ in ckpt.vocab}),
            "method": "fine-tuned", "name": f"{arch}-tuned", "params": {"model": str(model_dir)},
            "inputs": [ckpt.config["space"].get("sha256", "")]}
