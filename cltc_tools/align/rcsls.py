"""RCSLS (Joulin et al. 2018, "Loss in Translation: Learning Bilingual Word Mapping with a Retrieval Criterion"):
learn the map by minimising the relaxed CSLS loss of the dictionary pairs, by full-batch gradient descent.

For pairs (a_r, b_r) and a map W the loss is
    L(W) = 1/n sum_r [ -2 <a_r W, b_r> + 1/k sum_{z in N_k(a_r W)} <a_r W, z> + 1/k sum_{x in N_k(b_r)} <x W, b_r> ]
where N_k(a_r W) are the k target rows (of the first ``negatives``) nearest to the mapped source row and N_k(b_r)
the k mapped source rows nearest to the target row. Neighbours are fixed within a step (a sub-gradient), the step
size halves when the loss rises (the step is then taken again from the previous W), and after each step W is
projected onto the unit ball of the spectral norm (singular values clipped to [0, 1]) or onto the orthogonal
matrices. Rows are unit length. The map starts from the identity on spaces that another method has already
aligned (``init multistep``: the pivot transformed once by the multi-step framework, see ``multistep.py``) or from
orthogonal Procrustes (``init procrustes``, Joulin et al.'s setting).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cltc_tools.align.multistep import DEFAULTS as MULTISTEP
from cltc_tools.align.multistep import OPTIONS as MULTISTEP_OPTIONS
from cltc_tools.align.multistep import fit_multistep
from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.translation import k_largest
from cltc_tools.errors import InputError
from cltc_tools.registry import deferred_import, options_table

torch = deferred_import("torch")  # imported when a fit runs, so that --help stays fast

# Chosen on a held-out fifth of the source words of the MUSE 0-5000 training dictionaries (never the test
# dictionaries), mean CSLS P@1 over de-en, fr-en, it-en; see docs/ALIGNMENT.md.
DEFAULTS: dict[str, Any] = {**MULTISTEP, "rcsls_init": "multistep", "rcsls_lr": 4.0, "rcsls_steps": 5,
                            "rcsls_negatives": 30000, "rcsls_k": 10, "rcsls_constraint": "spectral"}
PRESETS: dict[str, dict[str, Any]] = {
    # Joulin et al.'s setting: Procrustes start on unit-length vectors (their code centres and normalises).
    "joulin": {"normalize": ["unit", "center", "unit"], "rcsls_init": "procrustes", "rcsls_lr": 1.0,
               "rcsls_steps": 10, "rcsls_negatives": 30000, "rcsls_k": 10, "rcsls_constraint": "spectral"},
}
OPTIONS = MULTISTEP_OPTIONS + options_table("""
    rcsls_init       str   multistep|procrustes start from [multistep].
    rcsls_lr         float LR                   first step size [4].
    rcsls_steps      int   N                    gradient steps [5].
    rcsls_negatives  int   N                    neighbours among the first N words of each side [30000].
    rcsls_k          int   K                    neighbours in the loss [10].
    rcsls_constraint str   spectral|orthogonal  projection after each step [spectral].
""")
CHUNK = 256  # query rows per block: a [256, vocabulary] block of similarities at a time


def unit_rows(X: torch.Tensor) -> torch.Tensor:
    return X / X.norm(dim=1, keepdim=True).clamp_min(1e-12)


def neighbourhood(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                  k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, over its k most similar key rows: the mean of their ``values`` rows and the mean
    similarity (blocks of query rows, so no [n, vocabulary] matrix is kept). A row that repeats (a word with several
    translations) is searched once."""
    distinct, inverse = torch.unique(queries, dim=0, return_inverse=True)
    means, sims = [], []
    buffer = torch.empty(min(CHUNK, len(distinct)) * len(keys), dtype=keys.dtype)  # reused: no page faults per block
    for start in range(0, len(distinct), CHUNK):
        rows = distinct[start:start + CHUNK]
        scores = torch.mm(rows, keys.T, out=buffer[: len(rows) * len(keys)].view(len(rows), len(keys)))
        top, where = k_largest(scores, min(k, len(keys)))
        means.append(values[where].mean(dim=1))
        sims.append(top.mean(dim=1))
    return torch.cat(means)[inverse], torch.cat(sims)[inverse]


