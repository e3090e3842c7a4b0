"""Word translation (bilingual lexicon induction) precision P@k with NN and CSLS retrieval, exact and fast.

CSLS (Conneau et al. 2018): CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), where r_T(x) is the mean cosine of
x's k nearest target words and r_S(y) that of y's k nearest source words. Vectors are L2-normalised.

Ranking the targets of one query x needs neither r_T(x) (the same for every y) nor, on large vocabularies, r_S(y)
for every y: only for the targets that can reach x's top n. ``progressive_penalty`` bounds every r_S(y) from below
by the mean of y's k largest cosines with the source words seen so far (first the queries and the words nearest
the target centroid, which are hubs; a missing one counts as -1), hence every score from above; exact r_S of each
query's n best-bounded targets gives a threshold (the n-th best of n real scores), and the other sources are then
visited block by block only by the targets whose bound is still within some query's threshold. Those left at the
end have their exact r_S; the ranking is that of computing r_S for the whole vocabulary (as MUSE and VecMap do),
at a fraction of its arithmetic. With few targets per query (``worth_pruning``) r_S is computed for every target
word in one pass.

Similarities are computed in tiles (a block of rows against at most ``KEY_TILE`` keys, one float32 GEMM each), and
the k largest of a tile are found exactly from the maxima of ``GROUP`` interleaved column groups (``k_largest``),
so the reduction costs a fraction of the GEMM; memory stays under a budget (``BLOCK_BYTES``) whatever the
vocabulary size, on CPU or GPU. A ``SpacePair`` holds the unit-row matrices and the r_S found so far, so that every
dictionary evaluated on the same two languages reuses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cltc_tools.align.dictionary import IndexPairs
from cltc_tools.errors import InputError
from cltc_tools.registry import deferred_import

torch = deferred_import("torch")

KS = (1, 5, 10)
BLOCK_BYTES = 256 * 2**20
KEY_TILE = 8192        # keys per similarity tile: the tile of a row block stays in cache for the reduction
TILE_ROWS = 512        # at most this many rows per tile (fewer when --batch-size says so)
GROUP = 32             # interleaved column groups whose maxima locate the k largest of a tile
PROBES = 4096          # frequent source words, besides the queries, that bound r_S from below
BOUND_SLACK = 1e-4     # covers float32 rounding between the products that give bounds and exact scores
SOURCE_BLOCK = 16384   # sources visited at a time by the targets still within reach
ROW_CHUNK = 8192       # targets gathered at a time
PRUNE_SHARE = 0.1      # prune only when the queries' n first candidates are at most this share of the targets
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


GPU_NODES = ("/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")  # NVIDIA, ROCm, WSL: where CUDA can be


def device_name(name: str = "auto") -> str:
    """The device ``name`` stands for (``pick_device``), as a string, found without loading torch where no GPU can
    be (``cpu``, or ``auto`` on a Linux machine without a GPU device node): a CPU run then loads torch only when it
    computes with it, after the inputs it no longer needs are freed."""
    if name not in ("auto", "cpu") and not name.startswith("cuda"):
        raise InputError(f"unknown device {name!r} (known: auto, cpu, cuda)")
    if name == "cpu" or (name == "auto" and os.name == "posix" and not any(map(os.path.exists, GPU_NODES))):
        return "cpu"
    return str(pick_device(name))


def unit_rows(X: np.ndarray | torch.Tensor, device: torch.device, in_place: bool = False) -> torch.Tensor:
    """Rows as float32 unit vectors on ``device`` (zero rows stay zero); ``in_place``: a writable float32 CPU
    matrix is scaled where it is, and shared, instead of copied."""
    shared = (in_place and isinstance(X, np.ndarray) and device.type == "cpu" and X.dtype == np.float32
              and X.flags.c_contiguous and X.flags.writeable)
    if shared:
        T = torch.from_numpy(X)
        return T.div_(T.norm(dim=1, keepdim=True).clamp_min_(1e-12))
    T = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device) if isinstance(X, np.ndarray) \
        else X.to(device=device, dtype=torch.float32)
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


def cosine_tiles(queries: torch.Tensor, keys: torch.Tensor, block: int, key_tile: int = KEY_TILE
                 ) -> Iterator[tuple[slice, slice, torch.Tensor]]:
    """(rows, key columns, queries[rows] @ keys[columns].T): row blocks of at most ``TILE_ROWS`` rows against
    ``key_tile`` keys at a time, row block by row block, in one reused buffer."""
    block = min(block, TILE_ROWS)
    buffer = torch.empty(min(block, len(queries)) * min(key_tile, len(keys)), dtype=queries.dtype,
                         device=queries.device)
    for start in range(0, len(queries), block):
        rows = slice(start, min(len(queries), start + block))
        for first in range(0, len(keys), key_tile):
            cols = slice(first, min(len(keys), first + key_tile))
            scores = buffer[: (rows.stop - rows.start) * (cols.stop - cols.start)].view(rows.stop - rows.start, -1)
            torch.mm(queries[rows], keys[cols].T, out=scores)
            yield rows, cols, scores


def k_largest(scores: torch.Tensor, k: int, group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest values of every row, largest first, and their columns: exact, through the maxima of ``group``
    interleaved column sets (the k sets of largest maxima hold k values at least as large as the j-th largest,
    for every j <= k), so that ``topk`` only sees k * group candidates per row."""
    width = scores.shape[1] // group
    if width <= k:
        top = scores.topk(min(k, scores.shape[1]), dim=1)
        return top.values, top.indices
    main = scores[:, : width * group]
    sets = main.view(len(scores), group, width).amax(dim=1).topk(k, dim=1).indices
    cols = (sets[:, :, None] + width * torch.arange(group, device=scores.device)).reshape(len(scores), -1)
    tail = torch.arange(width * group, scores.shape[1], device=scores.device).expand(len(scores), -1)
    cols = torch.cat([cols, tail], dim=1)
    top = scores.gather(1, cols).topk(k, dim=1)
    return top.values, cols.gather(1, top.indices)


