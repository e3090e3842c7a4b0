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

from dataclasses import dataclass
from typing import Any

import numpy as np

from cltc_tools.align.multistep import DEFAULTS as MULTISTEP
from cltc_tools.align.multistep import OPTIONS as MULTISTEP_OPTIONS
from cltc_tools.align.multistep import fit_multistep
from cltc_tools.align.problem import Fitted, Matrices, Problem, SpilledMatrices
from cltc_tools.align.procrustes import cross_covariance, reduced_map
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
CHUNK = 64  # query rows per block: a [64, vocabulary] block of similarities at a time (the same bytes as 128)


def unit_rows_(X: torch.Tensor) -> torch.Tensor:
    """Every row of X scaled to unit length, in place."""
    return X.div_(X.norm(dim=1, keepdim=True).clamp_min(1e-12))


def owned_rows(matrices: Matrices, lang: str) -> torch.Tensor:
    """A float32 tensor of a language's rows that the fit may overwrite: the fresh array of a spilled matrix, or a
    copy of one held in memory."""
    array = matrices[lang]
    if not isinstance(matrices, SpilledMatrices) or array.dtype != np.float32 or not array.flags.writeable:
        array = np.array(array, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(array))


def similarity_buffer(queries: int, keys: int, dtype: torch.dtype) -> torch.Tensor:
    """Room for one block of similarities of ``CHUNK`` query rows (fewer if there are fewer) with ``keys`` rows."""
    return torch.empty(min(CHUNK, queries) * keys, dtype=dtype)


