"""Train classifiers on documents in an embedding space, mono (one language) or multi (all languages)."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cltc_tools import __version__
from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document
from cltc_tools.io.names import path_under, resolved
from cltc_tools.io.parallel import SentencePair
from cltc_tools.io.space import Space
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training.alignment_task import ParallelData, SentenceAlignment, pairs_for_languages
from cltc_tools.training.checkpoint import checkpoint_sha256, load_config, save_checkpoint
from cltc_tools.training.distributed import DistContext, init
from cltc_tools.training.features import (
    Encoding,
    Vocabulary,
    build_vocabulary,
    collate,
    encode,
    length_buckets,
    n_tokens,
    space_rows,
    tokenize_docs,
)
from cltc_tools.training.metrics import class_weights, macro_f1
from cltc_tools.training.models import ARCHS
from cltc_tools.training.models.registry import Arch
from cltc_tools.training.models.word_vectors import WordVectors
from cltc_tools.training.optim import ClassifierOptimizer, Optimizers
from cltc_tools.training.resume import Snapshot, drop_snapshot, load_snapshot, numpy_state, restore_numpy, save_snapshot

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
    resume: bool = False
    dist: DistContext = field(default_factory=DistContext)
    parallel: Sequence[SentencePair] = ()


@dataclass
class TrainedModel:
    path: Path
    sha256: str
    train_langs: list[str]
    config: dict[str, Any]
    reused: bool = False


@dataclass
class Encoded:
    docs: list[Encoding]
    labels: np.ndarray


@dataclass
class Progress:
    """Where a run stands: epoch done, best dev score and weights, and the RNG driving batch order."""

    epoch: int
    best_score: float
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    rng: np.random.Generator
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("--device cuda asked for, but no CUDA device is available")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name != "cpu":
        raise InputError(f"unknown device {name!r} (known: auto, cpu, cuda)")
    return torch.device("cpu")


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
    plan = [(langs, path_under(out_root, f"{settings.arch}-{settings.mode}-{'+'.join(langs)}", what="model name"))
            for langs in groups_for_mode(settings.mode, train)]
    for _, out_dir in plan:
        if os.path.lexists(resolved(out_dir)) and not (force or settings.resume):
            raise InputError("output exists (use --force to overwrite, or --resume to keep finished models)", out_dir)
    models = []
    for langs, out_dir in plan:
        tr = [d for d in train if d.lang in langs]
        dv = [d for d in dev if d.lang in langs]
        if settings.resume and finished_on(out_dir, space_info):
            models.append(_finished(out_dir))
            continue
        models.append(fit(space, space_info, tr, dv, settings, out_dir, force, on_epoch))
    return models


def finished_on(out_dir: Path, space_info: dict[str, Any]) -> bool:
    """A finished model in ``out_dir`` trained on this space: --resume keeps it. A model of another space (the space
    was built again since) is trained again, as a snapshot of another run is not resumed."""
    if not (out_dir / "config.json").is_file():
        return False
    return load_config(out_dir).get("space", {}).get("sha256") == space_info.get("sha256")


def _finished(out_dir: Path) -> TrainedModel:
    config = load_config(out_dir)
    return TrainedModel(out_dir, checkpoint_sha256(out_dir), config["train_langs"], config, reused=True)


def label_index(train: Sequence[Document]) -> list[str]:
    return sorted({str(d.label) for d in train})


def encode_docs(docs: Sequence[Document], tokens: list, vocab: Vocabulary, labels: list[str], max_len: int) -> Encoded:
    index = {label: i for i, label in enumerate(labels)}
    y = np.asarray([index.get(str(d.label), -1) for d in docs], dtype=np.int64)
    return Encoded(encode(docs, tokens, vocab, max_len), y)


def run_fingerprint(settings: TrainSettings, space_info: dict[str, Any], train: Sequence[Document],
                    dev: Sequence[Document]) -> str:
    """Identifies a run (settings, space, data), so that a snapshot resumes only the run that made it."""
    digest = hashlib.sha256(json.dumps([settings.arch, settings.mode, settings.hparams, settings.seed,
                                        settings.tokenizer.to_json(), space_info.get("sha256"),
                                        settings.dist.world_size, len(settings.parallel)],
                                       sort_keys=True, default=str).encode())
    for doc in (*train, *dev):
        digest.update(f"{doc.lang}\t{doc.id}\t{doc.label}\t{doc.text}\n".encode())
    return digest.hexdigest()


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
    train_tokens = tokenize_docs(train, settings.tokenizer, arch.hierarchical)
    dev_tokens = tokenize_docs(dev, settings.tokenizer, arch.hierarchical)
    parallel = parallel_data(arch, settings, sorted({d.lang for d in train}))
    extra_docs = (parallel.src + parallel.tgt) if parallel else []
    extra_tokens = (parallel.src_tokens + parallel.tgt_tokens) if parallel else []
    vocab = build_vocabulary(list(train) + list(dev) + extra_docs, train_tokens + dev_tokens + extra_tokens, space)
    if len(vocab) == 1:
        raise InputError("no token of the training documents has a vector in the space "
                         "(check --tokenizer and the space's languages)", space.path)
    tr = encode_docs(train, train_tokens, vocab, labels, hp["max_len"])
    dv = encode_docs(dev, dev_tokens, vocab, labels, hp["max_len"])
    device = resolve_device(settings.device, settings.dist.local_rank)
    init(settings.dist, device)
    model = arch.build(torch.from_numpy(space_rows(space, vocab.entries)), len(labels), hp).to(device)
    weights = class_weights(np.bincount(tr.labels, minlength=len(labels)))
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))
    task = SentenceAlignment(model, *parallel.encode(vocab), hp, device) if parallel else None
    fingerprint = run_fingerprint(settings, space_info, train, dev)
    progress = run_training(arch, model, loss_fn, tr, dv, len(labels), settings, device, out_dir, fingerprint,
                            on_epoch, task)
    config = checkpoint_config(settings, space_info, labels, train, progress, vocab, out_dir)
    sha = ""
    if settings.dist.is_main:
        sha = save_checkpoint(out_dir, config, progress.best_state, vocab.entries, force=True)
        drop_snapshot(out_dir)
    settings.dist.barrier()
    return TrainedModel(out_dir, sha, sorted({d.lang for d in train}), config)


def parallel_data(arch: Arch, settings: TrainSettings, langs: list[str]) -> ParallelData | None:
    """Parallel sentences for an architecture with the sentence-alignment task (None for the others)."""
    if arch.auxiliary != "sent-ali":
        return None
    if settings.dist.active:
        raise InputError(f"{arch.name} trains two tasks alternately; run it in a single process (no torchrun)")
    pairs = pairs_for_languages(settings.parallel, langs)
    if not pairs:
        raise InputError(f"{arch.name} needs parallel sentences for {', '.join(langs)}: give --parallel FILE "
                         "or pipe a corpus record")
    return ParallelData.from_pairs(pairs, settings.tokenizer)


def _parallel(model: nn.Module, settings: TrainSettings, device: torch.device) -> nn.Module:
    if not settings.dist.active:
        return model
    if device.type == "cuda":  # NCCL reduces dense gradients only
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.sparse = False
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def run_training(arch: Arch, model: nn.Module, loss_fn: nn.Module, tr: Encoded, dv: Encoded, n_labels: int,
                 settings: TrainSettings, device: torch.device, out_dir: Path, fingerprint: str,
                 on_epoch: EpochHook | None, task: SentenceAlignment | None = None) -> Progress:
    """Epochs of Adam steps until dev macro-F1 has not improved for ``patience`` epochs; with a task, every
    classification step is followed by one step of the task (alternating training with two optimisers)."""
    hp = settings.hparams
    net = _parallel(model, settings, device)
    optimizer = ClassifierOptimizer(model, hp["lr"], emb_lr=hp.get("emb_lr"))
    saved = Optimizers(cls=optimizer, ali=task.optimizer) if task else optimizer
    state = start_or_resume(model, saved, settings, out_dir, fingerprint)
    lengths = [n_tokens(d) for d in tr.docs]
    for epoch in range(state.epoch + 1, hp["max_epochs"] + 1):
        if epoch - state.best_epoch > hp["patience"]:
            break
        batches = settings.dist.shard(length_buckets(lengths, hp["batch_size"], state.rng))
        if task:
            task.plan_epoch(state.rng)
        loss = train_epoch(net, loss_fn, optimizer, tr, batches, arch.hierarchical, device, task)
        score = dev_score(model, dv, n_labels, arch.hierarchical, hp["batch_size"], device, loss)
        state.history.append({"epoch": epoch, "loss": loss, "dev_macro_f1": score,
                              **(task.monitor_scores() if task else {})})
        if score > state.best_score:
            state.best_score, state.best_epoch = score, epoch
            state.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        state.epoch = epoch
        if settings.dist.is_main:
            save_snapshot(out_dir, snapshot(model, saved, state, fingerprint))
        if on_epoch:
            on_epoch({**state.history[-1], "best": state.best_score})
    return state


def start_or_resume(model: nn.Module, optimizer: ClassifierOptimizer | Optimizers, settings: TrainSettings, out_dir: Path,
                    fingerprint: str) -> Progress:
    snap = load_snapshot(out_dir, fingerprint) if settings.resume else None
    if snap is None:
        best = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        return Progress(0, -1.0, 0, best, np.random.default_rng(settings.seed))
    model.load_state_dict(snap.model)
    optimizer.load_state_dict(snap.optimizer)
    torch.set_rng_state(snap.torch_rng)
    return Progress(snap.epoch, snap.best_score, snap.best_epoch, snap.best, restore_numpy(snap.numpy_rng),
                    list(snap.history))


def snapshot(model: nn.Module, optimizer: ClassifierOptimizer | Optimizers, state: Progress,
             fingerprint: str) -> Snapshot:
    return Snapshot(state.epoch, state.best_score, state.best_epoch, model.state_dict(), state.best_state,
                    optimizer.state_dict(), numpy_state(state.rng), torch.get_rng_state(), fingerprint,
                    state.history)


def dev_score(model: nn.Module, dv: Encoded, n_labels: int, hierarchical: bool, batch_size: int,
              device: torch.device, loss: float) -> float:
    """Dev macro-F1; without dev documents, the negative training loss."""
    if not dv.docs:
        return -loss
    # a dev label the training data lacks (-1) is one more class that is never predicted, as at evaluation
    gold = np.where(dv.labels < 0, n_labels, dv.labels)
    return macro_f1(gold, predict(model, dv.docs, hierarchical, batch_size, device), n_labels + 1)


def train_epoch(model: nn.Module, loss_fn: nn.Module, optimizer: ClassifierOptimizer, tr: Encoded,
                batches: list[np.ndarray], hierarchical: bool, device: torch.device,
                task: SentenceAlignment | None = None) -> float:
    model.train()
    total = 0.0
    for batch in batches:
        ids = collate([tr.docs[i] for i in batch], hierarchical).to(device)
        y = torch.from_numpy(tr.labels[batch]).to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(ids), y)
        penalty = embedding_penalty(model, ids)
        (loss if penalty is None else loss + penalty).backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
        if task:
            task.step()
    return total / max(1, sum(len(b) for b in batches))


def embedding_penalty(model: nn.Module, ids: torch.Tensor) -> torch.Tensor | None:
    """The word-vector layer's regulariser for the rows of a batch (``--embeddings regularized``), if any."""
    layer = getattr(getattr(model, "module", model), "embedding", None)  # (under DDP, the wrapped model's)
    return layer.penalty(ids) if isinstance(layer, WordVectors) else None


