"""The synthetic demo world: files, determinism, and the downstream point it is made to show."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from cltc_tools.datasets.demo import LABELS, DemoConfig, write_demo
from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.dictionaries import read_dictionary
from cltc_tools.io.documents import read_documents
from cltc_tools.io.parallel import read_parallel
from cltc_tools.io.space import open_space

LANGS = ("en", "de", "fr", "it")
OTHERS = ("de", "fr", "it")
SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def demo_dirs(tmp_path_factory):
    """Demo folders by seed, each written once per module."""
    root = tmp_path_factory.mktemp("demo")
    made: dict[int, Path] = {}

    def get(seed: int) -> Path:
        if seed not in made:
            write_demo(root / f"seed{seed}", DemoConfig(seed=seed))
            made[seed] = root / f"seed{seed}"
        return made[seed]

    return get


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------
# Layout and formats


def test_layout(demo_dirs):
    root = demo_dirs(0)
    names = set(_files(root))
    expected = {"README.md"}
    expected |= {f"spaces/{lang}/{f}" for lang in LANGS for f in ("space.json", "words.txt", "vectors.npy")}
    expected |= {f"dictionaries/{lang}-en.{split}.txt" for lang in OTHERS for split in ("train", "test")}
    expected |= {f"parallel/{lang}-en.jsonl" for lang in OTHERS}
    expected |= {f"docs/{lang}/{split}.jsonl" for lang in LANGS for split in SPLITS}
    expected |= {f"spaces/es/{f}" for f in ("space.json", "words.txt", "vectors.npy")}
    expected |= {f"dictionaries/es-en.{split}.txt" for split in ("train", "test")}
    expected |= {"heldout/README.md", "heldout/es.vec.gz", "heldout/es/dev.jsonl", "heldout/es/test.jsonl"}
    assert names == expected
    assert "synthetic" in (root / "README.md").read_text()
    assert not list(root.parent.glob(".*tmp*")), "no temporary folder left behind"


def test_spaces(demo_dirs):
    root = demo_dirs(0)
    vocab = {}
    for lang in LANGS:
        space = open_space(root / "spaces" / lang)
        assert list(space.langs) == [lang]
        assert space.dim == 64
        words = space.words(lang)
        assert 3000 <= len(words) <= 4000
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[a-z]+|[0-9]+", w) for w in words)
        assert np.isfinite(space.vectors).all()
        vocab[lang] = set(words)
    shared = set.intersection(*vocab.values())
    assert 200 <= len(shared) <= 500
    assert any(w.isdigit() for w in shared) and any(w.isalpha() for w in shared)
    # pseudo-words differ between languages (apart from the shared strings and rare accidents)
    assert len(vocab["de"] & vocab["it"]) < len(shared) + 30


def test_rows_follow_word_frequency(demo_dirs):
    root = demo_dirs(0)
    index = open_space(root / "spaces" / "en").index("en")
    counts = Counter(t for d in read_documents(root / "docs" / "en" / "train.jsonl") for t in d.text.split())
    top = [w for w, _ in counts.most_common(20)]
    assert all(index[w] < 200 for w in top)
    ranks = np.array([index[w] for w in counts])
    freqs = np.array([counts[w] for w in counts])
    assert np.corrcoef(np.log(ranks + 1), np.log(freqs))[0, 1] < -0.5


def test_dictionaries(demo_dirs):
    root = demo_dirs(0)
    en = open_space(root / "spaces" / "en").index("en")
    for lang in OTHERS:
        src = open_space(root / "spaces" / lang).index(lang)
        train = read_dictionary(root / "dictionaries" / f"{lang}-en.train.txt")
        test = read_dictionary(root / "dictionaries" / f"{lang}-en.test.txt")
        assert (train.src_lang, train.tgt_lang) == (lang, "en")
        assert len(train.pairs) == 1500 and len(test.pairs) == 500
        assert train.malformed == test.malformed == 0
        for d in (train, test):
            rows = [src[s] for s, _ in d.pairs]
            assert rows == sorted(rows), "sorted by source frequency"
            assert all(t in en for _, t in d.pairs)
        assert max(src[s] for s, _ in train.pairs) < min(src[s] for s, _ in test.pairs)
        assert all(s != t for s, t in test.pairs), "identical strings are not in the test set"
        assert any(s == t for s, t in train.pairs)


def test_parallel(demo_dirs):
    root = demo_dirs(0)
    en = open_space(root / "spaces" / "en").index("en")
    for lang in OTHERS:
        src = open_space(root / "spaces" / lang).index(lang)
        pairs = list(read_parallel(root / "parallel" / f"{lang}-en.jsonl"))
        assert 1500 <= len(pairs) <= 3000
        assert {(p.src_lang, p.tgt_lang) for p in pairs} == {(lang, "en")}
        for p in pairs[:200]:
            s, t = p.src.split(), p.tgt.split()
            assert len(s) == len(t) >= 3
            assert all(w in src for w in s) and all(w in en for w in t)


def test_documents(demo_dirs):
    root = demo_dirs(0)
    expected_train = {"en": 2000, "de": 400, "fr": 200, "it": 60}
    for lang in LANGS:
        index = open_space(root / "spaces" / lang).index(lang)
        for split in SPLITS:
            docs = list(read_documents(root / "docs" / lang / f"{split}.jsonl", require_label=True))
            n = {"train": expected_train[lang], "dev": max(30, round(0.15 * expected_train[lang])),
                 "test": 300}[split]
            assert len(docs) == n
            assert [d.id for d in docs] == [f"{lang}-{split}-{i}" for i in range(n)]
            assert {d.lang for d in docs} == {lang}
            assert {d.label for d in docs} <= set(LABELS)
            for d in docs:
                tokens = d.text.split()
                assert 15 <= len(tokens) <= 40
                assert all(t in index for t in tokens)
    labels = Counter(d.label for d in read_documents(root / "docs" / "en" / "train.jsonl"))
    assert set(labels) == set(LABELS)
    assert 2 <= max(labels.values()) / min(labels.values()) <= 4.5, "imbalanced labels"


# ------------------------------------------------------------------------------------------------
# Determinism, refusal, validation


def test_same_seed_same_bytes_other_seed_differs(demo_dirs, tmp_path):
    write_demo(tmp_path / "again", DemoConfig(seed=0))
    first, again, other = _files(demo_dirs(0)), _files(tmp_path / "again"), _files(demo_dirs(1))
    assert first == again
    assert set(first) == set(other)
    assert all(first[name] != other[name] for name in first if not name.endswith("README.md"))


# The sha256 of the "path sha256" lines of every file of the four-language world (seed 0, dim 64) as written
# before the held-out language existed: adding it must leave every one of those files byte-identical.
FOUR_LANGUAGE_WORLD = "d8296155ed0c98ba5f694ec540cb02f0001727e5ee3caa747059042c0e4fb228"


def test_the_held_out_language_leaves_every_other_file_byte_identical(demo_dirs, tmp_path):
    write_demo(tmp_path / "four", DemoConfig(heldout=()))
    four, five = _files(tmp_path / "four"), _files(demo_dirs(0))
    assert all(name.startswith(("heldout/", "spaces/es/", "dictionaries/es-")) for name in set(five) - set(four))
    assert all(five[name] == data for name, data in four.items())
    listing = "".join(f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in sorted(four.items()))
    assert hashlib.sha256(listing.encode()).hexdigest() == FOUR_LANGUAGE_WORLD


def test_the_held_out_language_aligns_like_the_others_and_has_no_training_documents(demo_dirs):
    root = demo_dirs(0)
    assert not (root / "docs" / "es").exists() and not (root / "heldout" / "es" / "train.jsonl").exists()
    docs = list(read_documents(root / "heldout" / "es" / "test.jsonl"))
    assert len(docs) == 300 and {d.lang for d in docs} == {"es"} and {d.label for d in docs} <= set(LABELS)
    es, en = open_space(root / "spaces" / "es"), open_space(root / "spaces" / "en")
    pairs = read_dictionary(root / "dictionaries" / "es-en.train.txt").pairs
    assert len(pairs) == 1500 and all(s in es.index("es") and t in en.index("en") for s, t in pairs)


def test_refuses_existing_output(tmp_path):
    out = tmp_path / "world"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(OutputExistsError):
        write_demo(out, DemoConfig())
    assert (out / "keep.txt").read_text() == "old"


def test_bad_config():
    with pytest.raises(InputError):
        DemoConfig(dim=4)
    with pytest.raises(InputError):
        DemoConfig(seed=-1)


# ------------------------------------------------------------------------------------------------
# The downstream point: alignment works, and training on all languages beats the small target set


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def _fit_logreg(x: np.ndarray, y: np.ndarray, k: int, l2: float = 1e-4):
    """Multinomial logistic regression (L-BFGS); returns a predict function."""
    n, d = x.shape
    onehot = np.eye(k)[y]

    def loss(w: np.ndarray):
        weights, bias = w[: d * k].reshape(d, k), w[d * k:]
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[onehot.astype(bool)] + 1e-12).mean() + l2 * (weights**2).sum()
        g = (p - onehot) / n
        return value, np.concatenate([(x.T @ g + 2 * l2 * weights).ravel(), g.sum(axis=0)])

    w = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    weights, bias = w[: d * k].reshape(d, k), w[d * k:]
    return lambda z: (z @ weights + bias).argmax(axis=1)


def _macro_f1(gold: np.ndarray, pred: np.ndarray, k: int) -> float:
    scores = []
    for c in range(k):
        tp = np.sum((pred == c) & (gold == c))
        wrong = np.sum((pred == c) != (gold == c))
        scores.append(2 * tp / (2 * tp + wrong) if tp else 0.0)
    return float(np.mean(scores))


def downstream(root: Path) -> dict[str, float]:
    spaces = {lang: open_space(root / "spaces" / lang) for lang in LANGS}
    vecs = {lang: np.asarray(s.lang_vectors(lang), dtype=np.float64) for lang, s in spaces.items()}
    index = {lang: s.index(lang) for lang, s in spaces.items()}
    maps = {"en": np.eye(vecs["en"].shape[1])}
    result: dict[str, float] = {}
    english = _unit(vecs["en"])
    for lang in OTHERS:
        train = read_dictionary(root / "dictionaries" / f"{lang}-en.train.txt").pairs
        x = vecs[lang][[index[lang][s] for s, _ in train]]
        y = vecs["en"][[index["en"][t] for _, t in train]]
        u, _, vt = np.linalg.svd(x.T @ y)
        maps[lang] = u @ vt
        test = read_dictionary(root / "dictionaries" / f"{lang}-en.test.txt").pairs
        queries = _unit(vecs[lang][[index[lang][s] for s, _ in test]] @ maps[lang])
        nearest = (queries @ english.T).argmax(axis=1)
        result[f"p@1_{lang}"] = float(np.mean(nearest == [index["en"][t] for _, t in test]))

    def features(lang: str, split: str, aligned: bool):
        table = vecs[lang] @ maps[lang] if aligned else vecs[lang]
        docs = list(read_documents(root / "docs" / lang / f"{split}.jsonl"))
        x = np.stack([table[[index[lang][t] for t in d.text.split()]].mean(axis=0) for d in docs])
        return x, np.array([LABELS.index(d.label) for d in docs])

    k = len(LABELS)
    for lang in ("en", "it"):
        x, y = features(lang, "train", aligned=False)
        xt, yt = features(lang, "test", aligned=False)
        result[f"mono_{lang}"] = _macro_f1(yt, _fit_logreg(x, y, k)(xt), k)
    parts = [features(lang, "train", aligned=True) for lang in LANGS]
    predict = _fit_logreg(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), k)
    for lang in ("en", "it"):
        xt, yt = features(lang, "test", aligned=True)
        result[f"multi_{lang}"] = _macro_f1(yt, predict(xt), k)
    return result


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_downstream_point_is_visible(demo_dirs, seed):
    r = downstream(demo_dirs(seed))
    assert min(r["p@1_de"], r["p@1_fr"], r["p@1_it"]) > 0.8, r
    assert r["mono_en"] > 0.7, r
    assert r["multi_it"] >= r["mono_it"] + 0.05, r
    assert r["multi_it"] > 0.6, r