def neighbourhood(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, k: int,
                  buffer: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, over its k most similar key rows: the mean of their ``values`` rows and the mean
    similarity. Blocks of ``CHUNK`` query rows in ``buffer``, so no [n, vocabulary] matrix is kept."""
    if buffer is None:
        buffer = similarity_buffer(len(queries), len(keys), keys.dtype)
    means = torch.empty(len(queries), values.shape[1], dtype=values.dtype)
    sims = torch.empty(len(queries), dtype=keys.dtype)
    for start in range(0, len(queries), CHUNK):
        block = slice(start, start + CHUNK)
        rows = queries[block]
        scores = torch.mm(rows, keys.T, out=buffer[: len(rows) * len(keys)].view(len(rows), len(keys)))
        top, where = k_largest(scores, min(k, len(keys)))
        torch.mean(values[where], dim=1, out=means[block])
        torch.mean(top, dim=1, out=sims[block])
    return means, sims


@dataclass(frozen=True)
class PairSums:
    """Training pairs (a_r, b_r), r = 1..n, as the loss needs them: each distinct source row and each distinct
    target row once, with how many pairs hold it, and C = sum_r a_r^T b_r. A word with several translations is
    then searched once, and no [n, d] matrix of pairs is kept."""

    sources: torch.Tensor
    source_counts: torch.Tensor
    targets: torch.Tensor
    target_counts: torch.Tensor
    cross: torch.Tensor
    n: int


def pair_sums(X: torch.Tensor, src: np.ndarray, Z: torch.Tensor, tgt: np.ndarray) -> PairSums:
    """The pairs (X[src[r]], Z[tgt[r]]) as ``PairSums``."""
    s, s_counts = np.unique(src, return_counts=True)
    t, t_counts = np.unique(tgt, return_counts=True)
    cross = cross_covariance(X.numpy(), src, Z.numpy(), tgt)
    return PairSums(X[torch.from_numpy(s)], torch.from_numpy(s_counts).to(X.dtype), Z[torch.from_numpy(t)],
                    torch.from_numpy(t_counts).to(Z.dtype), torch.from_numpy(cross).to(X.dtype), len(src))


def rcsls_loss_and_grad(W: torch.Tensor, pairs: PairSums, XN: torch.Tensor, ZN: torch.Tensor, k: int,
                        buffer: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    """The relaxed CSLS loss of the pairs under W and its sub-gradient (Joulin et al. 2018, eq. 4).

    sum_r <a_r W, b_r> = <W, C>; the neighbourhood terms depend on one side of a pair only, so they are computed
    for each distinct row and weighted by its count. The source rows nearest to a target row b under the map are
    searched as the rows x nearest to b W^T (<x W, b> = <x, b W^T>), so the source vocabulary is never mapped."""
    near_z, sim_z = neighbourhood(pairs.sources @ W, ZN, ZN, k, buffer)  # targets nearest to each mapped source
    toward_z = pairs.sources.T @ near_z.mul_(pairs.source_counts[:, None])  # weighted in place: one side at a time
    del near_z
    near_x, sim_x = neighbourhood(pairs.targets @ W.T, XN, XN, k, buffer)  # sources whose image is nearest
    toward_x = near_x.mul_(pairs.target_counts[:, None]).T @ pairs.targets
    del near_x
    loss = (-2 * (W * pairs.cross).sum() + pairs.source_counts @ sim_z + pairs.target_counts @ sim_x) / pairs.n
    grad = (-2 * pairs.cross + toward_z + toward_x) / pairs.n
    return float(loss), grad


def project(W: torch.Tensor, constraint: str) -> torch.Tensor:
    """Onto the unit ball of the spectral norm (singular values clipped to [0, 1]) or the orthogonal matrices."""
    U, s, Vt = torch.linalg.svd(W.double())
    s = torch.ones_like(s) if constraint == "orthogonal" else s.clamp(0.0, 1.0)
    return ((U * s) @ Vt).to(W.dtype)


def rcsls(pairs: PairSums, XN: torch.Tensor, ZN: torch.Tensor, W: torch.Tensor, params: dict[str, Any]
          ) -> tuple[torch.Tensor, list[float]]:
    """Full-batch projected sub-gradient descent on the RCSLS loss from W; returns W and the loss of each step."""
    lr, k, constraint = float(params["rcsls_lr"]), int(params["rcsls_k"]), params["rcsls_constraint"]
    buffer = similarity_buffer(max(len(pairs.sources), len(pairs.targets)), max(len(XN), len(ZN)), XN.dtype)
    loss, grad = rcsls_loss_and_grad(W, pairs, XN, ZN, k, buffer)
    history = [loss]
    for _ in range(int(params["rcsls_steps"])):
        while lr >= 1e-4:
            candidate = project(W - lr * grad, constraint)
            new_loss, new_grad = rcsls_loss_and_grad(candidate, pairs, XN, ZN, k, buffer)
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
    pivot = unit_rows_(owned_rows(start, problem.pivot))
    ZN = pivot[:params["rcsls_negatives"]]
    matrices, fit = problem.new_matrices(), {}
    matrices[problem.pivot] = pivot.numpy()
    for lang in problem.others:
        X = unit_rows_(owned_rows(start, lang))
        src, tgt = problem.pairs(lang)
        pairs = pair_sums(X, src, pivot, tgt)
        W0 = (torch.eye(X.shape[1]) if params["rcsls_init"] == "multistep"
              else torch.from_numpy(reduced_map(cross_covariance(X.numpy(), src, pivot.numpy(), tgt), None)[0]
                                    .astype(np.float32)))
        with problem.progress(f"rcsls {lang}-{problem.pivot}", int(params["rcsls_steps"])):
            W, history = rcsls(pairs, X[:params["rcsls_negatives"]], ZN, W0, params)
        del pairs
        matrices[lang] = mapped_in_place(X, W).numpy()
        del X
        fit[lang] = {"pairs": int(len(src)), "loss": [round(x, 6) for x in history]}
    return Fitted(matrices, fit)


def mapped_in_place(X: torch.Tensor, W: torch.Tensor, block: int = 4096) -> torch.Tensor:
    """X W written over X, ``block`` rows at a time (the same values as ``X @ W``, without a second matrix)."""
    for begin in range(0, len(X), block):
        X[begin:begin + block] = X[begin:begin + block] @ W
    return X
