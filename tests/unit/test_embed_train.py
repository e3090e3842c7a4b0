"""Embedding training (cltc_tools.embeddings): corpora, BiSkip line building, fastText, BiSkip and Sent-Ali."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from cltc_tools.embeddings import METHODS, TrainJob, train_embeddings
from cltc_tools.embeddings.biskip import monotone_merge, split_by_language
from cltc_tools.embeddings.corpus import count_pairs, iter_pairs, iter_sentences, proportional_merge
from cltc_tools.embeddings.sent_align import shuffled_csr
from cltc_tools.errors import InputError
from cltc_tools.io.parallel import SentencePair
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.text.tokenize import Tokenizer

VOCAB = 40


def write_parallel(path: Path, lang: str, n_pairs: int = 600, seed: int = 0, swap: float = 0.2) -> Path:
    """Pairs lang-en rendering one random concept sequence in both languages (``<lang>w<concept>``),
    the source with some neighbouring words swapped."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as handle:
        for _ in range(n_pairs):
            concepts = list(rng.integers(0, VOCAB, rng.integers(4, 10)))
            src = list(concepts)
            for i in range(len(src) - 1):
                if rng.random() < swap:
                    src[i], src[i + 1] = src[i + 1], src[i]
            pair = {"src_lang": lang, "src": " ".join(f"{lang}w{c}" for c in src), "tgt_lang": "en",
                    "tgt": " ".join(f"enw{c}" for c in concepts)}
            handle.write(orjson.dumps(pair) + b"\n")
    return path


def write_init_space(path: Path, lang: str, dim: int = 16, seed: int = 0) -> Path:
    vectors = np.random.default_rng(seed).standard_normal((VOCAB, dim)).astype(np.float32)
    write_space(path, [LangBlock(lang, [f"{lang}w{c}" for c in range(VOCAB)], vectors)])
    return path


def cosines(space_dir: Path, lang: str, seed: int = 1) -> tuple[float, float]:
    """Mean cosine of translation pairs (xxwC, enwC) and of random cross-language pairs."""
    space = open_space(space_dir)
    src, tgt = space.index(lang), space.index("en")
    X = np.asarray(space.lang_vectors(lang), dtype=np.float64)
    Y = np.asarray(space.lang_vectors("en"), dtype=np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    both = [c for c in range(VOCAB) if f"{lang}w{c}" in src and f"enw{c}" in tgt]
    assert len(both) >= VOCAB // 2
    aligned = np.mean([X[src[f"{lang}w{c}"]] @ Y[tgt[f"enw{c}"]] for c in both])
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, [len(X), len(Y)], size=(500, 2))
    random = np.mean([X[i] @ Y[j] for i, j in pairs])
    return float(aligned), float(random)


def train(method: str, out: Path, params: dict, **job) -> None:
    train_embeddings(TrainJob(method, out, {}, force=True, **job), overrides=params)


# ------------------------------------------------------------------ corpora


def test_monotone_merge_interleaves_by_relative_position():
    assert monotone_merge(["a", "b", "c"], ["x", "y", "z"]) == ["a", "x", "b", "y", "c", "z"]
    assert monotone_merge(["a", "b", "c", "d"], ["x", "y"]) == ["a", "x", "b", "c", "y", "d"]
    assert monotone_merge([], ["x"]) == ["x"] and monotone_merge(["a"], []) == ["a"]


def test_split_by_language_strips_prefixes_and_keeps_order():
    table = split_by_language(["en:the", "de:der", "en:house", "</s>", "de::"], ["en", "de"])
    assert table == {"en": (["the", "house"], [0, 2]), "de": (["der", ":"], [1, 4])}


def test_proportional_merge_keeps_proportions():
    a = iter([SentencePair("de", str(i), "en", "") for i in range(6)])
    b = iter([SentencePair("fr", str(i), "en", "") for i in range(3)])
    langs = [p.src_lang for p in proportional_merge([a, b], [6, 3])]
    assert langs.count("de") == 6 and langs.count("fr") == 3
    assert all(abs(langs[:k].count("de") - 2 * langs[:k].count("fr")) <= 2 for k in range(1, 10))


