"""MUSE-style refinement (Conneau et al. 2018, section 2.3): Procrustes on a dictionary induced by mutual CSLS
nearest neighbours among the most frequent words, repeated; it applies after any method.

Each round, for every non-pivot language: the pairs (x, y) such that y is x's CSLS nearest pivot word and x is y's
CSLS nearest word of the language, both among the first ``vocab`` words (MUSE's ``dico_build S2T&T2S``,
``dico_method csls_knn_10``, ``dico_max_rank 15000``), then the orthogonal map of the current vectors onto the
pivot on those pairs (MUSE's ``procrustes``). The pivot does not move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cltc_tools.align.problem import Progress, no_progress
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
