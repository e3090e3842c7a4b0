"""Canonical correlation analysis on dictionary pairs, extended to many languages with English as the pivot.

Faruqui & Dyer 2014 ("Improving vector space word representations using multilingual correlation") project two
languages into the space where their translation pairs are maximally correlated; Ammar et al. 2016 ("Massively
multilingual word embeddings", multiCCA) extend it to many languages through English: for each language m, CCA
between m and English on their dictionary gives projections A_m (m -> the en-m CCA space) and B_m (en -> the same
space), and m is carried into English's own space by A_m B_m^-1 (their script ``project_vectors_to_lang2.m``
computes exactly ``(X - mean) * A * inv(B)`` and leaves English as it is).

``--cca-space pivot`` (default, multiCCA): x -> (x - mean_m) A_m B_m^-1 + mean_en, English unchanged. Adding the
English mean back makes the map the exact inverse of English's CCA projection; Ammar et al.'s script omits it,
which only matters for uncentred English vectors (it vanishes after ``--normalize unit,center``).

``--cca-space cca``: every language in the CCA space of English and the first non-pivot language (Faruqui &
Dyer's shared space, generalised): English by (y - mean_en) B_1, language m by (x - mean_m) A_m B_m^-1 B_1, i.e.
into English's space as above and on with English's projection of the first pair.

``--cca-ratio r`` keeps the ceil(r d) most correlated canonical directions (Faruqui & Dyer's ratio): in the cca
space the output has that many dimensions, in the pivot space the map goes through them (rank ceil(r d)).
The means are those of each language's whole vocabulary, as in both authors' scripts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.errors import InputError
from cltc_tools.registry import options_table

SPACES = ("pivot", "cca")
DEFAULTS: dict[str, Any] = {"cca_space": "pivot", "cca_ratio": 1.0, "cca_ridge": 1e-5}
# Ammar et al.'s multiCCA: every vector normalised to unit length (normr), all dimensions, English's space.
PAPER: dict[str, Any] = {"cca_space": "pivot", "cca_ratio": 1.0, "normalize": ["unit"]}
OPTIONS = options_table("""
    cca_space str   pivot|cca target space [pivot].
    cca_ratio float R         share of canonical directions kept [1].
    cca_ridge float R         ridge added to the covariances, times their mean variance [1e-5].
""")


@dataclass(frozen=True)
class CCA:
    """Projections A (of X) and B (of Y), canonical correlations (decreasing), and the means the pairs had."""

    A: np.ndarray
    B: np.ndarray
    B_inverse: np.ndarray
    correlations: np.ndarray
    mean_x: np.ndarray
    mean_y: np.ndarray


def covariance(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Sample cross-covariance of two centred paired matrices."""
    return X.T @ Y / max(1, len(X) - 1)


def regularised(C: np.ndarray, ridge: float) -> np.ndarray:
    """C + ridge * mean variance * I: keeps the whitening finite when C is (nearly) singular."""
    return C + ridge * max(float(np.trace(C)) / len(C), 1e-12) * np.eye(len(C))


def symmetric_power(C: np.ndarray, power: float) -> np.ndarray:
    """C^power for a symmetric positive definite C, by its eigendecomposition (eigh)."""
    values, vectors = np.linalg.eigh(C)
    values = np.maximum(values, values.max() * 1e-15)
    return (vectors * values**power) @ vectors.T


def cca(X: np.ndarray, Y: np.ndarray, ridge: float = 1e-5) -> CCA:
    """A, B such that the columns of (X - mean) A and (Y - mean) B have unit variance and are correlated pairwise
    by the canonical correlations, largest first: Hotelling 1936, by whitening (Cxx^-1/2 Cxy Cyy^-1/2 = U S V^T,
    A = Cxx^-1/2 U, B = Cyy^-1/2 V) with a ridge added to both covariances (Vinod 1976, regularised CCA)."""
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y) or X.shape[1] != Y.shape[1]:
        raise ValueError(f"cca needs two paired [n, d] matrices, got {X.shape} and {Y.shape}")
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    mean_x, mean_y = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mean_x, Y - mean_y
    Cyy = regularised(covariance(Yc, Yc), ridge)
    Wx = symmetric_power(regularised(covariance(Xc, Xc), ridge), -0.5)
    Wy = symmetric_power(Cyy, -0.5)
    U, S, Vt = np.linalg.svd(Wx @ covariance(Xc, Yc) @ Wy)
    B_inverse = Vt @ symmetric_power(Cyy, 0.5)
    return CCA(Wx @ U, Wy @ Vt.T, B_inverse, np.clip(S, 0.0, 1.0), mean_x, mean_y)


def kept_dims(ratio: float, dim: int) -> int:
    """ceil(ratio * dim) canonical directions, at least one."""
    if not 0 < ratio <= 1:
        raise InputError(f"--cca-ratio must be in (0, 1] (got {ratio})")
    return max(1, math.ceil(ratio * dim - 1e-9))


def to_pivot(X: np.ndarray, fitted: CCA, k: int, pivot_mean: np.ndarray) -> np.ndarray:
    """multiCCA: (X - mean) A_k B^-1_k + pivot mean, the language in the pivot's own coordinates."""
    mean = X.mean(axis=0, dtype=np.float64)
    return ((X - mean) @ fitted.A[:, :k] @ fitted.B_inverse[:k] + pivot_mean).astype(np.float32)


def correlation_summary(correlations: np.ndarray) -> dict[str, float]:
    return {"first": round(float(correlations[0]), 4), "median": round(float(np.median(correlations)), 4),
            "last": round(float(correlations[-1]), 4)}


def fit_multicca(problem: Problem, params: dict[str, Any]) -> Fitted:
    """Every language in English's space (multiCCA) or in the CCA space of the first pair (``cca_space``)."""
    if params["cca_space"] not in SPACES:
        raise InputError(f"unknown --cca-space {params['cca_space']!r} (known: {', '.join(SPACES)})")
    Y = problem.matrices[problem.pivot]
    pivot_mean = Y.mean(axis=0, dtype=np.float64)
    k = kept_dims(params["cca_ratio"], Y.shape[1])
    matrices = dict(problem.matrices)
    fit: dict[str, Any] = {}
    first: CCA | None = None
    for lang in problem.others:
        src, tgt = problem.pairs(lang)
        fitted = cca(matrices[lang][src], Y[tgt], params["cca_ridge"])
        first = first or fitted
        if params["cca_space"] == "pivot":
            matrices[lang] = to_pivot(matrices[lang], fitted, k, pivot_mean)
        else:
            full = to_pivot(matrices[lang], fitted, len(fitted.A), pivot_mean)
            matrices[lang] = ((full - pivot_mean) @ first.B[:, :k]).astype(np.float32)
        fit[lang] = {"pairs": int(len(src)), "kept_dims": k, "correlations": correlation_summary(fitted.correlations)}
    if params["cca_space"] == "cca" and first is not None:
        matrices[problem.pivot] = ((Y - pivot_mean) @ first.B[:, :k]).astype(np.float32)
    return Fitted(matrices, fit)
