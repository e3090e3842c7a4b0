"""Attract-Repel semantic specialisation (Mrksic et al. 2017, TACL), and the paper's multilingual join.

Attract-Repel fine-tunes word vectors so that synonyms (attract pairs, monolingual or cross-lingual) get closer
than each word is to its in-batch negative, and antonyms (repel pairs) get farther apart than each word is from
its in-batch negative, with an L2 pull towards the original vectors. As in the authors' TensorFlow code
(``nmrksic/attract-repel``, ``code/attract-repel.py``): mini-batches of 50 pairs, attract and repel batches in
shuffled order; for every word of a batch the negative is the most similar other word of the batch (attract) or
the least similar (repel), its own pair excluded, and half of the negatives are then replaced by a random word of
another pair of the batch (``mix_sampling``); costs on L2-normalised vectors, attract margin 0.6, repel margin 0.0,
L2 constant 1e-9 (the authors add it to every pair's cost, so it counts batch-size times), gradients clipped to
[-2, 2], AdaGrad with learning rate 0.05 (initial accumulator 0.1), 5 epochs; synonym pairs that are also antonym
pairs are dropped; the output vectors are unit length. Only words of some constraint move; every other word keeps
its (unit-length) input vector, so the output holds every input word.

Differences, all documented choices: the input vectors are scaled to unit length first (the L2 term compares
normalised vectors with the originals); the last, incomplete batch of each kind is kept (the original drops it)
unless it holds a single pair; randomness comes from ``--seed``.

The vocabulary (``--ar-vocab N``): as the original code, which reads a vectors file cut to its N most frequent
words, only constraints whose two words are among the first N words of their language are used (0: all words).

Multilingual spaces (M'hamdi et al. 2019, Appendix B, ``--join regression``): one bilingual space per non-English
language (EN-DE, EN-FR, EN-IT, each from the monolingual vectors and the constraints within its two languages),
then every other bilingual space is brought into the first one by the linear map that best carries its English
vectors onto the first space's English vectors (least squares over the English words both hold; exact, or SGD
as the paper's Vowpal Wabbit). English and the first language come from the first space. ``--join none`` runs
one Attract-Repel over all languages and constraints at once (Mrksic et al.'s multilingual setting).

``--ar-init procrustes`` (not in the paper) first maps every non-pivot language onto the pivot by Procrustes on
the --dict pairs, so that words without constraints are cross-lingual too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cltc_tools.align.constraints import ConstraintFile, Word, constraint_rows, parse_spec, read_constraints
from cltc_tools.align.problem import Advance, Fitted, Problem
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.regression import SOLVERS, relative_residual, solve_map
from cltc_tools.errors import InputError
from cltc_tools.registry import deferred_import, options_table

torch = deferred_import("torch")
F = deferred_import("torch.nn.functional")

JOINS = ("regression", "none")
INITS = ("none", "procrustes")
DEFAULTS: dict[str, Any] = {
    "attract": [], "repel": [], "attract_margin": 0.6, "repel_margin": 0.0, "ar_batch": 50, "ar_l2": 1e-9,
    "ar_epochs": 5, "ar_lr": 0.05, "ar_vocab": 0, "ar_init": "none", "join": "regression", "join_solver": "lstsq",
    "join_passes": 100,
}
# Mrksic et al. 2017's hyper-parameters (the defaults), joined as the paper did: regression by SGD, 100 passes.
PAPER: dict[str, Any] = {"join": "regression", "join_solver": "sgd", "join_passes": 100}
OPTIONS = options_table("""
    attract        list  FILE[:LANG]     synonym pairs (repeatable).
    repel          list  FILE[:LANG]     antonym pairs (repeatable).
    attract_margin float M               [0.6].
    repel_margin   float M               [0.0].
    ar_batch       int   N               pairs per batch [50].
    ar_l2          float C               L2 constant [1e-9].
    ar_epochs      int   N               epochs [5].
    ar_lr          float LR              AdaGrad rate [0.05].
    ar_vocab       int   N               constraints among the N most frequent words [0: all].
    ar_init        str   none|procrustes map onto the pivot first [none].
    join           str   regression|none join bilingual spaces [regression].
    join_solver    str   lstsq|sgd       regression solver [lstsq; paper: sgd].
    join_passes    int   N               SGD passes [100].
