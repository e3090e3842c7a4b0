"""Refinement after any method (``--refine N``), by ``--refine-method``:

``self-learning`` (the default; Artetxe et al. 2018, ACL, "A robust self-learning method for fully unsupervised
cross-lingual mappings of word embeddings", with the seed dictionary kept): each round induces a dictionary from
the current spaces by CSLS in both directions among the first ``vocab`` words (every source word's CSLS-nearest
pivot word, and every pivot word's CSLS-nearest source word), adds it to the gold training pairs, and fits the
method again on the union. The method keeps its own recipe (whitening, re-weighting, ...), so the refinement
never falls back to a plain orthogonal map. How many of the rounds to keep is chosen on held-out dictionary pairs,
never on test pairs (``rounds_to_keep``): the rounds are run once with the rarest fifth of the gold source words
held out, and the run keeps the round of best held-out CSLS P@1 at which no language is below its start (no
round when every one lowers some language). When ``--dict identical`` is among the dictionaries (its pairs
are not all translations), or some language has too few judgeable gold words, every round is kept.

``muse`` (Conneau et al. 2018, section 2.3): Procrustes on a dictionary induced by mutual CSLS nearest neighbours
among the most frequent words, repeated; the gold pairs are dropped after the first fit.

Each round, for every non-pivot language: the pairs (x, y) such that y is x's CSLS nearest pivot word and x is y's
CSLS nearest word of the language, both among the first ``vocab`` words (MUSE's ``dico_build S2T&T2S``,
``dico_method csls_knn_10``, ``dico_max_rank 15000``), then the orthogonal map of the current vectors onto the
pivot on those pairs (MUSE's ``procrustes``). The pivot does not move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import numpy as np

from cltc_tools.align.problem import (
    Fitted,
    Matrices,
    Problem,
    Progress,
    Rows,
    SpilledMatrices,
    carry,
    head,
    no_progress,
)
from cltc_tools.align.procrustes import cross_covariance, mapped, reduced_map
from cltc_tools.align.translation import (
    cosine_tiles,
    k_largest,
    merge_largest,
    pick_device,
    rows_per_block,
    unit_rows,
)
from cltc_tools.registry import deferred_import

torch = deferred_import("torch")
CANDIDATES = 24  # nearest rows kept per row: they hold its CSLS-nearest row unless the bound says otherwise
ISOLATED = 0.05  # share of rows of least CSLS penalty scored for every row (they can win with a small cosine)
UNSURE_ROWS = 512  # rows per block of the CSLS argmax among the scored keys
REACH_ROWS = 128  # rows per block, in order of reach, scored again against the keys within their reach
KEY_TILE = 16384  # keys per similarity tile: one tile per row for the usual 15,000-word induction vocabulary
GROUP = 8  # column groups of k_largest: 24 of 8 groups of 1,875 columns is the least work at that width
HELD_OUT = 0.2  # share of the gold source words held out to choose how many self-learning rounds to keep
MIN_HELD_OUT = 20


def csls_neighbours(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every source row's CSLS-nearest target row (``forward``) and every target row's CSLS-nearest source row
    (``backward``; Conneau et al. 2018), from one pass over S T' and one over T S', each keeping every row's
    ``CANDIDATES`` nearest rows: their first k give the penalties, and they hold the CSLS-nearest row whenever no
    other row can score more (``csls_argmax``)."""
    dev = pick_device(device)
    return csls_neighbours_of_units(unit_rows(src, dev), unit_rows(tgt, dev), k, batch_size)


