"""Refinement after any method (``--refine N``), by ``--refine-method``:

``self-learning`` (the default; Artetxe et al. 2018, ACL, "A robust self-learning method for fully unsupervised
cross-lingual mappings of word embeddings", with the seed dictionary kept): each round induces a dictionary from
the current spaces by CSLS in both directions among the first ``vocab`` words (every source word's CSLS-nearest
pivot word, and every pivot word's CSLS-nearest source word), adds it to the gold training pairs, and fits the
method again on the union. The method keeps its own recipe (whitening, re-weighting, ...), so the refinement
never falls back to a plain orthogonal map.

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

from cltc_tools.align.problem import Fitted, Problem, Progress, no_progress
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.translation import (
    cosine_blocks,
    mean_knn_similarity,
    nearest,
    pick_device,
    rows_per_block,
    unit_rows,
)
from cltc_tools.registry import deferred_import

torch = deferred_import("torch")


def csls_mutual_pairs(src: np.ndarray, tgt: np.ndarray, k: int = 10, device: str = "cpu",
                      batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (i, j) that are each other's CSLS nearest neighbour, in three passes of row blocks: r_T of the source
    rows; r_S and the backward neighbours of the target rows; the forward neighbours of the source rows."""
    dev = pick_device(device)
    S, T = unit_rows(src, dev), unit_rows(tgt, dev)
    k = min(k, len(S), len(T))
    block_s, block_t = rows_per_block(len(T), batch_size), rows_per_block(len(S), batch_size)
    r_tgt = mean_knn_similarity(S, T, k, block_s)
    r_src = torch.empty(len(T), dtype=T.dtype, device=dev)
    backward = torch.empty(len(T), dtype=torch.int64, device=dev)
    for rows, cos in cosine_blocks(T, S, block_t):
        r_src[rows] = cos.topk(k, dim=1).values.mean(dim=1)
        backward[rows] = cos.mul_(2).sub_(r_tgt[None, :]).argmax(dim=1)
    forward = torch.as_tensor(nearest(S, T, 1, block_s, r_src)[:, 0], device=dev)
    mutual = (backward[forward] == torch.arange(len(S), device=dev)).cpu().numpy()
    src_rows = np.flatnonzero(mutual)
    return src_rows, forward.cpu().numpy()[src_rows]


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
    dev = pick_device(device)
    S, T = unit_rows(src, dev), unit_rows(tgt, dev)
    k = min(k, len(S), len(T))
    block_s, block_t = rows_per_block(len(T), batch_size), rows_per_block(len(S), batch_size)
    penalty_src = mean_knn_similarity(S, T, k, block_s)  # mean cosine of each source row's k nearest targets
    penalty_tgt = mean_knn_similarity(T, S, k, block_t)
    forward = nearest(S, T, 1, block_s, penalty_tgt)[:, 0]  # 2 cos(x, y) - r(y): the key rows' penalty
    backward = nearest(T, S, 1, block_t, penalty_src)[:, 0]
    rows = np.concatenate([np.stack([np.arange(len(S)), forward], axis=1),
                           np.stack([backward, np.arange(len(T))], axis=1)])
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
                  fitted: Fitted, k: int = 10, batch_size: int | None = None) -> tuple[Fitted, dict[str, Any]]:
    """``params["refine"]`` rounds of: induce pairs on the current spaces, add the gold pairs, fit again."""
    found: dict[str, list[int]] = {lang: [] for lang in problem.others}
    vocab = int(params["refine_vocab"])
    with problem.progress("self-learning", int(params["refine"])) as advance:
        for _ in range(int(params["refine"])):
            rows = {}
            for lang in problem.others:
                induced = csls_induced_pairs(fitted.matrices[lang][:vocab], fitted.matrices[problem.pivot][:vocab],
                                             k, problem.device, batch_size)
                rows[lang] = with_seed(problem.pairs(lang), induced)
                found[lang].append(int(len(rows[lang][0])))
            fitted = fit(dataclasses.replace(problem, rows=rows), params)
            advance(1)
    return fitted, {"method": "self-learning", "pairs": found}


def refine_fitted(problem: Problem, fit: Callable[[Problem, dict[str, Any]], Fitted], params: dict[str, Any],
                  fitted: Fitted, k: int = 10, batch_size: int | None = None) -> tuple[Fitted, dict[str, Any]]:
    """The refinement ``params["refine_method"]`` after a method's fit (``params["refine"]`` rounds)."""
    if params.get("refine_method", "self-learning") == "self-learning":
        return self_learning(problem, fit, params, fitted, k, batch_size)
    matrices, info = refine(fitted.matrices, problem.pivot, problem.order, params["refine"], params["refine_vocab"],
                            k, problem.device, batch_size, problem.progress)
    return Fitted(matrices, fitted.fit), {"method": "muse", **info}