""")
ADAGRAD_START = 0.1
CLIP = 2.0


@dataclass(frozen=True)
class Hyper:
    attract_margin: float = 0.6
    repel_margin: float = 0.0
    batch: int = 50
    l2: float = 1e-9
    epochs: int = 5
    lr: float = 0.05

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Hyper:
        hyper = cls(params["attract_margin"], params["repel_margin"], params["ar_batch"], params["ar_l2"],
                    params["ar_epochs"], params["ar_lr"])
        if hyper.batch < 2 or hyper.epochs < 0 or hyper.lr <= 0:
            raise InputError("--ar-batch must be at least 2, --ar-epochs at least 0 and --ar-lr positive")
        return hyper


def unit(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def without_antonyms(attract: np.ndarray, repel: np.ndarray) -> np.ndarray:
    """Attract pairs that are not also repel pairs (the authors' post-processing)."""
    banned = {(int(a), int(b)) for a, b in repel}
    keep = [i for i, (a, b) in enumerate(attract) if (int(a), int(b)) not in banned]
    return attract[keep]


def epoch_batches(n_attract: int, n_repel: int, size: int, rng: np.random.Generator
                  ) -> list[tuple[bool, np.ndarray]]:
    """(is_attract, pair indices) batches of one epoch: both kinds shuffled, batches interleaved at random."""
    batches = []
    for attract, n in ((True, n_attract), (False, n_repel)):
        order = rng.permutation(n)
        batches += [(attract, order[i:i + size]) for i in range(0, n, size) if len(order[i:i + size]) >= 2]
    return [batches[i] for i in rng.permutation(len(batches))]


def in_batch_negatives(W: torch.Tensor, pairs: np.ndarray, attract: bool, rng: np.random.Generator) -> np.ndarray:
    """Each word's negative within the batch: the most (attract) or least (repel) similar other word, its own pair
    excluded; then each negative is swapped, with probability 1/2, for a random word of another pair."""
    words = pairs.reshape(-1)
    with torch.no_grad():
        V = F.normalize(W[torch.as_tensor(words)], dim=1)
        distance = 1 - V @ V.T
        own = torch.arange(len(words))
        distance[own, own] = 2.0 if attract else 0.0
        distance[own, own ^ 1] = 2.0 if attract else 0.0
        choice = (distance.argmin(dim=1) if attract else distance.argmax(dim=1)).numpy()
    negatives = words[choice].reshape(-1, 2)
    return mix_sampling(pairs, negatives, rng)


def mix_sampling(pairs: np.ndarray, negatives: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace each negative, with probability 1/2, by either word of a random other pair of the batch."""
    n = len(pairs)
    other = rng.integers(0, n - 1, size=negatives.shape)
    other += other >= np.arange(n)[:, None]
    random_words = pairs[other, rng.integers(0, 2, size=negatives.shape)]
    return np.where(rng.random(negatives.shape) < 0.5, random_words, negatives)


def attract_cost(left: torch.Tensor, right: torch.Tensor, neg_left: torch.Tensor, neg_right: torch.Tensor,
                 margin: float) -> torch.Tensor:
    """sum relu(margin + cos(x_l, t_l) - cos(x_l, x_r)) + relu(margin + cos(x_r, t_r) - cos(x_l, x_r))."""
    similar = (left * right).sum(dim=1)
    return (F.relu(margin + (left * neg_left).sum(dim=1) - similar)
            + F.relu(margin + (right * neg_right).sum(dim=1) - similar)).sum()


def repel_cost(left: torch.Tensor, right: torch.Tensor, neg_left: torch.Tensor, neg_right: torch.Tensor,
               margin: float) -> torch.Tensor:
    """sum relu(margin + cos(x_l, x_r) - cos(x_l, t_l)) + relu(margin + cos(x_l, x_r) - cos(x_r, t_r))."""
    similar = (left * right).sum(dim=1)
    return (F.relu(margin + similar - (left * neg_left).sum(dim=1))
            + F.relu(margin + similar - (right * neg_right).sum(dim=1))).sum()


def l2_cost(original: torch.Tensor, current: torch.Tensor, constant: float, times: int) -> torch.Tensor:
    """constant * ||original - current||^2 / 2, counted ``times`` (once per pair of the batch, as the authors)."""
    return constant * times * (original - current).square().sum() / 2


def batch_step(W: torch.Tensor, W0: torch.Tensor, squares: torch.Tensor, pairs: np.ndarray, negatives: np.ndarray,
               attract: bool, hyper: Hyper) -> float:
    """One AdaGrad step on the rows a batch touches; returns the batch cost."""
    ids, inverse = np.unique(np.concatenate([pairs, negatives]), return_inverse=True)
    rows = torch.as_tensor(ids)
    P = W[rows].clone().requires_grad_(True)
    V = F.normalize(P, dim=1)
    at = torch.as_tensor(inverse.reshape(-1, 2))
    n = len(pairs)
    left, right, neg_left, neg_right = V[at[:n, 0]], V[at[:n, 1]], V[at[n:, 0]], V[at[n:, 1]]
    if attract:
        cost = attract_cost(left, right, neg_left, neg_right, hyper.attract_margin)
    else:
        cost = repel_cost(left, right, neg_left, neg_right, hyper.repel_margin)
    original = W0[torch.as_tensor(pairs.reshape(-1))]
    cost = cost + l2_cost(original, torch.stack([left, right], dim=1).reshape(-1, W.shape[1]), hyper.l2, n)
    cost.backward()
    with torch.no_grad():
        gradient = P.grad.clamp(-CLIP, CLIP)
        squares[rows] += gradient.square()
        W[rows] -= hyper.lr * gradient / squares[rows].sqrt()
    return float(cost.detach())


def attract_repel(vectors: np.ndarray, attract: np.ndarray, repel: np.ndarray, hyper: Hyper, seed: int = 0,
                  advance: Advance | None = None) -> np.ndarray:
    """Specialised vectors: rows of ``vectors`` pulled together by the ``attract`` row pairs and pushed apart by the
    ``repel`` row pairs (Mrksic et al. 2017); unit length; rows in no pair keep their (unit) input vector."""
    X = unit(vectors)
    attract = without_antonyms(attract.reshape(-1, 2), repel.reshape(-1, 2))
    repel = repel.reshape(-1, 2)
    trained = np.unique(np.concatenate([attract.reshape(-1), repel.reshape(-1)]))
    if not len(trained):
        return X
    local = np.searchsorted(trained, np.concatenate([attract, repel]))
    att, rep = local[:len(attract)], local[len(attract):]
    W0 = torch.as_tensor(X[trained])
    W = W0.clone()
    squares = torch.full_like(W, ADAGRAD_START)
    rng = np.random.default_rng(seed)
    for _ in range(hyper.epochs):
        for is_attract, batch in epoch_batches(len(att), len(rep), hyper.batch, rng):
            pairs = (att if is_attract else rep)[batch]
            negatives = in_batch_negatives(W, pairs, is_attract, rng)
            batch_step(W, W0, squares, pairs, negatives, is_attract, hyper)
            if advance:
                advance(len(batch))
    X[trained] = F.normalize(W, dim=1).numpy()
    return X


# --------------------------------------------------------------------------------------------------------------
# The method: constraints from files and dictionaries, bilingual runs, the join


@dataclass
class Constraints:
    attract: list[tuple[Word, Word]]
    repel: list[tuple[Word, Word]]
    files: dict[str, int]


def load_constraints(attract: Sequence[str | ConstraintFile], repel: Sequence[str | ConstraintFile]) -> Constraints:
    """Every attract and repel file read once; ``files`` counts the pairs of each."""
    files: dict[str, int] = {}
    pairs: dict[bool, list[tuple[Word, Word]]] = {True: [], False: []}
    for kind, specs in ((True, attract), (False, repel)):
        for spec in map(parse_spec, specs):
            found = read_constraints(spec)
            files[str(spec)] = len(found)
            pairs[kind] += found
    return Constraints(pairs[True], pairs[False], files)


def dictionary_rows(problem: Problem, langs: Sequence[str], offsets: dict[str, int]) -> np.ndarray:
    """The --dict pairs of the stacked languages as attract rows (language row, pivot row)."""
    parts = []
    for lang in langs:
        if lang != problem.pivot and problem.pivot in offsets:
            src, tgt = problem.pairs(lang)
            parts.append(np.stack([src + offsets[lang], tgt + offsets[problem.pivot]], axis=1))
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), dtype=np.int64)


def specialise(problem: Problem, matrices: dict[str, np.ndarray], langs: Sequence[str], constraints: Constraints,
               params: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One Attract-Repel run over the stacked vocabularies of ``langs``; returns each language's rows and counts."""
    offsets, start = {}, 0
    for lang in langs:
        offsets[lang], start = start, start + len(matrices[lang])
    index = {lang: {w: i for i, w in reversed(list(enumerate(problem.words[lang])))} for lang in langs}
    vocab = params["ar_vocab"] or None
    attract = constraint_rows(constraints.attract, index, offsets, vocab)
    repel = constraint_rows(constraints.repel, index, offsets, vocab)
    from_dict = dictionary_rows(problem, langs, offsets)
    rows = np.unique(np.concatenate([attract.rows, from_dict]), axis=0) if len(from_dict) else attract.rows
    stacked = np.concatenate([matrices[lang] for lang in langs])
    name = "-".join(langs)
    with problem.progress(f"attract-repel {name}", None) as advance:
        out = attract_repel(stacked, rows, repel.rows, Hyper.from_params(params), problem.seed, advance)
    counts = {"attract": attract.counts, "repel": repel.counts, "dictionary_pairs": int(len(from_dict)),
              "attract_rows": int(len(rows)), "repel_rows": int(len(repel.rows))}
    return {lang: out[offsets[lang]:offsets[lang] + len(matrices[lang])] for lang in langs}, counts


def procrustes_init(problem: Problem) -> dict[str, np.ndarray]:
    """Every non-pivot language mapped onto the pivot by Procrustes on its --dict pairs (``--ar-init procrustes``)."""
    matrices = dict(problem.matrices)
    for lang in problem.others:
        src, tgt = problem.pairs(lang)
        if not len(src):
            raise InputError(f"--ar-init procrustes needs a dictionary for {lang}-{problem.pivot} (--dict)")
        W = procrustes(matrices[lang][src], matrices[problem.pivot][tgt])
        matrices[lang] = (matrices[lang] @ W).astype(np.float32)
    return matrices


def check_params(params: dict[str, Any]) -> None:
    for key, known in (("join", JOINS), ("join_solver", SOLVERS), ("ar_init", INITS)):
        if params[key] not in known:
            raise InputError(f"unknown --{key.replace('_', '-')} {params[key]!r} (known: {', '.join(known)})")


def fit_attract_repel(problem: Problem, params: dict[str, Any]) -> Fitted:
    """Bilingual Attract-Repel spaces joined by regression on English (Appendix B), or one multilingual run."""
    check_params(params)
    constraints = load_constraints(params["attract"], params["repel"])
    if not constraints.attract and not constraints.repel and not problem.rows:
        raise InputError("attract-repel needs constraints: --attract FILE, --repel FILE or --dict FILE")
    matrices = procrustes_init(problem) if params["ar_init"] == "procrustes" else dict(problem.matrices)
    fit: dict[str, Any] = {"constraint_files": constraints.files}
    if params["join"] == "none" or len(problem.others) < 2:
        out, counts = specialise(problem, matrices, problem.order, constraints, params)
        fit["runs"] = {"-".join(problem.order): counts}
        return Fitted(out, fit)
    runs = {lang: specialise(problem, matrices, [problem.pivot, lang], constraints, params) for lang in problem.others}
    fit["runs"] = {f"{problem.pivot}-{lang}": counts for lang, (_, counts) in runs.items()}
    return Fitted(*join_by_regression(problem, {lang: out for lang, (out, _) in runs.items()}, params, fit))


def join_by_regression(problem: Problem, runs: dict[str, dict[str, np.ndarray]], params: dict[str, Any],
                       fit: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every bilingual space after the first carried into the first by the map between their English vectors."""
    first = problem.others[0]
    base = runs[first]
    out = {problem.pivot: base[problem.pivot], first: base[first]}
    fit["join"] = {"base": f"{problem.pivot}-{first}", "solver": params["join_solver"], "residual": {}}
    for lang in problem.others[1:]:
        english = runs[lang][problem.pivot]
        W = solve_map(english, base[problem.pivot], params["join_solver"], params["join_passes"], problem.seed)
        out[lang] = (runs[lang][lang] @ W).astype(np.float32)
        fit["join"]["residual"][lang] = round(relative_residual(english, base[problem.pivot], W), 6)
    return {lang: out[lang] for lang in problem.order}, fit
