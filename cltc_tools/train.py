"""Train classifiers on documents in an embedding space, mono (one language) or multi (all languages)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cltc_tools import __version__
from cltc_tools.checkpoint import save_checkpoint
from cltc_tools.errors import InputError
from cltc_tools.features import Vocabulary, build_vocabulary, encode, length_buckets, pad_batch, space_rows, tokenize_docs
from cltc_tools.io.documents import Document
from cltc_tools.io.space import Space
from cltc_tools.metrics import class_weights, macro_f1
from cltc_tools.models import ARCHS
from cltc_tools.tokenize import Tokenizer

MODES = ("mono", "multi")
EpochHook = Callable[[dict[str, Any]], None]


@dataclass
class TrainSettings:
    arch: str
    mode: str
    hparams: dict[str, Any]
    seed: int = 0
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    device: str = "cpu"


@dataclass
class TrainedModel:
    path: Path
    sha256: str
    train_langs: list[str]
    config: dict[str, Any]


@dataclass
class Encoded:
    ids: list[np.ndarray]
    labels: np.ndarray


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r} (known: auto, cpu, cuda)")
    return torch.device(name)


def groups_for_mode(mode: str, train: Sequence[Document]) -> list[list[str]]:
    """The language sets to train one model each on: every language alone (mono) or all together (multi)."""
    langs = sorted({d.lang for d in train})
    if mode == "mono":
        return [[lang] for lang in langs]
    if mode == "multi":
        return [langs]
    raise InputError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")


def train_models(space: Space, space_info: dict[str, Any], train: Sequence[Document], dev: Sequence[Document],
                 settings: TrainSettings, out_root: Path, force: bool = False,
                 on_epoch: EpochHook | None = None) -> list[TrainedModel]:
    """One model per language (mono) or one for all languages (multi), each saved under ``out_root``."""
    if not train:
        raise InputError("no training documents")
    missing = sorted({d.lang for d in train} - set(space.langs))
    if missing:
        raise InputError(f"languages {', '.join(missing)} have no vectors in the space "
                         f"(it has: {', '.join(sorted(space.langs))})", space.path)
    models = []
    for langs in groups_for_mode(settings.mode, train):
        tr = [d for d in train if d.lang in langs]
        dv = [d for d in dev if d.lang in langs]
        name = f"{settings.arch}-{settings.mode}-{'+'.join(langs)}"
        models.append(fit(space, space_info, tr, dv, settings, out_root / name, force, on_epoch))
    return models


def label_index(train: Sequence[Document]) -> list[str]:
    return sorted({str(d.label) for d in train})


def encode_docs(docs: Sequence[Document], tokens: list[list[str]], vocab: Vocabulary, labels: list[str],
                max_len: int) -> Encoded:
    index = {label: i for i, label in enumerate(labels)}
    y = np.asarray([index.get(str(d.label), -1) for d in docs], dtype=np.int64)
    return Encoded(encode(docs, tokens, vocab, max_len), y)


def fit(space: Space, space_info: dict[str, Any], train: Sequence[Document], dev: Sequence[Document],
        settings: TrainSettings, out_dir: Path, force: bool = False,
        on_epoch: EpochHook | None = None) -> TrainedModel:
    """Train one classifier with early stopping on dev macro-F1 and save the best weights."""
    arch = ARCHS.get(settings.arch)
    hp = settings.hparams
    torch.manual_seed(settings.seed)
    labels = label_index(train)
    if len(labels) < 2:
        raise InputError(f"training data has {len(labels)} label(s); at least 2 are needed")
    train_tokens = tokenize_docs(train, settings.tokenizer)
    dev_tokens = tokenize_docs(dev, settings.tokenizer)
    vocab = build_vocabulary(list(train) + list(dev), train_tokens + dev_tokens, space)
    if len(vocab) == 1:
        raise InputError("no token of the training documents has a vector in the space "
                         "(check --tokenizer and the space's languages)", space.path)
    tr = encode_docs(train, train_tokens, vocab, labels, hp["max_len"])
    dv = encode_docs(dev, dev_tokens, vocab, labels, hp["max_len"])
    device = resolve_device(settings.device)
    model = arch.build(torch.from_numpy(space_rows(space, vocab.entries)), len(labels), hp).to(device)
    counts = np.bincount(tr.labels, minlength=len(labels))
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(class_weights(counts), dtype=torch.float32, device=device))
    history = run_training(model, loss_fn, tr, dv, len(labels), hp, settings.seed, device, on_epoch)
    config = checkpoint_config(settings, space_info, labels, train, history, vocab)
    sha = save_checkpoint(out_dir, config, history["best_state"], vocab.entries, force=force)
    return TrainedModel(out_dir, sha, sorted({d.lang for d in train}), config)


def run_training(model: nn.Module, loss_fn: nn.Module, tr: Encoded, dv: Encoded, n_labels: int, hp: dict[str, Any],
                 seed: int, device: torch.device, on_epoch: EpochHook | None) -> dict[str, Any]:
    """Epochs of Adam steps until dev macro-F1 has not improved for ``patience`` epochs."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=hp["lr"])
    rng = np.random.default_rng(seed)
    lengths = [len(s) for s in tr.ids]
    best = {"dev_macro_f1": -1.0, "best_epoch": 0, "best_state": copy.deepcopy(model.state_dict())}
    epoch = 0
    for epoch in range(1, hp["max_epochs"] + 1):
        loss = train_epoch(model, loss_fn, optimizer, tr, length_buckets(lengths, hp["batch_size"], rng), device)
        score = macro_f1(dv.labels, predict(model, dv.ids, hp["batch_size"], device), n_labels) if len(dv.ids) else -loss
        if score > best["dev_macro_f1"]:
            best.update(dev_macro_f1=score, best_epoch=epoch,
                        best_state={k: v.detach().clone() for k, v in model.state_dict().items()})
        if on_epoch:
            on_epoch({"epoch": epoch, "loss": loss, "dev_macro_f1": score, "best": best["dev_macro_f1"]})
        if epoch - best["best_epoch"] >= hp["patience"]:
            break
    return {**best, "epochs": epoch}