def csls_neighbours_of_units(S: torch.Tensor, T: torch.Tensor, k: int = 10, batch_size: int | None = None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """``csls_neighbours`` of rows that are unit vectors already (normalised in place by the caller, so that a
    15,000-word vocabulary is held once, not also as a normalised copy)."""
    k = min(k, len(S), len(T))
    block = rows_per_block(max(len(S), len(T)), batch_size)
    near_t = nearest_cosines(S, T, min(max(k, CANDIDATES), len(T)), block)  # each source row's nearest targets
    near_s = nearest_cosines(T, S, min(max(k, CANDIDATES), len(S)), block)
    r_tgt, r_src = near_t[0][:, :k].mean(dim=1), near_s[0][:, :k].mean(dim=1)
    forward = csls_argmax(S, T, near_t, r_src, block)
    backward = csls_argmax(T, S, near_s, r_tgt, block)
    return forward.cpu().numpy(), backward.cpu().numpy()


def nearest_cosines(queries: torch.Tensor, keys: torch.Tensor, m: int, block: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The m largest cosines of every query row with ``keys``, largest first, and their key rows."""
    values = torch.empty(len(queries), m, dtype=queries.dtype, device=queries.device)
    cols = torch.empty(len(queries), m, dtype=torch.int64, device=queries.device)
    found: list[tuple[torch.Tensor, torch.Tensor]] = []  # each tile's m largest: one selection per row block
    for rows, tile, cos in cosine_tiles(queries, keys, block, KEY_TILE):
        top, where = k_largest(cos, min(m, cos.shape[1]), GROUP)
        found.append((top, where + tile.start))
        if tile.stop == len(keys):
            values[rows], cols[rows] = found[0] if len(found) == 1 else merged(found, m)
            found = []
    return values, cols


def merged(found: list[tuple[torch.Tensor, torch.Tensor]], m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The m largest of several (values, columns) lists of the same rows, largest first."""
    top, where = (torch.cat(part, dim=1) for part in zip(*found))
    best = top.topk(m, dim=1)
    return best.values, where.gather(1, best.indices)


def csls_argmax(queries: torch.Tensor, keys: torch.Tensor, near: tuple[torch.Tensor, torch.Tensor],
                r_keys: torch.Tensor, block: int) -> torch.Tensor:
    """argmax_j 2 cos(q, k_j) - r_keys(j) for every query row (the lowest j of equal scores), exact.

    Scored: each row's nearest keys ``near`` and the ``ISOLATED`` share of keys of least r_keys (isolated words,
    whose small penalty lets them win with a moderate cosine). Any other key has a cosine at most c, the least kept
    one, so it beats a row's best score only if its penalty is at most 2 c - best (the row's reach); the rows whose
    reach is not below every penalty left out are scored again against the keys of penalty within their reach.
    """
    values, cols = near
    by_penalty = r_keys.argsort(stable=True)
    n_isolated = max(1, int(ISOLATED * len(keys)))
    isolated = by_penalty[:n_isolated].sort().values
    lonely, r_lonely = keys[isolated].T.contiguous(), r_keys[isolated]
    out = torch.empty(len(queries), dtype=torch.int64, device=queries.device)
    best = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
    for start in range(0, len(queries), UNSURE_ROWS):
        rows = slice(start, min(len(queries), start + UNSURE_ROWS))
        scores = 2 * values[rows] - r_keys[cols[rows]]
        best[rows], out[rows] = better(lowest_of_best(scores, cols[rows]),
                                       first_best(torch.mm(queries[rows], lonely).mul_(2).sub_(r_lonely), isolated))
    if n_isolated < len(keys) and values.shape[1] < len(keys):
        reach = 2 * values[:, -1] - best
        unsure = torch.nonzero(reach >= r_keys[by_penalty[n_isolated]]).flatten()
        unsure = unsure[reach[unsure].argsort()]  # blocks of similar reach score similar numbers of keys
        r_sorted = r_keys[by_penalty]
        for start in range(0, len(unsure), min(block, REACH_ROWS)):
            rows = unsure[start:start + min(block, REACH_ROWS)]
            within = by_penalty[: int(torch.searchsorted(r_sorted, reach[rows].max(), right=True))].sort().values
            scores = torch.mm(queries[rows], keys[within].T).mul_(2).sub_(r_keys[within])
            best[rows], out[rows] = better((best[rows], out[rows]), first_best(scores, within))
    return out


Best = tuple["torch.Tensor", "torch.Tensor"]  # per row: the best score and the lowest key index that holds it


def lowest_of_best(scores: torch.Tensor, index: torch.Tensor) -> Best:
    """Each row's largest score and the lowest of the ``index`` entries (one per score) that hold it."""
    top = scores.max(dim=1).values
    return top, torch.where(scores == top[:, None], index, torch.iinfo(torch.int64).max).min(dim=1).values


def first_best(scores: torch.Tensor, ascending: torch.Tensor) -> Best:
    """Each row's largest score and its key, the first of equals, where column c holds key ``ascending[c]``."""
    top, at = scores.max(dim=1)  # the first of equal maxima
    return top, ascending[at]


def better(a: Best, b: Best) -> Best:
    """Row by row, the better of two (score, key): the larger score, the lower key of equal scores."""
    top = torch.maximum(a[0], b[0])
    miss = torch.iinfo(torch.int64).max
    return top, torch.minimum(torch.where(a[0] == top, a[1], miss), torch.where(b[0] == top, b[1], miss))


def csls_mutual_pairs(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                      batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (i, j) that are each other's CSLS nearest neighbour (MUSE's ``S2T&T2S``)."""
    forward, backward = csls_neighbours(src, tgt, k, device, batch_size)
    src_rows = np.flatnonzero(backward[forward] == np.arange(len(forward)))
    return src_rows, forward[src_rows]


def refine(matrices: Matrices, pivot: str, order: Sequence[str], rounds: int, vocab: int,
           k: int = 10, device: str = "cpu", batch_size: int | None = None,
           progress: Progress = no_progress, out: MutableMapping[str, np.ndarray] | None = None
           ) -> tuple[MutableMapping[str, np.ndarray], dict[str, Any]]:
    """``rounds`` rounds of induced-dictionary Procrustes for every non-pivot language; the pairs found each round.
    The refined matrices go to ``out`` (a new dictionary by default), one language at a time. A round needs only
    the first ``vocab`` rows of both sides to find its pairs and its map; the whole language is read to be mapped
    once the map is known."""
    out = {} if out is None else out
    found: dict[str, list[int]] = {}
    target = head(matrices, pivot, vocab)
    carry(out, matrices, pivot)
    for lang in order:
        if lang == pivot:
            continue
        found[lang], latest = [], matrices  # where the language's latest matrix is
        with progress(f"refining {lang}-{pivot}", rounds) as advance:
            for _ in range(rounds):
                rows = head(latest, lang, vocab)
                src, tgt = csls_mutual_pairs(rows, target, k, device, batch_size)
                found[lang].append(int(len(src)))
                if len(src) < 2:
                    break
                W, _ = reduced_map(cross_covariance(rows, src, target, tgt), None)  # procrustes(X[src], Y[tgt])
                del rows
                owned = latest is out or isinstance(latest, SpilledMatrices)  # a spilled matrix is read fresh
                out[lang], latest = mapped(latest[lang], W, in_place=owned), out
                advance(1)
        if latest is not out:
            carry(out, matrices, lang)
    return out, {"pairs": found}


REFINE_METHODS = ("self-learning", "muse")


def csls_induced_pairs(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                       batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (i, j): j is i's CSLS-nearest target row, or i is j's CSLS-nearest source row (both directions,
    Artetxe et al. 2018, ACL, section 3.3); the union, each pair once."""
    return induced_union(*csls_neighbours(src, tgt, k, device, batch_size))


def induced_union(forward: np.ndarray, backward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i, forward[i]) and (backward[j], j), each once, sorted."""
    rows = np.concatenate([np.stack([np.arange(len(forward)), forward], axis=1),
                           np.stack([backward, np.arange(len(backward))], axis=1)])
    rows = np.unique(rows, axis=0)
    return rows[:, 0], rows[:, 1]


def with_seed(seed: tuple[np.ndarray, np.ndarray], induced: tuple[np.ndarray, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The gold pairs first (all of them, in order), then the induced pairs they do not already hold."""
    gold = np.stack(seed, axis=1).astype(np.int64)
    new = np.stack(induced, axis=1).astype(np.int64)
    if len(gold) and len(new):
        width = int(max(gold[:, 1].max(), new[:, 1].max())) + 1  # a pair (i, j) as the number i * width + j
        new = new[~np.isin(new[:, 0] * width + new[:, 1], gold[:, 0] * width + gold[:, 1])]
    rows = np.concatenate([gold, new])
    return rows[:, 0], rows[:, 1]


def self_learning(problem: Problem, fit: Callable[[Problem, dict[str, Any]], Fitted], params: dict[str, Any],
                  fitted: Fitted, k: int = 10, batch_size: int | None = None, judge: bool = True
                  ) -> tuple[Fitted, dict[str, Any]]:
    """At most ``params["refine"]`` rounds of: induce pairs on the current spaces, add the gold pairs, fit again;
    with ``judge`` (the pairs are a real dictionary), as many rounds as ``rounds_to_keep`` finds useful on held-out
    pairs; without (identical strings, which are not all translations), every round."""
    kept, curve = rounds_to_keep(problem, fit, params, k, batch_size) if judge else (int(params["refine"]), [])
    found: dict[str, list[int]] = {lang: [] for lang in problem.others}
    with problem.progress("self-learning", kept) as advance:
        for _ in range(kept):
            rows = induced_rows(problem.rows, induce(problem, fitted, params, k, batch_size))
            for lang in problem.others:
                found[lang].append(int(len(rows[lang][0])))
            fitted = fit(dataclasses.replace(problem, rows=rows), params)
            advance(1)
    return fitted, {"method": "self-learning", "rounds": kept, "held_out_p1": curve, "pairs": found}


def induce(problem: Problem, fitted: Fitted, params: dict[str, Any], k: int, batch_size: int | None
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per non-pivot language, the CSLS neighbours both ways among the first ``refine_vocab`` words."""
    vocab, dev = int(params["refine_vocab"]), pick_device(problem.device)
    pivot = unit_rows(head(fitted.matrices, problem.pivot, vocab), dev, in_place=True)  # head: rows of its own
    return {lang: csls_neighbours_of_units(unit_rows(head(fitted.matrices, lang, vocab), dev, in_place=True), pivot,
                                           k, batch_size)
            for lang in problem.others}


def induced_rows(gold: Rows, neighbours: dict[str, tuple[np.ndarray, np.ndarray]]) -> Rows:
    """The training pairs of the next round: the gold pairs, then the induced ones they do not hold."""
    empty = np.zeros(0, dtype=np.int64)
    return {lang: with_seed(gold.get(lang, (empty, empty)), induced_union(*both)) for lang, both in neighbours.items()}


def held_out_split(pairs: tuple[np.ndarray, np.ndarray], share: float, vocab: int
                   ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(training, held-out) gold pairs: the held-out ones are those of the ``share`` least frequent source words
    with a translation among the first ``vocab`` words of both sides (the last such rows; every translation of a
    word on one side), like test words, which are rarer than training words (MUSE: 5000-6500 against 0-5000)."""
    src, tgt = pairs
    words = np.unique(src[(src < vocab) & (tgt < vocab)])
    held = words[len(words) - int(round(share * len(words))):]
    out = np.isin(src, held)
    return (src[~out], tgt[~out]), (src[out], tgt[out])


def precision_at_1(neighbours: tuple[np.ndarray, np.ndarray], held: tuple[np.ndarray, np.ndarray]) -> float:
    """The share of held-out source words whose CSLS-nearest target translates them, among the words with a
    translation inside the vocabulary that ``neighbours`` (forward, backward) covers."""
    forward, backward = neighbours
    src, tgt = held
    inside = (src < len(forward)) & (tgt < len(backward))
    src, tgt = src[inside], tgt[inside]
    words = np.unique(src)
    return float(len(np.unique(src[forward[src] == tgt])) / len(words)) if len(words) else 0.0


def rounds_to_keep(problem: Problem, fit: Callable[[Problem, dict[str, Any]], Fitted], params: dict[str, Any],
                   k: int = 10, batch_size: int | None = None) -> tuple[int, list[dict[str, float]]]:
    """How many rounds help: run them with ``HELD_OUT`` of every language's gold source words held out and keep
    the round of best mean held-out CSLS P@1 (the later of equals) among those where no language is below its
    start (0: none is);
    with fewer than ``MIN_HELD_OUT`` held-out words in some language, every round (nothing to judge by)."""
    rounds, vocab = int(params["refine"]), int(params["refine_vocab"])
    split = {lang: held_out_split(problem.pairs(lang), HELD_OUT, vocab) for lang in problem.others}
    if any(len(np.unique(held[0])) < MIN_HELD_OUT for _, held in split.values()):
        return rounds, []
    train = dataclasses.replace(problem, rows={lang: part[0] for lang, part in split.items()})
    fitted, curve = fit(train, params), []
    with problem.progress("self-learning: choosing the rounds on held-out pairs", rounds + 1) as advance:
        for done in range(rounds + 1):
            neighbours = induce(train, fitted, params, k, batch_size)
            curve.append({lang: round(100 * precision_at_1(neighbours[lang], split[lang][1]), 2)
                          for lang in problem.others})
            advance(1)
            if done < rounds:
                fitted = fit(dataclasses.replace(train, rows=induced_rows(train.rows, neighbours)), params)
    return best_round(curve), curve


def best_round(curve: list[dict[str, float]]) -> int:
    """The round of best mean score (the later of equals) among those where no language is below round 0."""
    safe = [r for r, scores in enumerate(curve) if all(scores[lang] >= curve[0][lang] for lang in scores)]
    return max(safe, key=lambda r: (float(np.mean(list(curve[r].values()))), r))


def refine_fitted(problem: Problem, fit: Callable[[Problem, dict[str, Any]], Fitted], params: dict[str, Any],
                  fitted: Fitted, k: int = 10, batch_size: int | None = None, judge: bool = True
                  ) -> tuple[Fitted, dict[str, Any]]:
    """The refinement ``params["refine_method"]`` after a method's fit (``params["refine"]`` rounds)."""
    if params.get("refine_method", "self-learning") == "self-learning":
        return self_learning(problem, fit, params, fitted, k, batch_size, judge)
    matrices, info = refine(fitted.matrices, problem.pivot, problem.order, params["refine"], params["refine_vocab"],
                            k, problem.device, batch_size, problem.progress, out=problem.new_matrices())
    return Fitted(matrices, fitted.fit), {"method": "muse", **info}
