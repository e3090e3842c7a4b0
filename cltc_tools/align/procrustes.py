"""Orthogonal Procrustes: the rotation that best maps source rows onto their translations."""

from __future__ import annotations

import numpy as np


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Orthogonal W minimising ||XW - Y||_F over paired rows: W = U V^T, U S V^T = svd(X^T Y).

    Schönemann 1966, "A generalized solution of the orthogonal Procrustes problem"; Smith et al. 2017.
    """
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError(f"procrustes needs two paired [n, d] matrices, got {X.shape} and {Y.shape}")
    M = np.asarray(X, dtype=np.float64).T @ np.asarray(Y, dtype=np.float64)
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt
