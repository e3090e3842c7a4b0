"""Multilingual skip-gram from parallel sentences: BiSkip (Luong et al. 2015), English as the hub (multiSkip).

BiSkip's objective (Luong et al. 2015, "Bilingual word representations with monolingual quality in mind"):
skip-gram with negative sampling where every word predicts its own context *and* the context of its aligned
word in the other sentence; without word alignments the alignment is monotone, word i of a sentence of
length n being aligned to word i * m / n of its translation of length m. With several xx-en corpora and the
English words shared, all languages land in one space through English (Ammar et al. 2016, multiSkip).

Implementation: a pseudo-bilingual corpus trained by fastText's skip-gram (C++, fast, streamed from disk).
Tokens carry their language (``de:haus``), and each sentence pair becomes one line in which the two
sentences are merged by the monotone alignment: both are laid out on [0, 1] (word i of n at (i + 1/2) / n)
and merged in that order (ties: source first). For sentences of equal length the line alternates
(s0 t0 s1 t1 ...), and the words within 2*ws positions of s_i are its own-language neighbours
s_{i-ws}..s_{i+ws} and the translation words t_{i-ws}..t_{i+ws-1} around its aligned word t_i: BiSkip's two
context windows (up to one word at the edge). So fastText's skip-gram with window 2*ws, negative sampling
and no subwords (minn = maxn = 0) optimises BiSkip's objective, the sum of the monolingual and the
cross-lingual skip-gram losses of both sides. Where the lengths differ, each side's share of the window
follows its share of the merged line (the longer side contributes more neighbours); fastText's random
window shrinking and frequent-word subsampling act on both windows at once, as in word2vec. We chose this
over a torch implementation because fastText is many times faster on CPU and reads its corpus from disk,
while the objective stays the same (up to that sharing of the window).

The corpus is written to a temporary file next to the output; xx-en files are interleaved in proportion to
their sizes, so that fastText's decaying learning rate treats every language alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cltc_tools.embeddings.corpus import iter_pairs, parallel_files, write_lines
from cltc_tools.embeddings.fasttext_train import (
    check_params,
    default_threads,
    fasttext_args,
    input_sha256s,
    model_words,
    save_bin,
    train_fasttext,
)
from cltc_tools.embeddings.job import HUB, TrainJob, TrainResult, check_outputs, finish, scratch_dir
from cltc_tools.errors import InputError
from cltc_tools.io.parallel import SentencePair, read_parallel
from cltc_tools.io.space import LangBlock
from cltc_tools.io.vectors import fasttext_raw_vectors
from cltc_tools.text.tokenize import Tokenizer

SEP = ":"  # language prefix separator: "de:haus"; language codes never contain it
DEFAULTS: dict[str, Any] = {"dim": 100, "epoch": 5, "min_count": 5, "ws": 5, "neg": 5, "lr": 0.05, "t": 1e-4,
                            "threads": None, "max_pairs": None}
# The paper used the 512-dimensional multiSkip vectors of Ammar et al. (2016).
PAPER: dict[str, Any] = {"dim": 512}


def prefixed(lang: str, tokens: list[str]) -> list[str]:
    return [f"{lang}{SEP}{t}" for t in tokens]


def monotone_merge(src: list[str], tgt: list[str]) -> list[str]:
    """Merge two sentences by the monotone alignment: word i of n sits at (i + 1/2) / n (Luong et al. 2015)."""
    n, m = len(src), len(tgt)
    out: list[str] = []
    i = j = 0
    while i < n and j < m:
        if (2 * i + 1) * m <= (2 * j + 1) * n:  # (i + 1/2) / n <= (j + 1/2) / m, in integers
            out.append(src[i])
            i += 1
        else:
            out.append(tgt[j])
            j += 1
    return out + src[i:] + tgt[j:]


def pair_line(pair: SentencePair, tokenizer: Tokenizer) -> list[str]:
    """One pseudo-bilingual line: both sides tokenised, language-prefixed and merged monotonically."""
    src = prefixed(pair.src_lang, tokenizer(pair.src, pair.src_lang))
    tgt = prefixed(pair.tgt_lang, tokenizer(pair.tgt, pair.tgt_lang))
    return monotone_merge(src, tgt)


def pair_lines(pairs: Iterator[SentencePair], tokenizer: Tokenizer, langs: dict[str, None]) -> Iterator[list[str]]:
    """The corpus lines; records every language met in ``langs`` (in order of appearance)."""
    for pair in pairs:
        langs.setdefault(pair.src_lang)
        langs.setdefault(pair.tgt_lang)
        line = pair_line(pair, tokenizer)
        if line:
            yield line


def split_by_language(words: list[str], langs: list[str]) -> dict[str, tuple[list[str], list[int]]]:
    """lang -> (words without prefix, their indices in ``words``), keeping the frequency order."""
    table: dict[str, tuple[list[str], list[int]]] = {lang: ([], []) for lang in langs}
    for k, word in enumerate(words):
        lang, _, token = word.partition(SEP)
        if lang in table and token:
            table[lang][0].append(token)
            table[lang][1].append(k)
    return table


def ordered_langs(langs: list[str], paths: list[Path], hub: str = HUB) -> list[str]:
    """The hub first, then the languages of the files in their order, then any other language met."""
    order: dict[str, None] = {hub: None} if hub in langs else {}
    for path in paths:
        first = next(iter(read_parallel(path, 1)), None)
        if first is not None:
            order.update({first.src_lang: None, first.tgt_lang: None})
    order.update(dict.fromkeys(langs))
    return [lang for lang in order if lang in langs]


def train_biskip(job: TrainJob) -> TrainResult:
    """Train BiSkip on the parallel files and write one multilingual space (every language, hub first)."""
    params = job.params
    check_params({**params, "model": "skipgram"})
    if params["max_pairs"] is not None and params["max_pairs"] < 1:
        raise InputError("--max-pairs must be at least 1")
    check_outputs(job)
    params["threads"] = params["threads"] or default_threads()
    pairs, total = iter_pairs(job.parallel, params["max_pairs"])
    seen: dict[str, None] = {}
    with scratch_dir(job.out) as tmp:
        corpus = tmp / "corpus.txt"
        with open(corpus, "w", encoding="utf-8", newline="\n") as handle, \
                job.progress("writing the bilingual corpus", total) as advance:
            lines = write_lines(handle, pair_lines(pairs, job.tokenizer, seen), advance)
        if not lines:
            raise InputError("no words in the parallel files")
        langs = ordered_langs(list(seen), job.parallel)
        job.log(f"{job.method}: {total} sentence pairs ({', '.join(langs)}); training skip-gram "
                f"(dim {params['dim']}, {params['epoch']} epochs, {params['threads']} threads)")
        ft_params = {**params, "model": "skipgram", "minn": 0, "maxn": 0, "bucket": 0, "ws": 2 * params["ws"]}
        model = train_fasttext(corpus, fasttext_args(ft_params, job.seed, job.verbose))
    words = model_words(model)
    vectors = np.ascontiguousarray(fasttext_raw_vectors(model, words), dtype=np.float32)
    save_bin(model, job)
    blocks = []
    for lang, (tokens, rows) in split_by_language(words, langs).items():
        if not tokens:
            raise InputError(f"no {lang} word occurs --min-count {params['min_count']} times")
        blocks.append(LangBlock(lang, tokens, vectors[rows]))
    record_params = job.record_params(sources=[str(p) for p in job.parallel])
    return finish(job, blocks, record_params, input_sha256s(parallel_files(job.parallel)))