def merge_largest(best: tuple[torch.Tensor, torch.Tensor] | None, new: tuple[torch.Tensor, torch.Tensor], k: int,
                  offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest of two (values, columns) lists; the new columns are shifted by ``offset``."""
    values, cols = new[0], new[1] + offset
    if best is not None:
        values, cols = torch.cat([best[0], values], dim=1), torch.cat([best[1], cols], dim=1)
    top = values.topk(min(k, values.shape[1]), dim=1)
    return top.values, cols.gather(1, top.indices)


def mean_knn_similarity(queries: torch.Tensor, keys: torch.Tensor, k: int, block: int,
                        advance: Advance | None = None) -> torch.Tensor:
    """r(x): the mean cosine of the k nearest keys of every query row (the k largest found tile by tile)."""
    return _mean_k_largest(queries, keys, min(k, len(keys)), block, advance)


def _mean_k_largest(queries: torch.Tensor, keys: torch.Tensor, k: int, block: int,
                    advance: Advance | None = None) -> torch.Tensor:
    out = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
    found: list[torch.Tensor] = []  # the k largest of each tile of the row block: one selection at its end
    for rows, cols, cos in cosine_tiles(queries, keys, block):
        found.append(k_largest(cos, k)[0])
        if cols.stop == len(keys):
            values = found[0] if len(found) == 1 else torch.cat(found, dim=1).topk(k, dim=1).values
            out[rows], found = values.mean(dim=1), []
            if advance:
                advance(rows.stop - rows.start)
    return out


def nearest(queries: torch.Tensor, keys: torch.Tensor, n: int, block: int,
            r_keys: torch.Tensor | None = None) -> np.ndarray:
    """The n best keys of each query, best first: by cosine, or by 2 cos - r_keys (CSLS ranking) when given."""
    by_cos, by_csls = nearest_both(queries, keys, n, block, r_keys)
    return by_cos if r_keys is None else by_csls


def nearest_both(queries: torch.Tensor, keys: torch.Tensor, n: int, block: int,
                 r_keys: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The n best keys of each query by cosine and, when ``r_keys`` is given, by 2 cos - r_keys, from the same
    products (an infinite r_keys excludes a key; without r_keys both are the cosine ranking)."""
    n = min(n, len(keys))
    by_cos = torch.zeros(len(queries), n, dtype=torch.int64, device=queries.device)
    by_csls = torch.zeros_like(by_cos) if r_keys is not None else None
    best_cos = best_csls = None
    for rows, cols, scores in cosine_tiles(queries, keys, block):
        first = cols.start == 0
        best_cos = merge_largest(None if first else best_cos, k_largest(scores, n), n, cols.start)
        if r_keys is not None:
            scores.mul_(2).sub_(r_keys[None, cols])
            best_csls = merge_largest(None if first else best_csls, k_largest(scores, n), n, cols.start)
        if cols.stop == len(keys):
            by_cos[rows] = best_cos[1]
            if by_csls is not None:
                by_csls[rows] = best_csls[1]
    ranked = by_cos.cpu().numpy()
    return ranked, ranked if by_csls is None else by_csls.cpu().numpy()


def csls_top1(queries: torch.Tensor, keys: torch.Tensor, k: int, r_keys: torch.Tensor | None = None,
              block: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every query's CSLS nearest key, argmax_y 2 cos(x, y) - r_keys(y) (Conneau et al. 2018), and r_queries,
    the mean cosine of each query's k nearest keys, from the same products. ``queries`` and ``keys`` are unit rows;
    ``r_keys`` (the mean cosine of each key's k nearest queries) is computed first when not given."""
    block = block or rows_per_block(len(keys))
    if r_keys is None:
        r_keys = _mean_k_largest(keys, queries, min(k, len(queries)), block)
    kk = min(k, len(keys))
    top = torch.empty(len(queries), dtype=torch.int64, device=queries.device)
    r_queries = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
    near = best = None
    for rows, cols, scores in cosine_tiles(queries, keys, block):
        first = cols.start == 0
        near = merge_largest(None if first else near, k_largest(scores, kk), kk, cols.start)
        best = merge_largest(None if first else best, k_largest(scores.mul_(2).sub_(r_keys[None, cols]), 1), 1,
                             cols.start)
        if cols.stop == len(keys):
            r_queries[rows], top[rows] = near[0].mean(dim=1), best[1][:, 0]
    return top, r_queries


def probe_rows(queries: np.ndarray, src: torch.Tensor, tgt: torch.Tensor, extra: int | None = None) -> np.ndarray:
    """The source rows that bound r_S: the queries, then the ``extra`` other rows closest to the centroid of the
    target words (hubs: they are among the nearest sources of many targets, so the bound is tight)."""
    extra = PROBES if extra is None else extra
    closeness = src @ tgt.mean(dim=0)
    order = closeness.topk(min(len(src), extra + len(queries))).indices.cpu().numpy()
    others = order[~np.isin(order, queries)][:extra]
    return np.concatenate([queries, others])


def bounded_candidates(queries: torch.Tensor, tgt: torch.Tensor, lower: torch.Tensor, m: int,
                       block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per query, the m targets of highest upper bound 2 cos - lower, and their cosines."""
    m = min(m, len(tgt))
    idx, cos = [], []
    for _, scores in cosine_blocks(queries, tgt, block):
        top = (2 * scores - lower[None, :]).topk(m, dim=1).indices
        idx.append(top)
        cos.append(scores.gather(1, top))
    return torch.cat(idx), torch.cat(cos)


def k_largest_values(queries: torch.Tensor, keys: torch.Tensor, k: int, block: int) -> torch.Tensor:
    """The k largest cosines of every query row with ``keys``, largest first (-1, the least a cosine can be, where
    there are fewer than k keys)."""
    out = queries.new_full((len(queries), k), -1.0)
    kept = min(k, len(keys))
    best = None
    for rows, cols, cos in cosine_tiles(queries, keys, block):
        best = merge_largest(None if cols.start == 0 else best, k_largest(cos, kept), kept, cols.start)
        if cols.stop == len(keys):
            out[rows, :kept] = best[0]
    return out


def merge_values(best: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Row by row, the k largest of two lists of k values, largest first."""
    return torch.cat([best, new], dim=1).topk(best.shape[1], dim=1).values


def source_order(queries: np.ndarray, src: torch.Tensor, tgt: torch.Tensor) -> np.ndarray:
    """Every source row, the probes (``probe_rows``) first: visiting them first tightens the bounds soonest."""
    first = probe_rows(queries, src, tgt)
    rest = np.setdiff1d(np.arange(len(src)), first, assume_unique=True)
    return np.concatenate([first, rest])


def reach(queries: torch.Tensor, tgt: torch.Tensor, threshold: torch.Tensor, block: int) -> torch.Tensor:
    """max over queries x of 2 cos(x, y) - threshold(x), for every target y: y can be among x's n best by CSLS
    only if r_S(y) <= 2 cos(x, y) - threshold(x), so only if r_S(y) <= reach(y)."""
    out = torch.full((len(tgt),), -torch.inf, dtype=tgt.dtype, device=tgt.device)
    for rows, cols, scores in cosine_tiles(queries, tgt, block):
        torch.maximum(out[cols], scores.mul_(2).sub_(threshold[rows, None]).amax(dim=0), out=out[cols])
    return out


def progressive_penalty(queries: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, k: int, n: int,
                        order: np.ndarray, block_t: int, block_s: int, r_src: torch.Tensor, known: torch.Tensor,
                        advance: Advance | None = None, first: int | None = None) -> None:
    """Exact r_S (into ``r_src``, marking ``known``) of every target that can be among a query's n best by CSLS,
    without computing it for the others.

    The mean of a target's k largest cosines with the sources seen so far bounds r_S(y) from below, hence every
    score from above. After the first block of ``order`` (the probes), exact r_S of each query's n best-bounded
    targets gives a threshold per query (the least of those n real scores) and with it ``reach``; then the
    remaining sources are visited block by block, only for the targets whose bound is still within reach, and the
    targets left when every source has been seen have their exact r_S. ``first``: the size of the first block
    (default: the queries and ``PROBES`` more, as ``source_order`` puts them).
    """
    n, k = min(n, len(tgt)), min(k, len(src))
    split = min(len(order), len(queries) + PROBES if first is None else first)
    first, rest = order[:split], order[split:]
    best = k_largest_values(tgt, src[torch.as_tensor(first, device=src.device)], k, block_s)
    lower = torch.maximum(best.mean(dim=1), torch.where(known, r_src, -1.0))
    idx, cos = bounded_candidates(queries, tgt, lower, n, block_t)
    need = torch.unique(idx)
    need = need[~known[need]]
    r_src[need] = mean_knn_similarity(tgt[need], src, k, block_s)
    known[need] = True
    threshold = (2 * cos - r_src[idx]).min(dim=1).values - BOUND_SLACK
    within = reach(queries, tgt, threshold, block_t)
    active = torch.nonzero(~known & (lower <= within)).flatten()
    if advance:
        advance(len(tgt) - len(active))
    for start in range(0, len(rest), SOURCE_BLOCK):
        keys = src[torch.as_tensor(rest[start:start + SOURCE_BLOCK], device=src.device)]
        for chunk in active.split(ROW_CHUNK):
            best[chunk] = merge_values(best[chunk], k_largest_values(tgt[chunk], keys, k, block_s))
        before = len(active)
        active = active[best[active].mean(dim=1) <= within[active]]
        if advance:
            advance(before - len(active))
    r_src[active] = best[active].mean(dim=1)
    known[active] = True
    if advance:
        advance(len(active))


def csls_nearest(queries: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, k: int, n: int, order: np.ndarray,
                 block_t: int, block_s: int, first: int | None = None) -> np.ndarray:
    """The n best targets of each query by CSLS, best first: exact, with r_S computed only where it can matter."""
    r_src, known = tgt.new_zeros(len(tgt)), torch.zeros(len(tgt), dtype=torch.bool, device=tgt.device)
    progressive_penalty(queries, src, tgt, k, n, order, block_t, block_s, r_src, known, first=first)
    return nearest(queries, tgt, n, block_t, torch.where(known, r_src, torch.inf))


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


@dataclass
class SpacePair:
    """Two languages of an aligned space as unit float32 rows, and the CSLS penalty r_S of the target words found
    so far (``known``): made once per language pair, shared by every dictionary evaluated on it."""

    src: torch.Tensor
    tgt: torch.Tensor
    csls_k: int
    r_src: torch.Tensor
    known: torch.Tensor

    @classmethod
    def of(cls, src: np.ndarray, tgt: np.ndarray, csls_k: int = 10, vocab: int | None = None,
           device: str = "cpu") -> SpacePair:
        """Normalise the rows once; ``vocab`` keeps the N most frequent (first) words of each language."""
        dev = pick_device(device)
        return cls.of_units(unit_rows(src[:vocab] if vocab else src, dev),
                            unit_rows(tgt[:vocab] if vocab else tgt, dev), csls_k)

    @classmethod
    def of_units(cls, src: torch.Tensor, tgt: torch.Tensor, csls_k: int = 10) -> SpacePair:
        """From rows normalised already (``unit_rows``), r_S not known yet."""
        return cls(src, tgt, csls_k, tgt.new_zeros(len(tgt)), tgt.new_zeros(len(tgt), dtype=torch.bool))


def worth_pruning(n_queries: int, n: int, n_tgt: int) -> bool:
    """Bounds pay only when the queries' first n candidates are a small share of the targets; otherwise the
    targets they can reach are most of them, and one pass computing every r_S is cheaper."""
    return n_queries * n <= PRUNE_SHARE * n_tgt


def csls_ranking(pair: SpacePair, queries: np.ndarray, n: int, batch_size: int | None = None,
                 advance: Advance | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The n best targets of each query row by NN and by CSLS (exact), r_S computed at most once per target."""
    S, T, dev = pair.src, pair.tgt, pair.tgt.device
    Q = S[torch.as_tensor(queries, device=dev)]
    block_t, block_s = rows_per_block(len(T), batch_size), rows_per_block(len(S), batch_size)
    pruned = not bool(pair.known.all()) and worth_pruning(len(queries), n, len(T))
    if pruned:
        progressive_penalty(Q, S, T, pair.csls_k, n, source_order(queries, S, T), block_t, block_s, pair.r_src,
                            pair.known, advance)
    elif not bool(pair.known.any()):  # every target, without a gathered copy of them
        pair.r_src[:] = mean_knn_similarity(T, S, pair.csls_k, block_s, advance)
        pair.known[:] = True
    elif not bool(pair.known.all()):
        unknown = torch.nonzero(~pair.known).flatten()
        pair.r_src[unknown] = mean_knn_similarity(T[unknown], S, pair.csls_k, block_s, advance)
        pair.known[unknown] = True
    return nearest_both(Q, T, n, block_t, torch.where(pair.known, pair.r_src, torch.inf))


def translation_scores(pair: SpacePair, pairs: IndexPairs, ks: Sequence[int] = KS, batch_size: int | None = None,
                       advance: Advance | None = None) -> TranslationScores:
    """P@k of translating the dictionary's source words on ``pair``: NN and CSLS, both conventions."""
    src_rows, tgt_rows = within_vocab(pairs, len(pair.src), len(pair.tgt))
    queries, query_of_pair = np.unique(src_rows, return_inverse=True)
    scores = TranslationScores(pairs.pairs, pairs.src_words, len(queries))
    if not len(queries):
        for name in ("nn", "csls", "nn_all", "csls_all"):
            setattr(scores, name, {f"p@{k}": 0.0 for k in ks})
        return scores
    for name, ranked in zip(("nn", "csls"), csls_ranking(pair, queries, max(ks), batch_size, advance)):
        rank = best_rank(ranked, query_of_pair, tgt_rows)
        hits = {f"p@{k}": int((rank < k).sum()) for k in ks}
        setattr(scores, name, {key: percent(h, len(queries)) for key, h in hits.items()})
        setattr(scores, f"{name}_all", {key: percent(h, pairs.src_words) for key, h in hits.items()})
    return scores


def word_translation(src: np.ndarray, tgt: np.ndarray, pairs: IndexPairs, csls_k: int = 10,
                     vocab: int | None = None, batch_size: int | None = None, device: str = "cpu",
                     ks: Sequence[int] = KS, advance: Advance | None = None) -> TranslationScores:
    """P@k of translating the dictionary's source words: NN and CSLS, both conventions.

    ``vocab`` keeps only the N most frequent (first) words of each language, as MUSE's max_vocab;
    ``advance(rows)`` reports progress over the target rows (the pass that finds or bounds r_S).
    """
    return translation_scores(SpacePair.of(src, tgt, csls_k, vocab, device), pairs, ks, batch_size, advance)
