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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cltc_tools.align.problem import Fitted, Problem, Progress, Rows, no_progress
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.translation import cosine_blocks, k_largest, pick_device, rows_per_block, unit_rows
from cltc_tools.registry import deferred_import

torch = deferred_import("torch")
NEIGHBOUR_ROWS = 1024  # source rows per block of S T' (a 15,000-word vocabulary: 60 MB)
HELD_OUT = 0.2  # share of the gold source words held out to choose how many self-learning rounds to keep
MIN_HELD_OUT = 20


def csls_neighbours(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every source row's CSLS-nearest target row (``forward``) and every target row's CSLS-nearest source row
    (``backward``; Conneau et al. 2018), from two passes over the row blocks of S T': the first finds r_T of the
    source rows (row-wise) and r_S of the target rows (column-wise), the second both argmaxes."""
    dev = pick_device(device)
    S, T = unit_rows(src, dev), unit_rows(tgt, dev)
    k = min(k, len(S), len(T))
    block = min(rows_per_block(len(T), batch_size), NEIGHBOUR_ROWS)
    r_tgt, r_src = penalties_both_ways(S, T, k, block)
    forward = torch.empty(len(S), dtype=torch.int64, device=dev)
    best = torch.full((len(T),), -torch.inf, dtype=T.dtype, device=dev)
    backward = torch.zeros(len(T), dtype=torch.int64, device=dev)
    scores = torch.empty(min(block, len(S)), len(T), dtype=T.dtype, device=dev)
    for rows, cos in cosine_blocks(S, T, block):
        cos.mul_(2)
        forward[rows] = torch.sub(cos, r_src[None, :], out=scores[: len(cos)]).argmax(dim=1)
        values, where = cos.sub_(r_tgt[rows, None]).max(dim=0)
        better = values > best  # the earliest source row wins a tie, as argmax over the whole column
        best = torch.where(better, values, best)
        backward = torch.where(better, where + rows.start, backward)
    return forward.cpu().numpy(), backward.cpu().numpy()


def penalties_both_ways(S: torch.Tensor, T: torch.Tensor, k: int, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """r_T(x), the mean cosine of each source row's k nearest target rows, and r_S(y), that of each target row's k
    nearest source rows, from one pass over S T'."""
    r_tgt = torch.empty(len(S), dtype=S.dtype, device=S.device)
    top = None
    for rows, cos in cosine_blocks(S, T, block):
        r_tgt[rows] = k_largest(cos, k)[0].mean(dim=1)
        column = cos.T.topk(min(k, rows.stop - rows.start), dim=1).values
        if top is not None:
            column = torch.cat([top, column], dim=1)
        top = column.topk(min(k, column.shape[1]), dim=1).values  # fewer than k while blocks are shorter than k
    return r_tgt, top.mean(dim=1)


def csls_mutual_pairs(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                      batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (i, j) that are each other's CSLS nearest neighbour (MUSE's ``S2T&T2S``)."""
    forward, backward = csls_neighbours(src, tgt, k, device, batch_size)
    src_rows = np.flatnonzero(backward[forward] == np.arange(len(forward)))
    return src_rows, forward[src_rows]


def refine(matrices: dict[str, np.ndarray], pivot: str, order: Sequence[str], rounds: int, vocab: int,
           k: int = 10, device: str = "cpu", batch_size: int | None = None,
           progress: Progress = no_progress) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``rounds`` rounds of induced-dictionary Procrustes for every non-pivot language; the pairs found each round."""
    out = dict(matrices)
    found: dict[str, list[int]] = {}
    target = out[pivot]
    for lang in order:
        if lang == pivot:
            continue
        found[lang] = []
        with progress(f"refining {lang}-{pivot}", rounds) as advance:
            for _ in range(rounds):
                src, tgt = csls_mutual_pairs(out[lang][:vocab], target[:vocab], k, device, batch_size)
                found[lang].append(int(len(src)))
                if len(src) < 2:
                    break
                out[lang] = (out[lang] @ procrustes(out[lang][src], target[tgt])).astype(np.float32)
                advance(1)
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
    known = {tuple(row) for row in gold.tolist()}
    new = new[[tuple(row) not in known for row in new.tolist()]] if len(new) else new
    rows = np.concatenate([gold, new]) if len(new) else gold
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
    vocab = int(params["refine_vocab"])
    return {lang: csls_neighbours(fitted.matrices[lang][:vocab], fitted.matrices[problem.pivot][:vocab], k,
                                  problem.device, batch_size) for lang in problem.others}


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
                            k, problem.device, batch_size, problem.progress)
    return Fitted(matrices, fitted.fit), {"method": "muse", **info}
