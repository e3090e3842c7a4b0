"""The multi-step framework of supervised mapping (Artetxe et al. 2018, AAAI, "Generalizing and improving bilingual
word embedding mappings with a multi-step framework of linear transformations"), VecMap's ``--supervised``.

Steps, each a function below, applied to the dictionary rows X_D (source) and Z_D (target) after normalisation:
whitening of both sides, orthogonal mapping of the whitened rows, re-weighting of the shared dimensions by a power
of their singular values (canonical correlations), de-whitening of each side with its own or the other side's
whitening, and optional dimensionality reduction. Source rows become X Mx and target rows Z Mz; both sides move.

More than two languages land in ONE space: the pivot is transformed once. Each pair (language l, pivot) is fitted
on its own dictionary, and both of its maps are expressed in the pivot's coordinates (right-multiplied by the
pair's target rotation, which changes no similarity): Mx_l for the language, A_l for the pivot. The pivot is then
transformed by the mean T of the A_l, and language l by Mx_l. With one non-pivot language this is exactly VecMap's
result (T = A_1). With several, each language keeps its own map while the pivot gets the average of the pivot
transforms; ``--method rcsls`` then fits every language to that shared pivot. Chosen on held-out dictionary pairs
over folding the pivot transform into each source map (pivot left untouched), which lost 1.5-3.7 CSLS points: the
pivot-side re-weighting is part of the gain (docs/ALIGNMENT.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.align.procrustes import ONE_PRODUCT, cross_covariance
from cltc_tools.errors import InputError
from cltc_tools.registry import options_table

# VecMap --supervised: --normalize unit center unit --whiten --src_reweight 0.5 --trg_reweight 0.5
# --src_dewhiten src --trg_dewhiten trg (map_embeddings.py); no dimensionality reduction.
DEFAULTS: dict[str, Any] = {"normalize": ["unit", "center", "unit"], "whiten": True, "src_reweight": 0.5,
                            "trg_reweight": 0.5, "src_dewhiten": "src", "trg_dewhiten": "trg", "dim_reduction": 0}
PRESETS: dict[str, dict[str, Any]] = {"vecmap-supervised": dict(DEFAULTS)}
OPTIONS = options_table("""
    whiten        bool  -            whiten both sides [whiten].
    src_reweight  float P            source dimensions times singular value^P [0.5].
    trg_reweight  float P            pivot dimensions times singular value^P [0.5].
    src_dewhiten  str   src|trg|none de-whiten the source with [src].
    trg_dewhiten  str   src|trg|none de-whiten the pivot with [trg].
    dim_reduction int   N            keep the first N shared dimensions, 0 = all [0].
""")
DEWHITEN = ("src", "trg", "none")
PAIR_BLOCK = 512  # pairs per block of the sums over many pairs: 1.2 MB in float64, reused from the heap


def whitening(X: np.ndarray) -> np.ndarray:
    """W with (X W)^T (X W) = I: W = (X^T X)^(-1/2) = V diag(1/sqrt(l)) V^T from X^T X = V diag(l) V^T (Artetxe
    2018, step 1; the eigendecomposition of the d x d Gram matrix, in float64, instead of the SVD of X)."""
    X = np.asarray(X, dtype=np.float64)
    return inverse_sqrt(X.T @ X)


def inverse_sqrt(G: np.ndarray) -> np.ndarray:
    """G^(-1/2) of a symmetric positive definite Gram matrix G = X^T X: the whitening of X."""
    values, V = np.linalg.eigh(G)
    return (V / np.sqrt(values)) @ V.T


def orthogonal_mapping(Xw: np.ndarray, Zw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wx, s, Wz with Xw^T Zw = Wx diag(s) Wz^T: both sides rotated into the basis where their cross-covariance is
    diagonal; s are the canonical correlations when both are whitened (Artetxe 2018, step 2)."""
    return rotations(np.asarray(Xw, dtype=np.float64).T @ np.asarray(Zw, dtype=np.float64))