def rcsls_loss_and_grad(W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, XN: torch.Tensor, ZN: torch.Tensor,
                        k: int) -> tuple[float, torch.Tensor]:
    """The relaxed CSLS loss of the pairs (A, B) under W and its sub-gradient (Joulin et al. 2018, eq. 4)."""
    AW = A @ W
    near_z, sim_z = neighbourhood(AW, ZN, ZN, k)  # target rows nearest to each mapped source row
    near_x, sim_x = neighbourhood(B, XN @ W, XN, k)  # source rows whose image is nearest to each target row
    loss = (-2 * (AW * B).sum() + sim_z.sum() + sim_x.sum()) / len(A)
    grad = (-2 * A.T @ B + A.T @ near_z + near_x.T @ B) / len(A)
    return float(loss), grad


def project(W: torch.Tensor, constraint: str) -> torch.Tensor:
    """Onto the unit ball of the spectral norm (singular values clipped to [0, 1]) or the orthogonal matrices."""
    U, s, Vt = torch.linalg.svd(W.double())
    s = torch.ones_like(s) if constraint == "orthogonal" else s.clamp(0.0, 1.0)
    return ((U * s) @ Vt).to(W.dtype)


def rcsls(A: torch.Tensor, B: torch.Tensor, XN: torch.Tensor, ZN: torch.Tensor, W: torch.Tensor,
          params: dict[str, Any]) -> tuple[torch.Tensor, list[float]]:
    """Full-batch projected sub-gradient descent on the RCSLS loss from W; returns W and the loss of each step."""
    lr, k, constraint = float(params["rcsls_lr"]), int(params["rcsls_k"]), params["rcsls_constraint"]
    loss, grad = rcsls_loss_and_grad(W, A, B, XN, ZN, k)
    history = [loss]
    for _ in range(int(params["rcsls_steps"])):
        while lr >= 1e-4:
            candidate = project(W - lr * grad, constraint)
            new_loss, new_grad = rcsls_loss_and_grad(candidate, A, B, XN, ZN, k)
            if new_loss <= loss:
                W, loss, grad = candidate, new_loss, new_grad
                break
            lr /= 2  # the loss rose: a smaller step from the same W
        history.append(loss)
        if lr < 1e-4:
            break
    return W, history


def check_params(params: dict[str, Any]) -> None:
    if params["rcsls_init"] not in ("multistep", "procrustes"):
        raise InputError("--rcsls-init must be multistep or procrustes")
    if params["rcsls_constraint"] not in ("spectral", "orthogonal"):
        raise InputError("--rcsls-constraint must be spectral or orthogonal")
    if params["rcsls_k"] < 1 or params["rcsls_negatives"] < 1 or params["rcsls_steps"] < 0:
        raise InputError("--rcsls-k and --rcsls-negatives must be at least 1, --rcsls-steps at least 0")


def fit_rcsls(problem: Problem, params: dict[str, Any]) -> Fitted:
    """Every non-pivot language mapped onto the pivot by RCSLS, one at a time; the pivot as the initialisation
    left it."""
    check_params(params)
    start = fit_multistep(problem, params).matrices if params["rcsls_init"] == "multistep" else problem.matrices
    torch.manual_seed(problem.seed)
    pivot = unit_rows(torch.from_numpy(np.ascontiguousarray(start[problem.pivot], dtype=np.float32)))
    ZN = pivot[:params["rcsls_negatives"]]
    matrices, fit = problem.new_matrices(), {}
    matrices[problem.pivot] = pivot.numpy()
    for lang in problem.others:
        X = unit_rows(torch.from_numpy(np.ascontiguousarray(start[lang], dtype=np.float32)))
        src, tgt = (torch.from_numpy(rows) for rows in problem.pairs(lang))
        A, B = X[src], pivot[tgt]
        W0 = (torch.eye(X.shape[1]) if params["rcsls_init"] == "multistep"
              else torch.from_numpy(procrustes(A.numpy(), B.numpy()).astype(np.float32)))
        with problem.progress(f"rcsls {lang}-{problem.pivot}", int(params["rcsls_steps"])):
            W, history = rcsls(A, B, X[:params["rcsls_negatives"]], ZN, W0, params)
        del A, B
        matrices[lang] = mapped_in_place(X, W).numpy()
        del X
        fit[lang] = {"pairs": int(len(src)), "loss": [round(x, 6) for x in history]}
    return Fitted(matrices, fit)


def mapped_in_place(X: torch.Tensor, W: torch.Tensor, block: int = 4096) -> torch.Tensor:
    """X W written over X, ``block`` rows at a time (the same values as ``X @ W``, without a second matrix)."""
    for begin in range(0, len(X), block):
        X[begin:begin + block] = X[begin:begin + block] @ W
    return X
