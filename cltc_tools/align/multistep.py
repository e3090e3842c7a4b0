"""The multi-step framework of supervised mapping (Artetxe et al. 2018, AAAI, "Generalizing and improving bilingual
word embedding mappings with a multi-step framework of linear transformations"), VecMap's ``--supervised``.

Steps, each a function below, applied to the dictionary rows X_D (source) and Z_D (target) after normalisation:
whitening of both sides, orthogonal mapping of the whitened rows, re-weighting of the shared dimensions by a power
of their singular values (canonical correlations), de-whitening of each side with its own or the other side's
whitening, and optional dimensionality reduction. Source rows become X Mx and target rows Z Mz; both sides move.

More than two languages land in ONE space: the pivot is transformed once. Each non-pivot language is first
rotated onto the pivot by its own orthogonal Procrustes map; in those pivot coordinates the languages are pooled
as one source side (their dictionary rows stacked) and the framework is fitted once between the pooled source and
the pivot, so every language gets Q_l Mx and the pivot Mz. With one non-pivot language this is exactly VecMap's
result (the framework is equivariant under a rotation of the source, so Q cancels). Compared with fitting each
pair on its own (which would transform the pivot differently for every pair), pooling costs CSLS P@1 on the shared
vectors (benchmarks/RESULTS.md, "Alignment quality").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.align.procrustes import procrustes
from cltc_tools.errors import InputError

# VecMap --supervised: --normalize unit center unit --whiten --src_reweight 0.5 --trg_reweight 0.5
# --src_dewhiten src --trg_dewhiten trg (map_embeddings.py); no dimensionality reduction.
DEFAULTS: dict[str, Any] = {"normalize": ["unit", "center", "unit"], "whiten": True, "src_reweight": 0.5,
                            "trg_reweight": 0.5, "src_dewhiten": "src", "trg_dewhiten": "trg", "dim_reduction": 0}
PRESETS: dict[str, dict[str, Any]] = {"vecmap-supervised": dict(DEFAULTS)}
DEWHITEN = ("src", "trg", "none")


def whitening(X: np.ndarray) -> np.ndarray:
    """W with (X W)^T (X W) = I: W = (X^T X)^(-1/2) = V diag(1/s) V^T from X = U diag(s) V^T (Artetxe 2018, step 1)."""
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=np.float64), full_matrices=False)
    return (Vt.T / s) @ Vt


def orthogonal_mapping(Xw: np.ndarray, Zw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wx, s, Wz with Xw^T Zw = Wx diag(s) Wz^T: both sides rotated into the basis where their cross-covariance is
    diagonal; s are the canonical correlations when both are whitened (Artetxe 2018, step 2)."""
    U, s, Vt = np.linalg.svd(np.asarray(Xw, dtype=np.float64).T @ np.asarray(Zw, dtype=np.float64))
    return U, s, Vt.T


def reweighting(s: np.ndarray, power: float) -> np.ndarray:
    """diag(s^power): dimension i of the shared space scaled by its singular value to the ``power`` (step 3)."""
    return np.diag(np.power(np.maximum(s, 0.0), power))


def dewhitening(W_whiten: np.ndarray, W_orth: np.ndarray) -> np.ndarray:
    """W_orth^T W_whiten^(-1) W_orth: undo a whitening, expressed in the rotated basis (step 4)."""
    return W_orth.T @ np.linalg.inv(W_whiten) @ W_orth


def multistep_maps(X: np.ndarray, Z: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Mx, Mz of the framework fitted on paired rows X (source) and Z (target), float64."""
    d = X.shape[1]
    Wx1 = whitening(X) if params["whiten"] else np.eye(d)
    Wz1 = whitening(Z) if params["whiten"] else np.eye(d)
    Wx2, s, Wz2 = orthogonal_mapping(X @ Wx1, Z @ Wz1)
    Mx = Wx1 @ Wx2 @ reweighting(s, params["src_reweight"])
    Mz = Wz1 @ Wz2 @ reweighting(s, params["trg_reweight"])
    whitenings = {"src": (Wx1, Wx2), "trg": (Wz1, Wz2)}
    if params["src_dewhiten"] != "none":
        Mx = Mx @ dewhitening(*whitenings[params["src_dewhiten"]])
    if params["trg_dewhiten"] != "none":
        Mz = Mz @ dewhitening(*whitenings[params["trg_dewhiten"]])
    k = int(params["dim_reduction"])
    return (Mx[:, :k], Mz[:, :k]) if 0 < k < d else (Mx, Mz)


def check_params(params: dict[str, Any]) -> None:
    for key in ("src_dewhiten", "trg_dewhiten"):
        if params[key] not in DEWHITEN:
            raise InputError(f"--{key.replace('_', '-')} must be one of {', '.join(DEWHITEN)}")


def pooled_rows(problem: Problem) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every non-pivot language rotated onto the pivot (orthogonal Procrustes on its pairs), and the stacked
    (source, pivot) dictionary rows in those coordinates."""
    pivot = problem.matrices[problem.pivot]
    rotated, xs, zs = {}, [], []
    for lang in problem.others:
        src, tgt = problem.pairs(lang)
        rotated[lang] = problem.matrices[lang] @ procrustes(problem.matrices[lang][src], pivot[tgt])
        xs.append(rotated[lang][src])
        zs.append(pivot[tgt])
    return rotated, np.concatenate(xs), np.concatenate(zs)


def fit_multistep(problem: Problem, params: dict[str, Any]) -> Fitted:
    """The framework for every language at once: the pivot transformed once, from the pooled pairs."""
    check_params(params)
    rotated, X, Z = pooled_rows(problem)
    Mx, Mz = multistep_maps(X, Z, params)
    matrices = {problem.pivot: (problem.matrices[problem.pivot] @ Mz).astype(np.float32)}
    matrices.update({lang: (rotated[lang] @ Mx).astype(np.float32) for lang in problem.others})
    fit = {lang: {"pairs": int(len(problem.pairs(lang)[0]))} for lang in problem.others}
    return Fitted({lang: matrices[lang] for lang in problem.order}, fit)
