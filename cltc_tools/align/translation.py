"""Word translation (bilingual lexicon induction) precision P@k with NN and CSLS retrieval, exact and fast.

CSLS (Conneau et al. 2018): CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), where r_T(x) is the mean cosine of
x's k nearest target words and r_S(y) that of y's k nearest source words. Vectors are L2-normalised.

Ranking the targets of one query x needs neither r_T(x) (the same for every y) nor r_S(y) for every y: only for
the targets that can reach x's top n. ``csls_nearest`` bounds every r_S(y) from below by the mean of y's k largest
cosines with a subset of the source words (the queries and the words nearest the target centroid, which are
hubs; a missing one counts as -1),
hence every score from above, computes r_S exactly (against every source word) for the best-bounded targets only,
and widens a query's candidate list until its n-th exact score beats every remaining bound. The result is the same
ranking as computing r_S for the whole vocabulary (as MUSE and VecMap do), at a fraction of the cost.

Similarities are computed blockwise (a block of rows against the whole other matrix, then torch.topk), so memory
stays under a budget (``BLOCK_BYTES``) whatever the vocabulary size, on CPU or GPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cltc_tools.align.dictionary import IndexPairs
from cltc_tools.errors import InputError
from cltc_tools.registry import deferred_import

torch = deferred_import("torch")

KS = (1, 5, 10)
BLOCK_BYTES = 256 * 2**20
PROBES = 4096          # frequent source words, besides the queries, that bound r_S from below
BOUND_SLACK = 1e-4     # covers float32 rounding between the products that give bounds and exact scores
FULL_SHARE = 0.5       # once this share of the targets needs exact r_S, compute it for all of them
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


def knn_lower_bound(queries: torch.Tensor, probes: torch.Tensor, k: int, block: int,
                    advance: Advance | None = None) -> torch.Tensor:
    """A lower bound of r(x) for every query row: the mean of its k largest cosines with ``probes``, a subset of
    the keys without repeats, each missing one (fewer than k probes) counted as -1, the least a cosine can be."""
    kept = min(k, len(probes))
    out = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
    for rows, cos in cosine_blocks(queries, probes, block):
        out[rows] = (cos.topk(kept, dim=1).values.sum(dim=1) - (k - kept)) / k
        if advance:
            advance(rows.stop - rows.start)
    return out


def nearest(queries: torch.Tensor, keys: torch.Tensor, n: int, block: int,
            r_keys: torch.Tensor | None = None) -> np.ndarray:
    """The n best keys of each query, best first: by cosine, or by 2 cos - r_keys (CSLS ranking) when given."""
    n = min(n, len(keys))
    ranked = []
    for _, scores in cosine_blocks(queries, keys, block):
        if r_keys is not None:
            scores.mul_(2).sub_(r_keys[None, :])
        ranked.append(scores.topk(n, dim=1).indices.cpu().numpy())
    return np.concatenate(ranked) if ranked else np.zeros((0, n), dtype=np.int64)


def probe_rows(queries: np.ndarray, src: torch.Tensor, tgt: torch.Tensor, extra: int | None = None) -> np.ndarray:
    """The source rows that bound r_S: the queries, then the ``extra`` other rows closest to the centroid of the
    target words (hubs: they are among the nearest sources of many targets, so the bound is tight)."""
    extra = PROBES if extra is None else extra
    closeness = src @ tgt.mean(dim=0)
    order = closeness.topk(min(len(src), extra + len(queries))).indices.cpu().numpy()
    others = order[~np.isin(order, queries)][:extra]
    return np.concatenate([queries, others])


def bounded_candidates(queries: torch.Tensor, tgt: torch.Tensor, lower: torch.Tensor, m: int,
                       block: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per query, the m targets of highest upper bound 2 cos - lower, their cosines, and the best bound left out."""
    m = min(m, len(tgt))
    idx, cos, left = [], [], []
    for _, scores in cosine_blocks(queries, tgt, block):
        upper = 2 * scores - lower[None, :]
        top = upper.topk(min(m + 1, len(tgt)), dim=1)
        idx.append(top.indices[:, :m])
        cos.append(scores.gather(1, top.indices[:, :m]))
        rest = top.values[:, m] + BOUND_SLACK if m < len(tgt) else torch.full_like(top.values[:, 0], -torch.inf)
        left.append(rest)
    return torch.cat(idx), torch.cat(cos), torch.cat(left)


def csls_nearest(queries: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, k: int, n: int,
                 probes: torch.Tensor, block_t: int, block_s: int, full_share: float = FULL_SHARE,
                 advance: Advance | None = None) -> np.ndarray:
    """The n best targets of each query by CSLS, best first: exact, with r_S computed only where it can matter.

    ``probes`` are distinct source rows (e.g. ``src[probe_rows(...)]``) that bound r_S from below; once more than
    ``full_share`` of the targets would need an exact r_S, it is computed for all of them (the unpruned ranking).
    """
    n = min(n, len(tgt))
    lower = knn_lower_bound(tgt, probes, k, rows_per_block(len(probes), None), advance)
    r_src = torch.zeros(len(tgt), dtype=tgt.dtype, device=tgt.device)
    known = torch.zeros(len(tgt), dtype=torch.bool, device=tgt.device)
    out = np.zeros((len(queries), n), dtype=np.int64)
    pending = np.arange(len(queries))
    m = min(len(tgt), n + 2)
    while len(pending):
        idx, cos, left = bounded_candidates(queries[torch.as_tensor(pending, device=tgt.device)], tgt, lower, m,
                                            block_t)
        need = torch.unique(idx)
        need = need[~known[need]]
        if int(known.sum()) + len(need) > full_share * len(tgt):
            return _csls_full(queries, src, tgt, k, n, block_t, block_s, pending, out, r_src, known)
        r_src[need] = mean_knn_similarity(tgt[need], src, k, block_s)
        known[need] = True
        top = (2 * cos - r_src[idx]).topk(min(n, idx.shape[1]), dim=1)
        done = (top.values[:, -1] >= left).cpu().numpy()
        out[pending[done]] = idx.gather(1, top.indices)[torch.as_tensor(done, device=tgt.device)].cpu().numpy()
        pending = pending[~done]
        m = min(len(tgt), 2 * m)
    return out


def _csls_full(queries: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, k: int, n: int, block_t: int,
               block_s: int, pending: np.ndarray, out: np.ndarray, r_src: torch.Tensor,
               known: torch.Tensor) -> np.ndarray:
    """The unpruned ranking of the pending queries: r_S for every target word (the bounds did not help)."""
    unknown = torch.nonzero(~known).flatten()
    r_src[unknown] = mean_knn_similarity(tgt[unknown], src, k, block_s)
    out[pending] = nearest(queries[torch.as_tensor(pending, device=tgt.device)], tgt, n, block_t, r_src)
    return out


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
    ``advance(rows)`` reports progress over the target rows (the pass that bounds r_S).
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
    n = max(ks)
    probes = S[torch.as_tensor(probe_rows(queries, S, T), device=dev)]
    ranked_nn = nearest(Q, T, n, block_t)
    ranked_csls = csls_nearest(Q, S, T, csls_k, n, probes, block_t, block_s, advance=advance)
    for name, ranked in (("nn", ranked_nn), ("csls", ranked_csls)):
        rank = best_rank(ranked, query_of_pair, tgt_rows)
        hits = {f"p@{k}": int((rank < k).sum()) for k in ks}
        setattr(scores, name, {key: percent(h, len(queries)) for key, h in hits.items()})
        setattr(scores, f"{name}_all", {key: percent(h, pairs.src_words) for key, h in hits.items()})
    return scores
