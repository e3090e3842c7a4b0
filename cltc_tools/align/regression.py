"""The linear map between two spaces that share words: multivariate least squares, exact or by SGD.

M'hamdi et al. 2019, Appendix B: the bilingual spaces EN-FR and EN-IT are brought into EN-DE by the matrix W*
minimising sum_i ||u_i - W* v_i||^2 over the English words both spaces hold (Frobenius norm), solved there with
Vowpal Wabbit's SGD, one output dimension at a time, 100 passes. Here rows are words, so the map is x -> x W,
fitted from the space being joined (EN-FR) to the base space (EN-DE): the map that is then applied to the French
vectors (the paper's equation writes the reverse direction but applies the map this way). No intercept, as the
paper's equation (Vowpal Wabbit would add a constant feature by default).
"""

from __future__ import annotations

import numpy as np

from cltc_tools.registry import deferred_import

torch = deferred_import("torch")

SOLVERS = ("lstsq", "sgd")


def least_squares_map(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """W minimising ||XW - Y||_F, the exact solution (numpy.linalg.lstsq, minimum norm if X is rank-deficient)."""
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"regression needs paired rows, got {X.shape} and {Y.shape}")
    W, *_ = np.linalg.lstsq(np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64), rcond=None)
    return W


def sgd_map(X: np.ndarray, Y: np.ndarray, passes: int = 100, batch: int = 1024, lr: float = 0.5,
            seed: int = 0) -> np.ndarray:
    """The same W by mini-batch stochastic gradient descent on (1/2)||xW - y||^2 from W = 0, with per-weight AdaGrad
    step sizes (Duchi et al. 2011; Vowpal Wabbit's default adaptive updates), ``passes`` shuffled passes."""
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"regression needs paired rows, got {X.shape} and {Y.shape}")
    generator = torch.Generator().manual_seed(seed)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    Yt = torch.as_tensor(np.asarray(Y, dtype=np.float32))
    W = torch.zeros(X.shape[1], Y.shape[1])
    squares = torch.zeros_like(W)
    for _ in range(passes):
        for rows in torch.randperm(len(Xt), generator=generator).split(batch):
            x, y = Xt[rows], Yt[rows]
            gradient = x.T @ (x @ W - y) / len(rows)
            squares += gradient.square()
            W -= lr * gradient / (squares.sqrt() + 1e-12)
    return W.double().numpy()


def solve_map(X: np.ndarray, Y: np.ndarray, solver: str, passes: int = 100, seed: int = 0) -> np.ndarray:
    """W by the named solver (``lstsq`` or ``sgd``)."""
    if solver == "lstsq":
        return least_squares_map(X, Y)
    if solver == "sgd":
        return sgd_map(X, Y, passes=passes, seed=seed)
    raise ValueError(f"unknown solver {solver!r}")


def relative_residual(X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> float:
    """||XW - Y||_F / ||Y||_F."""
    return float(np.linalg.norm(X @ W - Y) / max(np.linalg.norm(Y), 1e-12))
