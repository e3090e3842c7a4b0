"""Sentence alignment (Sent-Ali, M'hamdi et al. 2019, Appendix C): bag-of-words sentences pulled together.

Objective (eq. 10), with s_i, t_i the bag-of-words count vectors of a parallel pair (source, English),
P the source embeddings initialised from monolingual P0, Q the English embeddings (initialised from the
English monolingual space):

    L(P, Q) = 1/(2|P|) ||P - P0||_F^2 + mu/N sum_i ||P^T s_i - Q^T t_i||_1 + mu_s/2 ||P||_F^2 + mu_t/2 ||Q||_F^2

Gradients (eqs. 13-14), with sign(.) the subgradient of the L1 norm:

    d(P) = mu/N S^T sign(S P - T Q) + (1/|P| + mu_s) P - P0/|P|
    d(Q) = -mu/N T^T sign(S P - T Q) + mu_t Q

Normalised steps (eqs. 11-12): P <- P - lr * eta / (eps + ||d(P)||_F) * d(P), and likewise for Q.

Reading of the extracted paper text, where it is garbled:
- The weight of ||P - P0||^2 appears as "1/(2N) sum_{i=0}^N" in eq. 10 but as 1/|P| in its gradient, eq. 13;
  we follow eq. 13 and take |P| as the number of rows (words) of P. The term keeps P near its monolingual
  initialisation; Q has no such anchor (eq. 14), only the small decay mu_t.
- "S . T . ||P^T s_i - Q^T t_i||_1" in eqs. 13-14 is read as the (sub)gradient of the L1 term:
  S^T sign(SP - TQ) for P and -T^T sign(SP - TQ) for Q.
- Table 4 lists both eta = 1 and a learning rate of 1e-2, eqs. 11-12 only eta. We multiply them in:
  every step moves the batch's rows of P (and of Q) by a Frobenius norm of lr * eta (eps avoids a division
  by zero). ``--preset paper`` uses lr = 1e-2; the default is lr = 1, the step of eqs. 11-12 as written,
  because with 1e-2 the vectors move too slowly to align in 50 epochs of the shared data (P@1 below 10,
  see benchmarks/RESULTS.md).
- N is the number of pairs the gradient is taken over: the mini-batch (Table 4: 64 pairs).
- Sparse updates: a mini-batch gradient (and its norm) is taken over the rows of the words in the batch only;
  the other rows do not change in that step.
- Multilingual extension: one P over the concatenated non-English vocabularies (each pair's source words
  index their own language's rows of P), one Q; batches mix all language pairs.

Speed: one step touches only a few hundred rows, so torch gains nothing from threads (and loses much when
the cores are shared); run it with one (OMP_NUM_THREADS=1). On the shared data (788k pairs, 3 x 30k + 30k rows
of dimension 300) an epoch takes about 15 s of one core.

The vocabulary of each language is that of its initial space; tokens missing from it are dropped, and pairs
with an empty side are skipped. The output holds the words seen at least ``min_count`` times in the parallel
data (``min_count`` 0: every word of the initial spaces), in the initial spaces' order.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cltc_tools.embeddings.corpus import iter_pairs, parallel_files
from cltc_tools.embeddings.job import HUB, TrainJob, TrainResult, check_outputs, finish
from cltc_tools.errors import InputError
from cltc_tools.io.parallel import read_parallel
from cltc_tools.io.records import file_sha256
from cltc_tools.io.space import LangBlock, Space, merged_provenance, open_space, space_sha256
from cltc_tools.registry import deferred_import
from cltc_tools.text.tokenize import Tokenizer

torch = deferred_import("torch")
F = deferred_import("torch.nn.functional")

# Table 4 of the paper. The defaults are the same except the learning rate: 1, i.e. the step of eqs. 11-12 as
# written (eta / (eps + ||d||)); with Table 4's extra factor 1e-2, 50 epochs of the shared data do not align.
PAPER: dict[str, Any] = {"mu": 1e-9, "mu_s": 1e-11, "mu_t": 1e-11, "epoch": 50, "eta": 1.0, "eps": 1e-12,
                         "dim": 300, "batch_size": 64, "lr": 1e-2}
DEFAULTS: dict[str, Any] = {**PAPER, "lr": 1.0, "dim": None, "min_count": 1, "max_pairs": None, "threads": None}


@dataclass
class Vocab:
    """The rows of one side: languages in row order, each with its words and row offset, and P0 (or Q0)."""

    langs: list[str]
    words: dict[str, list[str]]
    offset: dict[str, int]
    index: dict[str, dict[str, int]]
    init: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.init.shape[0])


@dataclass
class Corpus:
    """Encoded pairs in CSR form: row ids of the source (P) and English (Q) tokens of every pair."""

    src_ids: np.ndarray
    src_off: np.ndarray
    tgt_ids: np.ndarray
    tgt_off: np.ndarray
    skipped: int

    @property
    def pairs(self) -> int:
        return len(self.src_off) - 1


def spaces_by_language(paths: list[Path]) -> dict[str, Space]:
    table: dict[str, Space] = {}
    for path in paths:
        space = open_space(path)
        for lang in space.langs:
            if lang in table:
                raise InputError(f"language {lang!r} is in two --init-space spaces ({table[lang].path})", path)
            table[lang] = space
    return table


def build_vocab(langs: list[str], spaces: dict[str, Space]) -> Vocab:
    """Concatenate the initial vectors of ``langs`` (the rows of P, or of Q for the hub alone)."""
    words, offset, index, blocks = {}, {}, {}, []
    row = 0
    for lang in langs:
        if lang not in spaces:
            raise InputError(f"no --init-space holds language {lang!r} (have: {', '.join(spaces) or 'none'})")
        words[lang] = spaces[lang].words(lang)
        index[lang] = spaces[lang].index(lang)
        offset[lang] = row
        blocks.append(np.asarray(spaces[lang].lang_vectors(lang), dtype=np.float32))
        row += len(words[lang])
    return Vocab(langs, words, offset, index, np.ascontiguousarray(np.concatenate(blocks)))


def encode(tokens: list[str], lang: str, vocab: Vocab) -> list[int]:
    """Rows of the known tokens (the sentence's bag of words: a row repeated = counted twice)."""
    table, base = vocab.index[lang], vocab.offset[lang]
    return [base + table[t] for t in tokens if t in table]


def encode_corpus(pairs: Iterator, src_vocab: Vocab, hub_vocab: Vocab, tokenizer: Tokenizer,
                  hub: str, advance) -> Corpus:
    """Tokenise and encode every pair (source side = the non-hub language); pairs with an empty side are skipped."""
    src_ids, tgt_ids = array("q"), array("q")
    src_off, tgt_off = array("q", [0]), array("q", [0])
    skipped = 0
    for k, pair in enumerate(pairs, start=1):
        if pair.src_lang == hub:
            src_lang, src, tgt = pair.tgt_lang, pair.tgt, pair.src
        else:
            src_lang, src, tgt = pair.src_lang, pair.src, pair.tgt
        s = encode(tokenizer(src, src_lang), src_lang, src_vocab)
        t = encode(tokenizer(tgt, hub), hub, hub_vocab)
        if s and t:
            src_ids.extend(s)
            tgt_ids.extend(t)
            src_off.append(len(src_ids))
            tgt_off.append(len(tgt_ids))
        else:
            skipped += 1
        if k % 1000 == 0:
            advance(1000)
    return Corpus(*(np.frombuffer(a, dtype=np.int64).copy() for a in (src_ids, src_off, tgt_ids, tgt_off)),
                  skipped=skipped)


def shuffled_csr(ids: np.ndarray, off: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR arrays with their rows (sentences) in ``order``."""
    lengths = np.diff(off)[order]
    new_off = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_off[1:])
    gather = np.repeat(off[:-1][order] - new_off[:-1], lengths) + np.arange(new_off[-1], dtype=np.int64)
    return ids[gather], new_off


def l1_subgradient(SP: torch.Tensor, TQ: torch.Tensor) -> torch.Tensor:
    """d/dx ||x||_1 at x = P^T s_i - Q^T t_i: sign(x), row by row (eq. 13-14)."""
    return torch.sign(SP - TQ)


def bag_sums(rows: torch.Tensor, inverse: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """P^T s_i for every sentence i of the batch: the sum of its words' rows (bag of words)."""
    return F.embedding_bag(inverse, rows, offsets, mode="sum")


def scatter_to_rows(G: torch.Tensor, inverse: torch.Tensor, segment: torch.Tensor, n_rows: int) -> torch.Tensor:
    """S^T G restricted to the batch's rows: every token adds its sentence's row of G to its word's row."""
    out = torch.zeros(n_rows, G.shape[1], dtype=G.dtype)
    return out.index_add_(0, inverse, G.index_select(0, segment))


def step_size(delta: torch.Tensor, lr: float, eta: float, eps: float) -> float:
    """The normalised step of eqs. 11-12, times the learning rate: lr * eta / (eps + ||delta||_F)."""
    norm = float(torch.linalg.vector_norm(delta))
    return lr * eta / (eps + norm) if norm > 0 else 0.0


@dataclass(frozen=True)
class Batch:
    """One side of a mini-batch: token rows, each sentence's first token, each token's sentence."""

    ids: torch.Tensor
    offsets: torch.Tensor
    segment: torch.Tensor

    @classmethod
    def of(cls, ids: np.ndarray, off: np.ndarray, start: int, stop: int) -> Batch:
        """Sentences ``start:stop`` of a CSR array."""
        a, b = int(off[start]), int(off[stop])
        local = off[start:stop + 1] - a
        return cls(torch.from_numpy(ids[a:b]), torch.from_numpy(local[:-1]),
                   torch.from_numpy(np.repeat(np.arange(stop - start), np.diff(local))))


class SentAlign:
    """P, P0 and Q as torch tensors and one mini-batch update of eqs. 11-14."""

    def __init__(self, P0: np.ndarray, Q0: np.ndarray, params: dict[str, Any]):
        self.P0 = torch.from_numpy(P0)
        self.P = self.P0.clone()
        self.Q = torch.from_numpy(Q0).clone()
        self.p = params
        self.inv_rows = 1.0 / len(P0)  # 1/|P| of eq. 13

    def step(self, s: Batch, t: Batch) -> None:
        """One normalised gradient step on the rows of the batch's words (eqs. 11-14)."""
        p = self.p
        p_rows, p_inv = torch.unique(s.ids, return_inverse=True)
        q_rows, q_inv = torch.unique(t.ids, return_inverse=True)
        P, Q = self.P.index_select(0, p_rows), self.Q.index_select(0, q_rows)
        G = l1_subgradient(bag_sums(P, p_inv, s.offsets), bag_sums(Q, q_inv, t.offsets))
        coef = p["mu"] / len(s.offsets)
        dP = scatter_to_rows(G, p_inv, s.segment, len(p_rows)).mul_(coef)
        dP.add_(P - self.P0.index_select(0, p_rows), alpha=self.inv_rows).add_(P, alpha=p["mu_s"])
        dQ = scatter_to_rows(G, q_inv, t.segment, len(q_rows)).mul_(-coef).add_(Q, alpha=p["mu_t"])
        self.P.index_add_(0, p_rows, dP, alpha=-step_size(dP, p["lr"], p["eta"], p["eps"]))
        self.Q.index_add_(0, q_rows, dQ, alpha=-step_size(dQ, p["lr"], p["eta"], p["eps"]))

    def epoch(self, corpus: Corpus, order: np.ndarray, batch_size: int, advance) -> None:
        """One pass over the pairs in ``order``, ``batch_size`` pairs per step."""
        s_ids, s_off = shuffled_csr(corpus.src_ids, corpus.src_off, order)
        t_ids, t_off = shuffled_csr(corpus.tgt_ids, corpus.tgt_off, order)
        for start in range(0, len(order), batch_size):
            stop = min(start + batch_size, len(order))
            self.step(Batch.of(s_ids, s_off, start, stop), Batch.of(t_ids, t_off, start, stop))
            advance(stop - start)


@contextmanager
def torch_threads(n: int | None):
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def check_params(params: dict[str, Any]) -> None:
    for key in ("epoch", "batch_size"):
        if params[key] < 1:
            raise InputError(f"--{key.replace('_', '-')} must be at least 1")
    for key in ("lr", "eta"):
        if params[key] <= 0:
            raise InputError(f"--{key} must be positive")
    for key in ("mu", "mu_s", "mu_t", "eps", "min_count"):
        if params[key] < 0:
            raise InputError(f"--{key.replace('_', '-')} must not be negative")
    if params["max_pairs"] is not None and params["max_pairs"] < 1:
        raise InputError("--max-pairs must be at least 1")


def kept_rows(ids: np.ndarray, n_rows: int, min_count: int) -> np.ndarray:
    """Rows seen at least ``min_count`` times (all rows when ``min_count`` is 0)."""
    return np.flatnonzero(np.bincount(ids, minlength=n_rows) >= min_count)


def output_blocks(model: SentAlign, corpus: Corpus, hub_vocab: Vocab, src_vocab: Vocab,
                  min_count: int) -> list[LangBlock]:
    blocks = []
    for vocab, matrix, ids in ((hub_vocab, model.Q, corpus.tgt_ids), (src_vocab, model.P, corpus.src_ids)):
        keep = kept_rows(ids, vocab.rows, min_count)
        for lang in vocab.langs:
            start = vocab.offset[lang]
            rows = keep[(keep >= start) & (keep < start + len(vocab.words[lang]))]
            if not len(rows):
                raise InputError(f"no {lang} word of the initial space occurs --min-count {min_count} times "
                                 "in the parallel data (check --tokenizer)")
            words = vocab.words[lang]
            blocks.append(LangBlock(lang, [words[r - start] for r in rows], matrix[rows].numpy()))
    return blocks


def langs_of_files(paths: list[Path], hub: str) -> list[str]:
    """The non-hub languages of the parallel files, in file order (from their first pair)."""
    langs: dict[str, None] = {}
    for path in paths:
        for pair in read_parallel(path, 1):
            langs.update({pair.src_lang: None, pair.tgt_lang: None})
    return [lang for lang in langs if lang != hub]


def train_sent_align(job: TrainJob) -> TrainResult:
    """Train Sent-Ali on the parallel files from the initial spaces; write one space (en = Q, others = P)."""
    params = job.params
    check_params(params)
    if not job.init_spaces:
        raise InputError("--method sent-align needs the monolingual initial spaces (--init-space DIR, "
                         "or space records on stdin)")
    check_outputs(job)
    spaces = spaces_by_language(job.init_spaces)
    pairs, total = iter_pairs(job.parallel, params["max_pairs"], hub=HUB)
    langs = langs_of_files(job.parallel, HUB)
    hub_vocab, src_vocab = build_vocab([HUB], spaces), build_vocab(langs, spaces)
    dims = {int(hub_vocab.init.shape[1]), int(src_vocab.init.shape[1])}
    if len(dims) != 1 or (params["dim"] is not None and params["dim"] not in dims):
        raise InputError(f"the initial spaces have dimension {sorted(dims)}"
                         + (f" but --dim is {params['dim']}" if params["dim"] is not None else
                            ": they must have one dimension"))
    params["dim"] = dims.pop()
    with job.progress("encoding sentence pairs", total) as advance:
        corpus = encode_corpus(pairs, src_vocab, hub_vocab, job.tokenizer, HUB, advance)
    if corpus.pairs == 0:
        raise InputError("no sentence pair has known words on both sides (check --tokenizer and the spaces)")
    job.log(f"{job.method}: {corpus.pairs} pairs ({corpus.skipped} skipped: a side without known words); "
            f"P {src_vocab.rows} rows ({', '.join(langs)}), Q {hub_vocab.rows} rows; {params['epoch']} epochs")
    model = SentAlign(src_vocab.init, hub_vocab.init, params)
    generator = np.random.default_rng(job.seed)
    with torch_threads(params["threads"]), job.progress("sent-align epochs", params["epoch"] * corpus.pairs) as adv:
        for _ in range(params["epoch"]):
            model.epoch(corpus, generator.permutation(corpus.pairs), params["batch_size"], adv)
    blocks = output_blocks(model, corpus, hub_vocab, src_vocab, params["min_count"])
    opened = list(dict.fromkeys(spaces[lang] for lang in [HUB, *langs]))
    inputs = [space_sha256(s) for s in opened] + [file_sha256(p) for p in parallel_files(job.parallel)]
    provenance = merged_provenance(opened)
    record_params = job.record_params(pairs=corpus.pairs, skipped=corpus.skipped,
                                      init_spaces=[str(s.path) for s in opened],
                                      sources=[str(p) for p in job.parallel])
    return finish(job, blocks, record_params, inputs, provenance)
