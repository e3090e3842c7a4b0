"""Orthogonal Procrustes: the rotation that best maps source rows onto their translations, optionally reduced."""

from __future__ import annotations

from typing import Any

import numpy as np

from cltc_tools.align.problem import Fitted, Problem, SpilledMatrices, carry
from cltc_tools.registry import options_table

MAP_ROWS = 4096  # rows mapped at a time, and pairs per block of a large cross-covariance
ONE_PRODUCT = 12288  # up to this many pairs X^T Y is one product of the gathered pairs (beyond: blocks of MAP_ROWS)
DEFAULTS: dict[str, Any] = {"sv_threshold": None}
# Appendix A: SVD with the singular values above 1 kept; Smith et al.'s code learns on unit-length vectors.
PAPER: dict[str, Any] = {"sv_threshold": 1.0, "normalize": ["unit"]}
OPTIONS = options_table("""
    sv_threshold float T keep singular values > T [all; paper: 1].
""")


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Orthogonal W minimising ||XW - Y||_F over paired rows: W = U V^T, U S V^T = svd(X^T Y).

    Schönemann 1966, "A generalized solution of the orthogonal Procrustes problem"; Smith et al. 2017.
    """
    W, _ = reduced_procrustes(X, Y, None)
    return W


def reduced_procrustes(X: np.ndarray, Y: np.ndarray, threshold: float | None) -> tuple[np.ndarray, int]:
    """W = U_k V_k^T from the k singular directions of X^T Y = U S V^T whose singular value exceeds ``threshold``.

    M'hamdi et al. 2019, Appendix A ("keeping only the first rows in U and V which correspond to large values in
    the diagonal matrix", threshold 1); Smith et al. 2017, section 3. In the paper's column notation
    M = Y_D^T X_D, W x ~ y; here rows are words, so the same map is x -> x W with W = U_k V_k^T.

    How it is applied: each source vector is projected onto the k source directions most correlated with the
    pivot (U_k), and those coordinates are carried onto their pivot counterparts (V_k); its component along the
    dropped directions is discarded. The pivot language itself is left whole: with several languages every pair
    has its own retained subspace, and an unreduced English is the one coordinate system they all share. W is a
    partial isometry (W W^T W = W, rank k); when every singular value exceeds the threshold (or it is None) it is
    the orthogonal Procrustes map. Singular values grow with the number of pairs and the vector norms (unit
    vectors, 5000 pairs: up to thousands), so threshold 1 drops only near-degenerate directions. At least one
    direction is always kept. Returns W and k.
    """
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError(f"procrustes needs two paired [n, d] matrices, got {X.shape} and {Y.shape}")
    return reduced_map(np.asarray(X, dtype=np.float64).T @ np.asarray(Y, dtype=np.float64), threshold)


def reduced_map(M: np.ndarray, threshold: float | None) -> tuple[np.ndarray, int]:
    """W = U_k V_k^T and k from the cross-covariance M = X^T Y (see ``reduced_procrustes``)."""
    U, S, Vt = np.linalg.svd(M)
    kept = len(S) if threshold is None else max(1, int((S > threshold).sum()))
    return U[:, :kept] @ Vt[:kept], kept


def cross_covariance(X: np.ndarray, src: np.ndarray, Y: np.ndarray, tgt: np.ndarray, block: int | None = None
                     ) -> np.ndarray:
    """X[src]^T Y[tgt] in float64: one product of the gathered pairs when there are at most ``ONE_PRODUCT`` of
    them, else a sum over blocks of ``block`` (default ``MAP_ROWS``) pairs, so that no more than a block of pairs is
    held in float64 (a self-learning round's induced dictionary has tens of thousands of pairs)."""
    if len(src) <= ONE_PRODUCT:
        return gathered(X, src).T @ gathered(Y, tgt)
    M = np.zeros((X.shape[1], Y.shape[1]))
    block = block or MAP_ROWS
    for start in range(0, len(src), block):
        pairs = slice(start, start + block)
        M += X[src[pairs]].astype(np.float64).T @ Y[tgt[pairs]].astype(np.float64)
    return M


def gathered(X: np.ndarray, rows: np.ndarray, block: int = MAP_ROWS) -> np.ndarray:
    """X[rows] in float64, gathered ``block`` rows at a time (no float32 copy of the pairs on the way)."""
    out = np.empty((len(rows), X.shape[1]), dtype=np.float64)
    for start in range(0, len(rows), block):
        out[start:start + block] = X[rows[start:start + block]]
    return out


def mapped(X: np.ndarray, W: np.ndarray, block: int = MAP_ROWS, in_place: bool = False) -> np.ndarray:
    """X W computed in W's precision and returned in float32, ``block`` rows at a time (no copy of X in float64;
    the same bytes as the product of the whole matrix); ``in_place``: written over X when it is a float32 matrix
    of W's width (each block is read before it is overwritten)."""
    over = in_place and X.dtype == np.float32 and X.shape[1] == W.shape[1] and X.flags.writeable
    out = X if over else np.empty((len(X), W.shape[1]), dtype=np.float32)
    for start in range(0, len(X), block):
        out[start:start + block] = X[start:start + block] @ W
    return out


def fit_procrustes(problem: Problem, params: dict[str, Any]) -> Fitted:
    """Every non-pivot language mapped onto the pivot by its own (reduced) Procrustes map; the pivot unchanged.
    One language at a time: its matrix is read, mapped, stored and dropped before the next."""
    matrices = problem.new_matrices()
    carry(matrices, problem.matrices, problem.pivot)
    fit: dict[str, Any] = {}
    pivot = problem.matrices[problem.pivot]
    for lang in problem.others:
        src, tgt = problem.pairs(lang)
        X = problem.matrices[lang]
        W, kept = reduced_map(cross_covariance(X, src, pivot, tgt), params["sv_threshold"])
        matrices[lang] = mapped(X, W, in_place=isinstance(problem.matrices, SpilledMatrices))  # X: a fresh read
        del X
        fit[lang] = {"pairs": int(len(src)), "kept_dims": kept}
    return Fitted(matrices, fit)
