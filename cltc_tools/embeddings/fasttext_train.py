"""Monolingual fastText vectors: skip-gram or CBOW with character n-grams (Bojanowski et al. 2017).

The text is tokenised with the toolbox's tokenizer and streamed to a temporary corpus file next to the output
(fastText reads a file), so a corpus larger than memory works. The space holds the *raw* word vectors (the
mean of the input-matrix rows of the word's subwords, as ``cltc-embed import model.bin`` reads them), words in
fastText's order (most frequent first), without fastText's end-of-line token ``</s>``.

Reproducibility: fastText trains with lock-free parallel threads (Hogwild), so only ``threads=1`` with a fixed
seed gives identical vectors from run to run; the random initialisation also depends on the thread count.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cltc_tools.embeddings.corpus import iter_sentences, write_lines
from cltc_tools.embeddings.job import TrainJob, TrainResult, check_outputs, finish, save_atomically, scratch_dir
from cltc_tools.errors import InputError
from cltc_tools.io.records import file_sha256
from cltc_tools.io.space import LangBlock
from cltc_tools.io.vectors import fasttext_raw_vectors

EOS = "</s>"  # fastText's end-of-line token: counted as a word, never written to a space
LABEL = "<<cltc-label>>"  # fastText treats words starting with its label prefix as labels; no token starts so
FASTTEXT_NAMES = {"model": "model", "dim": "dim", "epoch": "epoch", "min_count": "minCount", "minn": "minn",
                  "maxn": "maxn", "bucket": "bucket", "threads": "thread", "lr": "lr", "ws": "ws", "neg": "neg",
                  "t": "t"}

DEFAULTS: dict[str, Any] = {"model": "skipgram", "dim": 100, "epoch": 5, "min_count": 5, "minn": 3, "maxn": 6,
                            "bucket": 2_000_000, "threads": None, "lr": 0.05, "ws": 5, "neg": 5, "t": 1e-4}
# The paper's monolingual vectors are fastText's Wikipedia vectors: skip-gram, 300 dimensions, defaults otherwise.
PAPER: dict[str, Any] = {"model": "skipgram", "dim": 300}


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def fasttext_args(params: dict[str, Any], seed: int, verbose: bool) -> dict[str, Any]:
    """Keyword arguments of fastText's trainer for our parameter names."""
    args = {FASTTEXT_NAMES[k]: v for k, v in params.items() if k in FASTTEXT_NAMES}
    if args.get("thread") is None:
        args["thread"] = default_threads()
    args.update(seed=seed, label=LABEL, verbose=2 if verbose else 0)
    return args


def check_params(params: dict[str, Any]) -> None:
    if params["model"] not in ("skipgram", "cbow"):
        raise InputError(f"unknown fastText model {params['model']!r} (known: cbow, skipgram)")
    for key in ("dim", "epoch", "ws", "neg"):
        if params[key] < 1:
            raise InputError(f"--{key} must be at least 1")
    if params.get("min_count", 1) < 1:
        raise InputError("--min-count must be at least 1")
    if params.get("maxn", 0) and params["minn"] > params["maxn"]:
        raise InputError("--minn must not exceed --maxn")
    if params.get("threads") is not None and params["threads"] < 1:
        raise InputError("--threads must be at least 1")
    if params["lr"] <= 0:
        raise InputError("--lr must be positive")


def train_fasttext(corpus: Path, args: dict[str, Any]):
    """``fasttext.train_unsupervised`` plus its ``seed``, which the bindings' wrapper does not pass on.

    The same steps as the wrapper (fasttext-community 0.11.9): read the arguments, build them, train.
    """
    from fasttext import FastText as ft

    names = ["input", *ft.unsupervised_default]
    values, manual = ft.read_args((), {"input": str(corpus), **args}, names, ft.unsupervised_default)
    built = ft._build_args(values, manual)
    model = ft._FastText(args=built)
    try:
        ft.fasttext.train(model.f, built)
    except ValueError as err:  # e.g. "Empty vocabulary. Try a smaller -minCount value."
        raise InputError(f"fastText: {err}") from None
    model.set_args(model.f.getArgs())
    return model


def model_words(model) -> list[str]:
    """The model's words, most frequent first, without ``</s>``."""
    return [w for w in model.get_words() if w != EOS]


def input_sha256s(paths: list[Path]) -> list[str]:
    return [file_sha256(p) for p in paths]


def save_bin(model, job: TrainJob) -> None:
    if job.save_bin is not None:
        save_atomically(model.save_model, job.save_bin, job.force)


def train_monolingual(job: TrainJob) -> TrainResult:
    """Train fastText on the tokenised text of ``job.lang`` and write a one-language space of raw vectors."""
    if not job.texts:
        raise InputError("no input text given (--input FILE)")
    if not job.lang:
        raise InputError("--lang is required for --method fasttext (the language of the text)")
    check_params(job.params)
    check_outputs(job)
    params = job.params
    params["threads"] = params["threads"] or default_threads()
    with scratch_dir(job.out) as tmp:
        corpus = tmp / "corpus.txt"
        with open(corpus, "w", encoding="utf-8", newline="\n") as handle, \
                job.progress(f"tokenising {job.lang} text", None) as advance:
            lines = write_lines(handle, iter_sentences(job.texts, job.lang, job.tokenizer), advance)
        if not lines:
            raise InputError(f"no {job.lang} text in {', '.join(map(str, job.texts))}")
        job.log(f"{job.method}: {lines} lines of {job.lang} text; training fastText {params['model']} "
                f"(dim {params['dim']}, {params['epoch']} epochs, {params['threads']} threads)")
        model = train_fasttext(corpus, fasttext_args(params, job.seed, job.verbose))
    words = model_words(model)
    if not words:
        raise InputError(f"no word occurs --min-count {params['min_count']} times")
    vectors = np.ascontiguousarray(fasttext_raw_vectors(model, words), dtype=np.float32)
    save_bin(model, job)
    record_params = job.record_params(lang=job.lang, sources=[str(p) for p in job.texts])
    return finish(job, [LangBlock(job.lang, words, vectors)], record_params, input_sha256s(job.texts))
