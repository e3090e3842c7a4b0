"""Evaluate a checkpoint on documents of any language that has vectors in the model's (or a given) space."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cltc_tools.datasets.labelled import by_lang
from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document
from cltc_tools.io.space import Space
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training.checkpoint import Checkpoint
from cltc_tools.training.features import Sentences, Vocabulary, encode, tokenize_docs
from cltc_tools.training.loop import predict_proba, resolve_device
from cltc_tools.training.metrics import classification_metrics
from cltc_tools.training.models import ARCHS
from cltc_tools.training.models.registry import embedding_mode


@dataclass
class LangResult:
    lang: str
    metrics: dict[str, Any]
    docs: list[Document]
    predicted: list[str]
    unseen_labels: list[str]


def eval_vocabulary(ckpt: Checkpoint, space: Space, docs: Sequence[Document],
                    tokens: Sequence[Sentences]) -> tuple[Vocabulary, np.ndarray]:
    """Vocabulary of the documents: tuned rows of the checkpoint first, the space's vectors for other words."""
    tuned = ckpt.state["embedding.weight"].numpy()
    known = {entry: i + 1 for i, entry in enumerate(ckpt.vocab)}
    entries: dict[tuple[str, str], np.ndarray] = {}
    for doc, sents in zip(docs, tokens):
        index = space.index(doc.lang) if doc.lang in space.langs else {}
        start = space.langs[doc.lang][0] if doc.lang in space.langs else 0
        for tok in (t for toks in sents for t in toks):
            key = (doc.lang, tok)
            if key in entries:
                continue
            if key in known:
                entries[key] = tuned[known[key]]
            elif tok in index:
                entries[key] = np.asarray(space.vectors[start + index[tok]])
    matrix = np.zeros((len(entries) + 1, tuned.shape[1]), dtype=np.float32)
    for i, vec in enumerate(entries.values(), start=1):
        matrix[i] = vec
    return Vocabulary(list(entries)), matrix


def check_languages(ckpt: Checkpoint, space: Space, langs: Sequence[str]) -> None:
    trained = {lang for lang, _ in ckpt.vocab}
    missing = [lang for lang in langs if lang not in space.langs and lang not in trained]
    if missing:
        raise InputError(f"no vectors for language(s) {', '.join(missing)} in the space "
                         f"(it has: {', '.join(sorted(space.langs))}); give a space that holds them with --space",
                         space.path)


def check_shapes(ckpt: Checkpoint) -> None:
    """Build the network on the meta device (no memory) and compare every tensor shape with the weights.

    So hyper-parameters in config.json that do not match the weights are refused before anything is allocated.
    """
    arch = ARCHS.get(ckpt.config["arch"])
    embedding = ckpt.state["embedding.weight"]
    try:
        with torch.device("meta"), warnings.catch_warnings():  # (zero-size layers warn; the shapes decide)
            warnings.simplefilter("ignore")
            shapes = {k: tuple(v.shape) for k, v in arch.build(
                torch.empty(tuple(embedding.shape)), len(ckpt.config["labels"]), ckpt.config["hparams"]
            ).state_dict().items()}
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as err:
        raise InputError(f"hyper-parameters in config.json do not build architecture {arch.name!r} "
                         f"({str(err).splitlines()[0] if str(err) else type(err).__name__})", ckpt.path) from None
    given = {k: tuple(v.shape) for k, v in ckpt.state.items()}
    if shapes != given:
        diff = sorted(k for k in set(shapes) | set(given) if shapes.get(k) != given.get(k))
        raise InputError(f"weights do not fit architecture {arch.name!r} with the hyper-parameters and labels of "
                         f"config.json (tensors {', '.join(diff[:3])})", ckpt.path)


def load_model(ckpt: Checkpoint, embedding: np.ndarray, device: torch.device) -> torch.nn.Module:
    arch = ARCHS.get(ckpt.config["arch"])
    check_shapes(ckpt)
    model = arch.build(torch.from_numpy(embedding), len(ckpt.config["labels"]), ckpt.config["hparams"])
    state = {k: v for k, v in ckpt.state.items() if k != "embedding.weight"}
    state["embedding.weight"] = torch.from_numpy(embedding)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise InputError(f"weights do not fit architecture {arch.name!r} ({str(err).splitlines()[0]})",
                         ckpt.path) from None
    return model.to(device)


def evaluate(ckpt: Checkpoint, space: Space, docs: Sequence[Document], device: str = "cpu",
             batch_size: int = 256) -> list[LangResult]:
    """Predict every document and compute metrics per test language."""
    if ckpt.state["embedding.weight"].shape[1] != space.dim:
        raise InputError(f"space has dimension {space.dim} but the model was trained with "
                         f"{ckpt.state['embedding.weight'].shape[1]}", space.path)
    groups = by_lang(docs)
    check_languages(ckpt, space, list(groups))
    tokenizer = Tokenizer.from_json(ckpt.config.get("tokenizer", {}))
    dev = resolve_device(device)
    labels: list[str] = list(ckpt.config["labels"])
    arch = ARCHS.get(ckpt.config["arch"])
    results = []
    for lang, lang_docs in groups.items():
        tokens = tokenize_docs(lang_docs, tokenizer, arch.hierarchical)
        vocab, matrix = eval_vocabulary(ckpt, space, lang_docs, tokens)
        model = load_model(ckpt, matrix, dev)
        encoded = encode(lang_docs, tokens, vocab, int(ckpt.config["hparams"].get("max_len", 512)))
        pred = predict_proba(model, encoded, arch.hierarchical, batch_size, dev).argmax(axis=1)
        results.append(score_language(lang, lang_docs, pred, labels))
    return results


def score_language(lang: str, docs: Sequence[Document], pred: np.ndarray, labels: list[str]) -> LangResult:
    """Metrics over the model's labels plus any gold label it never saw (those count as errors)."""
    unseen = sorted({str(d.label) for d in docs} - set(labels))
    all_labels = labels + unseen
    index = {label: i for i, label in enumerate(all_labels)}
    gold = [index[str(d.label)] for d in docs]
    metrics = classification_metrics(gold, pred.tolist(), all_labels)
    metrics["outcomes"] = outcomes(docs, gold, pred.tolist())
    return LangResult(lang, metrics, list(docs), [labels[i] for i in pred], unseen)


def outcomes(docs: Sequence[Document], gold: list[int], pred: list[int]) -> dict[str, Any]:
    """Gold and predicted label indices per test document (into ``confusion.labels``), and a fingerprint of the
    document ids, so that two models' results on the same test set can be compared document by document."""
    ids = hashlib.sha256("\n".join(d.id for d in docs).encode()).hexdigest()
    return {"docs_sha256": ids, "gold": gold, "pred": pred}


def untuned_warnings(config: dict[str, Any], langs: Sequence[str]) -> list[str]:
    """A model whose embeddings were fine-tuned reads the languages it was not trained on through untuned rows of
    the space, which its classifier never saw: zero-shot transfer fails (frozen embeddings transfer)."""
    if embedding_mode(config.get("hparams", {})) not in ("tuned", "regularized"):
        return []
    trained = list(config.get("train_langs", []))
    unseen = [lang for lang in langs if lang not in trained]
    if not unseen:
        return []
    return [(f"embeddings fine-tuned on {'+'.join(trained)}: {', '.join(unseen)} words keep their untuned vectors, "
             "which the classifier never saw, so zero-shot results are unreliable (train with --embeddings frozen to "
             "transfer)")]