def test_sentences_from_text_documents_and_gzip(tmp_path):
    (tmp_path / "a.txt").write_text("Das Haus.\n\nEin Baum\n", encoding="utf-8")
    docs = [{"lang": "de", "text": "Der Hund"}, {"lang": "en", "text": "the dog"}]
    with gzip.open(tmp_path / "d.jsonl.gz", "wb") as handle:
        handle.write(b"\n".join(orjson.dumps(d) for d in docs) + b"\n")
    got = list(iter_sentences([tmp_path / "a.txt", tmp_path / "d.jsonl.gz"], "de", Tokenizer()))
    assert got == [["das", "haus", "."], ["ein", "baum"], ["der", "hund"]]


def test_bad_parallel_line_names_file_and_line(tmp_path):
    path = write_parallel(tmp_path / "de-en.jsonl", "de", n_pairs=3)
    with open(path, "ab") as handle:
        handle.write(b'{"src_lang": "de", "src": "x"}\n')
    with pytest.raises(InputError) as err:
        iter_pairs([path])
    assert err.value.render() == f"{path}:4: missing or non-string field 'tgt_lang'"


def test_pairs_without_the_hub_are_rejected(tmp_path):
    path = tmp_path / "de-fr.jsonl"
    path.write_bytes(orjson.dumps({"src_lang": "de", "src": "a", "tgt_lang": "fr", "tgt": "b"}) + b"\n")
    assert count_pairs(path) == 1
    with pytest.raises(InputError, match="hub language 'en'"):
        count_pairs(path, hub="en")


def test_shuffled_csr_reorders_sentences():
    ids, off = np.array([1, 2, 3, 4, 5, 6]), np.array([0, 2, 3, 6])
    new_ids, new_off = shuffled_csr(ids, off, np.array([2, 0, 1]))
    assert new_ids.tolist() == [4, 5, 6, 1, 2, 3] and new_off.tolist() == [0, 3, 5, 6]


# ------------------------------------------------------------------ registry and presets


def test_methods_presets_and_foreign_options():
    assert METHODS.names() == ["biskip", "fasttext", "sent-align"]
    paper = METHODS.get("sent-align").hparams("paper", {})
    assert (paper["mu"], paper["mu_s"], paper["mu_t"], paper["epoch"], paper["eta"], paper["eps"], paper["dim"],
            paper["batch_size"], paper["lr"]) == (1e-9, 1e-11, 1e-11, 50, 1.0, 1e-12, 300, 64, 1e-2)
    assert METHODS.get("sent-align").hparams("paper", {"epoch": 3})["epoch"] == 3
    with pytest.raises(InputError, match="--mu does not apply to --method fasttext"):
        METHODS.get("fasttext").hparams(None, {"mu": 1.0})
    with pytest.raises(InputError, match="unknown preset 'best'"):
        METHODS.get("biskip").hparams("best", {})
    with pytest.raises(InputError, match="known: biskip, fasttext, sent-align"):
        METHODS.get("word2vec")


# ------------------------------------------------------------------ fastText

FAST = {"dim": 16, "epoch": 5, "min_count": 1, "bucket": 1000, "threads": 1}


