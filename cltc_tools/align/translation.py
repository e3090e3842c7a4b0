"""Word translation (bilingual lexicon induction) precision P@k with NN and CSLS retrieval.

CSLS (Conneau et al. 2018): CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), where r_T(x) is the mean cosine of
x's k nearest target words and r_S(y) that of y's k nearest source words. Vectors are L2-normalised.
Similarities are computed blockwise (a block of rows against the whole other matrix, then torch.topk),
so memory stays under a budget while the search stays exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from cltc_tools.align.dictionary import IndexPairs
from cltc_tools.errors import InputError

KS = (1, 5, 10)
BLOCK_BYTES = 256 * 2**20
Advance = Callable[[int], None]
MISS = np.iinfo(np.int64).max


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else CPU; asking for an absent CUDA device is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device is available")
    if name != "cpu" and not name.startswith("cuda"):
        raise InputError(f"unknown device {name!r} (known: auto, cpu, cuda)")
    return torch.device(name)


def unit_rows(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """Rows as float32 unit vectors on ``device`` (zero rows stay zero)."""
    T = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
    return T / T.norm(dim=1, keepdim=True).clamp_min(1e-12)


def rows_per_block(n_keys: int, batch_size: int | None = None, budget: int = BLOCK_BYTES) -> int:
    """Query rows per block: ``batch_size`` or as many as keep a float32 [rows, n_keys] block under budget."""
    return max(1, batch_size or budget // (4 * max(1, n_keys)))


def cosine_blocks(queries: torch.Tensor, keys: torch.Tensor, block: int) -> Iterator[tuple[slice, torch.Tensor]]:
    """(rows, queries[rows] @ keys.T) block by block; the block lives in one reused buffer."""
    buffer = torch.empty(min(block, len(queries)), len(keys), dtype=queries.dtype, device=queries.device)
    for start in range(0, len(queries), block):
        rows = slice(start, min(len(queries), start + block))
        scores = buffer[: rows.stop - start]
        torch.mm(queries[rows], keys.T, out=scores)
        yield rows, scores


def mean_knn_similarity(queries: torch.Tensor, keys: torch.Tensor, k: int, block: int,
                        advance: Advance | None = None) -> torch.Tensor:
    """r(x): the mean cosine of the k nearest keys of every query row."""
    k = min(k, len(keys))
    out = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
    for rows, cos in cosine_blocks(queries, keys, block):
        out[rows] = cos.topk(k, dim=1).values.mean(dim=1)
        if advance:
            advance(rows.stop - rows.start)
    return out


def nearest(queries: torch.Tensor, keys: torch.Tensor, n: int, block: int,
            r_queries: torch.Tensor | None = None, r_keys: torch.Tensor | None = None) -> np.ndarray:
    """The n best keys of each query, best first: by cosine, or by CSLS when the r terms are given."""
    n = min(n, len(keys))
    ranked = []
    for rows, scores in cosine_blocks(queries, keys, block):
        if r_keys is not None and r_queries is not None:
            scores.mul_(2).sub_(r_queries[rows, None]).sub_(r_keys[None, :])  # CSLS, in place
        ranked.append(scores.topk(n, dim=1).indices.cpu().numpy())
    return np.concatenate(ranked) if ranked else np.zeros((0, n), dtype=np.int64)


def best_rank(ranked: np.ndarray, query_of_pair: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Per query, the 0-based rank of its best-placed gold translation in ``ranked`` (MISS if none)."""
    found = ranked[query_of_pair] == gold[:, None]
    rank_of_pair = np.where(found.any(axis=1), found.argmax(axis=1), MISS)
    best = np.full(len(ranked), MISS, dtype=np.int64)
    np.minimum.at(best, query_of_pair, rank_of_pair)
    return best


def percent(hits: int, total: int) -> float:
    return round(100.0 * hits / total, 2) if total else 0.0


@dataclass
class TranslationScores:
    """P@k in percent: over covered source words (MUSE/VecMap) and over all source words (``*_all``)."""

    pairs: int
    src_words: int
    covered_words: int
    nn: dict[str, float] = field(default_factory=dict)
    csls: dict[str, float] = field(default_factory=dict)
    nn_all: dict[str, float] = field(default_factory=dict)
    csls_all: dict[str, float] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return round(self.covered_words / self.src_words, 4) if self.src_words else 0.0

    def fields(self) -> dict:
        return {"pairs": self.pairs, "src_words": self.src_words, "covered_words": self.covered_words,
                "coverage": self.coverage, "nn": self.nn, "csls": self.csls,
                "nn_all": self.nn_all, "csls_all": self.csls_all}

    def line(self, src_lang: str, tgt_lang: str) -> str:
        """One MUSE-style summary line."""
        nn = " ".join(f"P@{k[2:]} {v:5.2f}" for k, v in self.nn.items())
        cs = " ".join(f"P@{k[2:]} {v:5.2f}" for k, v in self.csls.items())
        return (f"{src_lang}-{tgt_lang}  NN {nn} | CSLS {cs}  coverage {self.covered_words}/{self.src_words} "
                f"({100 * self.coverage:.1f}%)")


def within_vocab(pairs: IndexPairs, n_src: int, n_tgt: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose rows fall inside the (possibly capped) vocabularies."""
    keep = (pairs.src < n_src) & (pairs.tgt < n_tgt)
    return pairs.src[keep], pairs.tgt[keep]


def word_translation(src: np.ndarray, tgt: np.ndarray, pairs: IndexPairs, csls_k: int = 10,
                     vocab: int | None = None, batch_size: int | None = None, device: str = "cpu",
                     ks: Sequence[int] = KS, advance: Advance | None = None) -> TranslationScores:
    """P@k of translating the dictionary's source words: NN and CSLS, both conventions.

    ``vocab`` keeps only the N most frequent (first) words of each language, as MUSE's max_vocab;
    ``advance(rows)`` reports progress over the target rows of the r_S pass (the bulk of the work).
    """
    if vocab:
        src, tgt = src[:vocab], tgt[:vocab]
    src_rows, tgt_rows = within_vocab(pairs, len(src), len(tgt))
    queries, query_of_pair = np.unique(src_rows, return_inverse=True)
    scores = TranslationScores(pairs.pairs, pairs.src_words, len(queries))
    if not len(queries):
        for name in ("nn", "csls", "nn_all", "csls_all"):
            setattr(scores, name, {f"p@{k}": 0.0 for k in ks})
        return scores
    dev = pick_device(device)
    S, T = unit_rows(src, dev), unit_rows(tgt, dev)
    Q = S[torch.as_tensor(queries, device=dev)]
    block_t, block_s = rows_per_block(len(T), batch_size), rows_per_block(len(S), batch_size)
    r_T = mean_knn_similarity(Q, T, csls_k, block_t)
    r_S = mean_knn_similarity(T, S, csls_k, block_s, advance)
    n = max(ks)
    for name, ranked in (("nn", nearest(Q, T, n, block_t)), ("csls", nearest(Q, T, n, block_t, r_T, r_S))):
        rank = best_rank(ranked, query_of_pair, tgt_rows)
        hits = {f"p@{k}": int((rank < k).sum()) for k in ks}
        setattr(scores, name, {key: percent(h, len(queries)) for key, h in hits.items()})
        setattr(scores, f"{name}_all", {key: percent(h, pairs.src_words) for key, h in hits.items()})
    return scores