def rotations(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wx, s, Wz with M = Wx diag(s) Wz^T (the SVD of a cross-covariance Xw^T Zw)."""
    U, s, Vt = np.linalg.svd(M)
    return U, s, Vt.T


def reweighting(s: np.ndarray, power: float) -> np.ndarray:
    """diag(s^power): dimension i of the shared space scaled by its singular value to the ``power`` (step 3)."""
    return np.diag(np.power(np.maximum(s, 0.0), power))


def dewhitening(W_whiten: np.ndarray, W_orth: np.ndarray) -> np.ndarray:
    """W_orth^T W_whiten^(-1) W_orth: undo a whitening, expressed in the rotated basis (step 4)."""
    return W_orth.T @ np.linalg.inv(W_whiten) @ W_orth


def multistep_maps(X: np.ndarray, Z: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Mx, Mz of the framework fitted on paired rows X (source) and Z (target), float64, both in the target's
    coordinates (the pair's common final rotation removed, so the maps of several pairs share one pivot basis)."""
    d = X.shape[1]
    Wx1 = whitening(X) if params["whiten"] else np.eye(d)
    Wz1 = whitening(Z) if params["whiten"] else np.eye(d)
    return combined_maps(Wx1, Wz1, orthogonal_mapping(X @ Wx1, Z @ Wz1), params)


def multistep_maps_of_rows(source: np.ndarray, src: np.ndarray, pivot: np.ndarray, tgt: np.ndarray,
                           params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``multistep_maps`` of the pairs (source[src[r]], pivot[tgt[r]]). Up to ``ONE_PRODUCT`` pairs (a dictionary)
    from the gathered rows; beyond (a self-learning round's induced pairs) from d x d sums over blocks of
    ``PAIR_BLOCK`` pairs, so that no [pairs, d] matrix is held (30,000 pairs: 72 MB per side in float64)."""
    if len(src) <= ONE_PRODUCT:
        return multistep_maps(source[src], pivot[tgt], params)
    d = source.shape[1]
    Wx1 = inverse_sqrt(cross_covariance(source, src, source, src, PAIR_BLOCK)) if params["whiten"] else np.eye(d)
    Wz1 = inverse_sqrt(cross_covariance(pivot, tgt, pivot, tgt, PAIR_BLOCK)) if params["whiten"] else np.eye(d)
    M = np.zeros((d, pivot.shape[1]))
    for start in range(0, len(src), PAIR_BLOCK):
        pairs = slice(start, start + PAIR_BLOCK)
        M += (source[src[pairs]] @ Wx1).T @ (pivot[tgt[pairs]] @ Wz1)
    return combined_maps(Wx1, Wz1, rotations(M), params)


def combined_maps(Wx1: np.ndarray, Wz1: np.ndarray, orthogonal: tuple[np.ndarray, np.ndarray, np.ndarray],
                  params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-5 after the whitenings Wx1, Wz1 and the orthogonal mapping (Wx2, s, Wz2): Mx, Mz in the target's
    coordinates."""
    Wx2, s, Wz2 = orthogonal
    d = Wx1.shape[0]
    Mx = Wx1 @ Wx2 @ reweighting(s, params["src_reweight"])
    Mz = Wz1 @ Wz2 @ reweighting(s, params["trg_reweight"])
    whitenings = {"src": (Wx1, Wx2), "trg": (Wz1, Wz2)}
    if params["src_dewhiten"] != "none":
        Mx = Mx @ dewhitening(*whitenings[params["src_dewhiten"]])
    if params["trg_dewhiten"] != "none":
        Mz = Mz @ dewhitening(*whitenings[params["trg_dewhiten"]])
    k = int(params["dim_reduction"]) if 0 < int(params["dim_reduction"]) < d else d
    back = Wz2[:, :k].T  # the shared basis -> the target's coordinates (rank k after a reduction)
    return Mx[:, :k] @ back, Mz[:, :k] @ back


def check_params(params: dict[str, Any]) -> None:
    for key in ("src_dewhiten", "trg_dewhiten"):
        if params[key] not in DEWHITEN:
            raise InputError(f"--{key.replace('_', '-')} must be one of {', '.join(DEWHITEN)}")


def fit_multistep(problem: Problem, params: dict[str, Any]) -> Fitted:
    """The framework for every language at once: each language by its own pair's map, the pivot by the mean of the
    pairs' pivot transforms. The maps need only the dictionary rows; the languages are then mapped one at a time."""
    check_params(params)
    pivot = problem.matrices[problem.pivot]
    maps = {}
    for lang in problem.others:
        src, tgt = problem.pairs(lang)
        maps[lang] = multistep_maps_of_rows(problem.matrices[lang], src, pivot, tgt, params)
    T = np.mean([Mz for _, Mz in maps.values()], axis=0)
    # the maps are fitted in float64 and applied in float32 (as VecMap does): no float64 copy of a language
    matrices = problem.new_matrices()
    matrices[problem.pivot] = pivot @ T.astype(np.float32)
    del pivot
    for lang, (Mx, _) in maps.items():
        matrices[lang] = problem.matrices[lang] @ Mx.astype(np.float32)
    fit = {lang: {"pairs": int(len(problem.pairs(lang)[0]))} for lang in problem.others}
    return Fitted(matrices, fit)
