"""Attract-Repel (Mrksic et al. 2017): what one epoch does, in-batch negatives, constraint files, the join."""

import gzip

import numpy as np
import pytest
import torch

from cltc_tools.align.attract_repel import (
    Hyper,
    attract_repel,
    epoch_batches,
    fit_attract_repel,
    in_batch_negatives,
    mix_sampling,
    unit,
)
from cltc_tools.align.constraints import ConstraintFile, constraint_rows, parse_spec, read_constraints
from cltc_tools.align.problem import Problem
from cltc_tools.align.registry import METHODS
from cltc_tools.align.regression import least_squares_map
from cltc_tools.errors import InputError


def cosines(X, pairs):
    X = unit(X)
    return (X[pairs[:, 0]] * X[pairs[:, 1]]).sum(1)


@pytest.fixture
def world():
    """300 words in 16 dimensions; 60 synonym pairs (random) and 40 antonym pairs (similar words)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 16)).astype(np.float32)
    order = rng.permutation(200)
    attract = order[:120].reshape(-1, 2)
    base = order[120:160]
    X[order[160:200]] = X[base] + 0.5 * rng.standard_normal((40, 16))  # antonyms start out similar
    repel = np.stack([base, order[160:200]], axis=1)
    return X, attract, repel


def test_one_epoch_attracts_synonyms_repels_antonyms_and_leaves_other_words_alone(world):
    X, attract, repel = world
    out = attract_repel(X, attract, repel, Hyper(batch=10, epochs=1), seed=0)
    assert cosines(out, attract).mean() > cosines(X, attract).mean() + 0.05
    assert cosines(out, repel).mean() < cosines(X, repel).mean() - 0.05
    assert (cosines(out, attract) > cosines(X, attract)).mean() > 0.9
    assert (cosines(out, repel) < cosines(X, repel)).mean() > 0.9
    untouched = np.setdiff1d(np.arange(300), np.concatenate([attract.ravel(), repel.ravel()]))
    assert np.array_equal(out[untouched], unit(X)[untouched])  # words in no constraint do not move
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert out.shape == X.shape


def test_constrained_words_move_little_with_few_steps(world):
    X, attract, repel = world
    out = attract_repel(X, attract[:10], repel[:0], Hyper(batch=10, epochs=1), seed=0)
    moved = np.linalg.norm(out - unit(X), axis=1)
    assert 0 < moved[attract[:10].ravel()].max() < 0.5
    assert np.all(np.delete(moved, attract[:10].ravel()) == 0)


def test_the_same_seed_gives_the_same_vectors(world):
    X, attract, repel = world
    a = attract_repel(X, attract, repel, Hyper(batch=10, epochs=2), seed=3)
    b = attract_repel(X, attract, repel, Hyper(batch=10, epochs=2), seed=3)
    assert np.array_equal(a, b)


def test_synonyms_that_are_also_antonyms_are_only_repelled():
    X = np.eye(4, dtype=np.float32) + 0.5
    pair = np.array([[0, 1]])
    out = attract_repel(X, pair, pair, Hyper(batch=2, epochs=3), seed=0)
    assert cosines(out, pair)[0] <= cosines(X, pair)[0] + 1e-6


def test_in_batch_negatives_are_the_nearest_other_words_or_random_batch_words():
    rng = np.random.default_rng(1)
    W = torch.as_tensor(rng.standard_normal((40, 8)).astype(np.float32))
    pairs = np.arange(20).reshape(-1, 2)
    V = torch.nn.functional.normalize(W[:20], dim=1).numpy()
    sim = V @ V.T
    for attract in (True, False):
        negatives = in_batch_negatives(W, pairs, attract, np.random.default_rng(2))
        for e, (a, b) in enumerate(pairs):
            for side, word in enumerate((a, b)):
                allowed = [w for w in range(20) if w not in (a, b)]
                best = max(allowed, key=lambda w: sim[word, w]) if attract else min(allowed, key=lambda w: sim[word, w])
                assert negatives[e, side] == best or negatives[e, side] in allowed


def test_mix_sampling_replaces_about_half_with_words_of_other_pairs():
    pairs = np.arange(200).reshape(-1, 2)
    negatives = np.full((100, 2), -1)
    mixed = mix_sampling(pairs, negatives, np.random.default_rng(0))
    replaced = mixed != -1
    assert 0.35 < replaced.mean() < 0.65
    owner = mixed[replaced] // 2
    assert not np.any(owner == np.nonzero(replaced)[0])  # never a word of the example's own pair


def test_epoch_batches_cover_every_pair_once_and_interleave_kinds():
    batches = epoch_batches(105, 32, 10, np.random.default_rng(0))
    attract = np.concatenate([b for kind, b in batches if kind])
    repel = np.concatenate([b for kind, b in batches if not kind])
    assert sorted(attract) == list(range(105)) and sorted(repel) == list(range(32))
    kinds = [kind for kind, _ in batches]
    assert kinds != sorted(kinds) and kinds != sorted(kinds, reverse=True)
    assert all(len(b) >= 2 for _, b in batches)
    assert len(epoch_batches(11, 0, 10, np.random.default_rng(0))) == 1  # a last batch of one pair is dropped


# --- constraint files


def test_constraint_files_prefixed_unprefixed_and_gzip(tmp_path):
    (tmp_path / "pref.txt").write_text("en_dog de_hund\nen_dog de_hund\nen_cat fr_chat\n\n")
    (tmp_path / "plain.txt").write_text("big large\n")
    with gzip.open(tmp_path / "syn.txt.gz", "wt") as handle:
        handle.write("de_haus de_gebäude\n")
    assert read_constraints(tmp_path / "pref.txt") == [(("en", "dog"), ("de", "hund")), (("en", "cat"), ("fr", "chat"))]
    assert read_constraints(f"{tmp_path / 'plain.txt'}:en") == [(("en", "big"), ("en", "large"))]
    assert read_constraints(tmp_path / "syn.txt.gz") == [(("de", "haus"), ("de", "gebäude"))]
    assert parse_spec(f"{tmp_path}/plain.txt:en") == ConstraintFile(tmp_path / "plain.txt", "en")


@pytest.mark.parametrize("text, problem", [("en_a en_b en_c\n", "expected two words"),
                                           ("dog hund\n", "no language prefix")])
def test_malformed_constraint_lines_name_file_and_line(tmp_path, text, problem):
    (tmp_path / "bad.txt").write_text("en_x en_y\n" + text)
    with pytest.raises(InputError, match=f"bad.txt:2: .*{problem}"):
        read_constraints(tmp_path / "bad.txt")


def test_constraint_rows_skip_other_languages_missing_and_rare_words():
    pairs = [(("en", "a"), ("de", "x")), (("en", "a"), ("fr", "y")), (("en", "zz"), ("de", "x")),
             (("en", "c"), ("de", "x")), (("en", "a"), ("en", "a"))]
    index = {"en": {"a": 0, "b": 1, "c": 2}, "de": {"x": 0}}
    found = constraint_rows(pairs, index, {"en": 0, "de": 3})
    assert found.rows.tolist() == [[0, 3], [2, 3]]
    assert found.counts == {"pairs": 5, "used": 2, "other_languages": 1, "missing_words": 1}
    assert constraint_rows(pairs, index, {"en": 0, "de": 3}, vocab=2).rows.tolist() == [[0, 3]]


# --- the method: bilingual runs joined by regression (Appendix B)


def three_languages(tmp_path):
    rng = np.random.default_rng(5)
    words = {lang: [f"w{i}" for i in range(80)] for lang in ("en", "de", "fr")}
    matrices = {lang: rng.standard_normal((80, 6)).astype(np.float32) for lang in words}
    lines = [f"en_w{i} de_w{i}\nen_w{i} fr_w{i}\n" for i in range(40)] + ["en_w1 en_w2\nde_w50 fr_w50\n"]
    (tmp_path / "syn.txt").write_text("".join(lines))
    (tmp_path / "ant.txt").write_text("en_w3 en_w4\n")
    return Problem("en", ["en", "de", "fr"], matrices, words, {}, seed=0)


def test_regression_join_maps_each_bilingual_space_into_the_first(tmp_path):
    problem = three_languages(tmp_path)
    params = METHODS.get("attract-repel").hparams(None, {"attract": [str(tmp_path / "syn.txt")],
                                                        "repel": [str(tmp_path / "ant.txt")], "ar_batch": 8})
    fitted = fit_attract_repel(problem, params)
    assert list(fitted.matrices) == ["en", "de", "fr"]
    assert all(fitted.matrices[lang].shape == (80, 6) for lang in problem.order)  # every input word kept
    runs = fitted.fit["runs"]
    assert set(runs) == {"en-de", "en-fr"}
    assert runs["en-de"]["attract"]["other_languages"] == 41 and runs["en-de"]["attract_rows"] == 41
    assert runs["en-de"]["repel_rows"] == 1
    assert fitted.fit["join"]["base"] == "en-de" and set(fitted.fit["join"]["residual"]) == {"fr"}


def test_join_none_runs_one_multilingual_space(tmp_path):
    problem = three_languages(tmp_path)
    params = METHODS.get("attract-repel").hparams(None, {"attract": [str(tmp_path / "syn.txt")], "join": "none",
                                                        "ar_batch": 8})
    fitted = fit_attract_repel(problem, params)
    assert list(fitted.fit["runs"]) == ["en-de-fr"] and fitted.fit["runs"]["en-de-fr"]["attract_rows"] == 82


def test_attract_repel_without_any_constraint_is_an_input_error(tmp_path):
    problem = three_languages(tmp_path)
    with pytest.raises(InputError, match="needs constraints"):
        fit_attract_repel(problem, METHODS.get("attract-repel").hparams(None, {}))


def test_unknown_join_is_an_input_error(tmp_path):
    problem = three_languages(tmp_path)
    params = METHODS.get("attract-repel").hparams(None, {"attract": [str(tmp_path / "syn.txt")], "join": "glue"})
    with pytest.raises(InputError, match="regression, none"):
        fit_attract_repel(problem, params)


def test_the_join_map_is_the_least_squares_map_between_the_english_vectors(tmp_path, monkeypatch):
    import cltc_tools.align.attract_repel as ar

    seen = {}
    original = ar.solve_map

    def spy(X, Y, solver, passes, seed):
        W = original(X, Y, solver, passes, seed)
        seen["case"] = (X, Y, W)
        return W

    monkeypatch.setattr(ar, "solve_map", spy)
    problem = three_languages(tmp_path)
    fitted = fit_attract_repel(problem, METHODS.get("attract-repel").hparams(
        None, {"attract": [str(tmp_path / "syn.txt")], "ar_batch": 8}))
    X, Y, W = seen["case"]
    assert np.allclose(W, least_squares_map(X, Y))
    assert np.allclose(Y, fitted.matrices["en"])  # the first bilingual space's English is the output's