@torch.no_grad()
def predict_proba(model: nn.Module, docs: Sequence[Encoding], hierarchical: bool, batch_size: int,
                  device: torch.device) -> np.ndarray:
    """Class probabilities, in the order of ``docs`` (batched by similar length)."""
    model.eval()
    order = np.argsort([n_tokens(d) for d in docs], kind="stable")
    step = max(batch_size, 256)
    out: np.ndarray | None = None
    for start in range(0, len(order), step):
        idx = order[start:start + step]
        logits = model(collate([docs[i] for i in idx], hierarchical).to(device))
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(docs), probs.shape[1]), dtype=np.float32)
        out[idx] = probs
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def predict(model: nn.Module, docs: Sequence[Encoding], hierarchical: bool, batch_size: int,
            device: torch.device) -> np.ndarray:
    return predict_proba(model, docs, hierarchical, batch_size, device).argmax(axis=1)


def checkpoint_config(settings: TrainSettings, space_info: dict[str, Any], labels: list[str],
                      train: Sequence[Document], progress: Progress, vocab: Vocabulary,
                      out_dir: Path | None = None) -> dict[str, Any]:
    """What config.json records; the space's path also relative to the checkpoint folder (``out_dir``), which is
    what evaluation resolves, so that a moved runs folder or another working folder still finds it."""
    counts = Counter(d.lang for d in train)
    return {
        "arch": settings.arch,
        "hparams": settings.hparams,
        "labels": labels,
        "mode": settings.mode,
        "train_langs": sorted(counts),
        "train_docs": dict(sorted(counts.items())),
        "tokenizer": settings.tokenizer.to_json(),
        "space": space_info | ({"path_from_checkpoint": os.path.relpath(space_info["path"], out_dir)}
                               if out_dir is not None else {}),
        "seed": settings.seed,
        "vocab_size": len(vocab) - 1,
        "epochs": progress.epoch,
        "best_epoch": progress.best_epoch,
        "dev_macro_f1": progress.best_score,
        "history": progress.history,
        "world_size": settings.dist.world_size,
        "version": __version__,
    }
