"""From documents to padded token ids over a vocabulary whose vectors come from a space."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cltc_tools.io.documents import Document
from cltc_tools.io.space import Space
from cltc_tools.tokenize import Tokenizer

PAD = 0


@dataclass
class Vocabulary:
    """(lang, token) -> row of the embedding table; row 0 is padding."""

    entries: list[tuple[str, str]]

    def __post_init__(self) -> None:
        self.ids = {entry: i + 1 for i, entry in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries) + 1


def tokenize_docs(docs: Iterable[Document], tokenizer: Tokenizer) -> list[list[str]]:
    return [tokenizer(doc.text, doc.lang) for doc in docs]


def build_vocabulary(docs: Sequence[Document], tokens: Sequence[Sequence[str]], space: Space) -> Vocabulary:
    """Every (lang, token) of the documents that has a vector in the space, in first-seen order."""
    seen: dict[tuple[str, str], None] = {}
    for doc, toks in zip(docs, tokens):
        index = space.index(doc.lang)
        for tok in toks:
            if tok in index:
                seen.setdefault((doc.lang, tok), None)
    return Vocabulary(list(seen))


def space_rows(space: Space, entries: Sequence[tuple[str, str]]) -> np.ndarray:
    """The space vectors of (lang, token) entries, with a zero padding row first."""
    out = np.zeros((len(entries) + 1, space.dim), dtype=np.float32)
    for i, (lang, tok) in enumerate(entries, start=1):
        start, _ = space.rows(lang)
        out[i] = space.vectors[start + space.index(lang)[tok]]
    return out


def encode(docs: Sequence[Document], tokens: Sequence[Sequence[str]], vocab: Vocabulary,
           max_len: int) -> list[np.ndarray]:
    """Token ids per document (unknown tokens dropped), truncated to ``max_len``."""
    out = []
    for doc, toks in zip(docs, tokens):
        ids = [vocab.ids[(doc.lang, t)] for t in toks if (doc.lang, t) in vocab.ids]
        out.append(np.asarray(ids[:max_len], dtype=np.int64))
    return out


def pad_batch(seqs: Sequence[np.ndarray]) -> torch.Tensor:
    """Right-padded [B, L] id tensor (L >= 1; an empty document is all padding)."""
    width = max(1, max((len(s) for s in seqs), default=1))
    batch = np.zeros((len(seqs), width), dtype=np.int64)
    for i, seq in enumerate(seqs):
        batch[i, : len(seq)] = seq
    return torch.from_numpy(batch)


def length_buckets(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length (sorted within shuffled chunks of 50 batches), in random order."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(np.asarray(lengths)[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches
