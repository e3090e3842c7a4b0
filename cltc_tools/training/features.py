"""From documents to padded token ids over a vocabulary whose vectors come from a space."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cltc_tools.io.documents import Document
from cltc_tools.io.space import Space
from cltc_tools.text.tokenize import Tokenizer

PAD = 0
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")

# A document is a list of sentences, each a list of tokens; flat architectures see one sentence per document.
Sentences = list[list[str]]
Encoding = list[np.ndarray]


@dataclass
class Vocabulary:
    """(lang, token) -> row of the embedding table; row 0 is padding."""

    entries: list[tuple[str, str]]

    def __post_init__(self) -> None:
        self.ids = {entry: i + 1 for i, entry in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries) + 1


def split_sentences(doc: Document) -> list[str]:
    """The document's ``sentences`` field when it has one, else a split after . ! ? and whitespace."""
    given = doc.extra.get("sentences")
    if isinstance(given, list) and given and all(isinstance(x, str) for x in given):
        return given
    return [s for s in _SENTENCE_END.split(doc.text) if s.strip()] or [doc.text]


def tokenize_docs(docs: Iterable[Document], tokenizer: Tokenizer, sentences: bool = False) -> list[Sentences]:
    if sentences:
        return [[tokenizer(s, doc.lang) for s in split_sentences(doc)] for doc in docs]
    return [[tokenizer(doc.text, doc.lang)] for doc in docs]


def build_vocabulary(docs: Sequence[Document], tokens: Sequence[Sentences], space: Space) -> Vocabulary:
    """Every (lang, token) of the documents that has a vector in the space, in first-seen order."""
    seen: dict[tuple[str, str], None] = {}
    for doc, sents in zip(docs, tokens):
        index = space.index(doc.lang)
        for toks in sents:
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


def encode(docs: Sequence[Document], tokens: Sequence[Sentences], vocab: Vocabulary, max_len: int) -> list[Encoding]:
    """Token ids per sentence (unknown tokens dropped; empty sentences dropped), ``max_len`` tokens in all."""
    out = []
    for doc, sents in zip(docs, tokens):
        budget = max_len
        encoded = []
        for toks in sents:
            ids = [vocab.ids[(doc.lang, t)] for t in toks if (doc.lang, t) in vocab.ids][:budget]
            if ids:
                encoded.append(np.asarray(ids, dtype=np.int64))
                budget -= len(ids)
            if budget <= 0:
                break
        out.append(encoded)
    return out


def n_tokens(doc: Encoding) -> int:
    return sum(len(s) for s in doc)


def pad_flat(docs: Sequence[Encoding]) -> torch.Tensor:
    """Right-padded [B, L] ids of whole documents (L >= 1; an empty document is all padding)."""
    width = max(1, max((n_tokens(d) for d in docs), default=1))
    batch = np.zeros((len(docs), width), dtype=np.int64)
    for i, doc in enumerate(docs):
        if doc:
            flat = np.concatenate(doc)
            batch[i, : len(flat)] = flat
    return torch.from_numpy(batch)


def pad_sentences(docs: Sequence[Encoding]) -> torch.Tensor:
    """Padded [B, S, W] ids: documents of sentences of words (S, W >= 1)."""
    n_sents = max(1, max((len(d) for d in docs), default=1))
    width = max(1, max((len(s) for d in docs for s in d), default=1))
    batch = np.zeros((len(docs), n_sents, width), dtype=np.int64)
    for i, doc in enumerate(docs):
        for j, sent in enumerate(doc):
            batch[i, j, : len(sent)] = sent
    return torch.from_numpy(batch)


def collate(docs: Sequence[Encoding], hierarchical: bool) -> torch.Tensor:
    return pad_sentences(docs) if hierarchical else pad_flat(docs)


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