def fasttext_corpus(path: Path, n: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = [f"wort{i}" for i in range(30)]
    weights = 1.0 / np.arange(1, 31)
    lines = [" ".join(rng.choice(words, 8, p=weights / weights.sum())) for _ in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fasttext_tiny_corpus_is_fast_raw_and_frequency_ordered(tmp_path):
    corpus = fasttext_corpus(tmp_path / "de.txt")
    start = time.process_time()  # CPU time of this process (fastText's threads included): robust to a busy machine
    train("fasttext", tmp_path / "sp", FAST, texts=[corpus], lang="de", save_bin=tmp_path / "de.bin")
    assert time.process_time() - start < 10
    space = open_space(tmp_path / "sp")
    words = space.words("de")
    counts = {w: corpus.read_text().split().count(w) for w in words}
    assert "</s>" not in words and sorted(words) == sorted(f"wort{i}" for i in range(30))
    assert [counts[w] for w in words] == sorted(counts.values(), reverse=True)
    norms = np.linalg.norm(space.lang_vectors("de"), axis=1)
    assert not np.allclose(norms, 1.0)  # raw vectors, not fastText's normalised get_word_vector
    from cltc_tools.io.vectors import read_fasttext_bin

    saved = read_fasttext_bin(tmp_path / "de.bin")
    assert [w for w in saved.words if w != "</s>"] == words
    assert np.allclose(saved.vectors[[saved.words.index(w) for w in words]], space.lang_vectors("de"))


def test_fasttext_is_reproducible_with_one_thread_and_a_seed(tmp_path):
    corpus = fasttext_corpus(tmp_path / "de.txt")
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train("fasttext", tmp_path / name, FAST, texts=[corpus], lang="de", seed=seed)
    a, b, c = (np.asarray(open_space(tmp_path / n).vectors) for n in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------ BiSkip and Sent-Ali

# a tiny corpus: no frequent-word subsampling (t = 1), a higher learning rate
BISKIP = {"dim": 16, "epoch": 15, "min_count": 1, "threads": 1, "ws": 3, "t": 1.0, "lr": 0.1}


def test_biskip_brings_translations_together_and_is_reproducible(tmp_path):
    files = [write_parallel(tmp_path / "de-en.jsonl", "de", 300, seed=1),
             write_parallel(tmp_path / "fr-en.jsonl", "fr", 300, seed=2)]
    train("biskip", tmp_path / "a", BISKIP, parallel=files, seed=5)
    space = open_space(tmp_path / "a")
    assert list(space.langs) == ["en", "de", "fr"] and space.dim == 16
    for lang in ("de", "fr"):
        aligned, random = cosines(tmp_path / "a", lang)
        assert aligned > random + 0.3, (lang, aligned, random)
    train("biskip", tmp_path / "b", BISKIP, parallel=files, seed=5)
    assert np.array_equal(np.asarray(space.vectors), np.asarray(open_space(tmp_path / "b").vectors))


SENT = {"epoch": 15, "batch_size": 16}


def test_sent_align_brings_translations_together_and_is_reproducible(tmp_path):
    files = [write_parallel(tmp_path / "de-en.jsonl", "de", n_pairs=400, seed=1)]
    spaces = [write_init_space(tmp_path / "en", "en", seed=1), write_init_space(tmp_path / "de", "de", seed=2)]
    job = {"parallel": files, "init_spaces": spaces, "tokenizer": Tokenizer("unicode"), "seed": 7}
    before, rand0 = cosines_between(spaces[1], spaces[0])
    train("sent-align", tmp_path / "a", SENT, **job)
    aligned, random = cosines(tmp_path / "a", "de")
    assert aligned > random + 0.5 and aligned > before + 0.5, (aligned, random, before)
    out = open_space(tmp_path / "a")
    moved_p = np.linalg.norm(out.lang_vectors("de") - open_space(spaces[1]).lang_vectors("de"))
    moved_q = np.linalg.norm(out.lang_vectors("en") - open_space(spaces[0]).lang_vectors("en"))
    assert moved_p < 0.2 * moved_q, (moved_p, moved_q)  # P is anchored to P0 (eq. 10), Q moves to it
    train("sent-align", tmp_path / "b", SENT, **job)
    train("sent-align", tmp_path / "c", SENT, **{**job, "seed": 8})
    a, b, c = (np.asarray(open_space(tmp_path / n).vectors) for n in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def cosines_between(src_space: Path, en_space: Path) -> tuple[float, float]:
    """Mean cosine of translation pairs between two separate (unaligned) initial spaces."""
    X = np.asarray(open_space(src_space).vectors, dtype=np.float64)
    Y = np.asarray(open_space(en_space).vectors, dtype=np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    return float(np.mean(np.sum(X * Y, axis=1))), float(np.mean(X @ Y.T))


def test_sent_align_needs_every_language_and_one_dimension(tmp_path):
    files = [write_parallel(tmp_path / "de-en.jsonl", "de", n_pairs=20)]
    en = write_init_space(tmp_path / "en", "en")
    with pytest.raises(InputError, match="no --init-space holds language 'de'"):
        train("sent-align", tmp_path / "o", SENT, parallel=files, init_spaces=[en], tokenizer=Tokenizer())
    de = write_init_space(tmp_path / "de", "de", dim=8)
    with pytest.raises(InputError, match="dimension"):
        train("sent-align", tmp_path / "o", SENT, parallel=files, init_spaces=[en, de], tokenizer=Tokenizer())
    assert not (tmp_path / "o").exists()