def train_epoch(model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer, tr: Encoded,
                batches: list[np.ndarray], device: torch.device) -> float:
    model.train()
    total = 0.0
    for batch in batches:
        ids = pad_batch([tr.ids[i] for i in batch]).to(device)
        y = torch.from_numpy(tr.labels[batch]).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(ids), y)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / max(1, len(tr.ids))


@torch.no_grad()
def predict_proba(model: nn.Module, seqs: Sequence[np.ndarray], batch_size: int, device: torch.device) -> np.ndarray:
    """Class probabilities, in the order of ``seqs`` (batched by similar length)."""
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.zeros((len(seqs), 0), dtype=np.float32)
    chunks = []
    for start in range(0, len(order), max(batch_size, 256)):
        idx = order[start:start + max(batch_size, 256)]
        logits = model(pad_batch([seqs[i] for i in idx]).to(device))
        chunks.append((idx, torch.softmax(logits.float(), dim=-1).cpu().numpy()))
    if chunks:
        out = np.zeros((len(seqs), chunks[0][1].shape[1]), dtype=np.float32)
        for idx, probs in chunks:
            out[idx] = probs
    return out


def predict(model: nn.Module, seqs: Sequence[np.ndarray], batch_size: int, device: torch.device) -> np.ndarray:
    return predict_proba(model, seqs, batch_size, device).argmax(axis=1)


def checkpoint_config(settings: TrainSettings, space_info: dict[str, Any], labels: list[str],
                      train: Sequence[Document], history: dict[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    counts = Counter(d.lang for d in train)
    return {
        "arch": settings.arch,
        "hparams": settings.hparams,
        "labels": labels,
        "mode": settings.mode,
        "train_langs": sorted(counts),
        "train_docs": dict(sorted(counts.items())),
        "tokenizer": settings.tokenizer.to_json(),
        "space": space_info,
        "seed": settings.seed,
        "vocab_size": len(vocab) - 1,
        "epochs": history["epochs"],
        "best_epoch": history["best_epoch"],
        "dev_macro_f1": history["dev_macro_f1"],
        "version": __version__,
    }

