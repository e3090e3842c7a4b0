"""CCA on dictionary pairs (Faruqui & Dyer 2014) and its English-pivot extension (multiCCA, Ammar et al. 2016)."""

import numpy as np
import pytest

from cltc_tools.align.cca import cca, fit_multicca, kept_dims
from cltc_tools.align.problem import Problem
from cltc_tools.align.registry import METHODS
from cltc_tools.errors import InputError


def paired(n=600, d=12, shared=5, seed=0):
    """Two views that share ``shared`` latent directions (with decreasing strength), the rest independent."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, shared)) * np.linspace(3.0, 1.5, shared)
    X = np.hstack([z, rng.standard_normal((n, d - shared))]) @ rng.standard_normal((d, d)) + 3.0
    Y = np.hstack([z, rng.standard_normal((n, d - shared))]) @ rng.standard_normal((d, d)) - 1.0
    return X + 0.3 * rng.standard_normal((n, d)), Y + 0.3 * rng.standard_normal((n, d))


def column_correlations(A, B):
    A, B = A - A.mean(0), B - B.mean(0)
    return (A * B).sum(0) / np.linalg.norm(A, axis=0) / np.linalg.norm(B, axis=0)


def test_canonical_correlations_are_sorted_and_are_the_correlations_of_the_projections():
    X, Y = paired()
    fitted = cca(X, Y, ridge=0.0)
    corr = fitted.correlations
    assert np.all(np.diff(corr) <= 1e-12) and 0 <= corr[-1] and corr[0] <= 1
    U, V = (X - fitted.mean_x) @ fitted.A, (Y - fitted.mean_y) @ fitted.B
    assert np.allclose(column_correlations(U, V), corr, atol=1e-8)
    assert np.allclose(np.cov(U.T), np.eye(12), atol=1e-8)  # unit variance, uncorrelated components
    assert np.allclose(np.cov(V.T), np.eye(12), atol=1e-8)


def test_projected_pairs_are_more_correlated_than_the_raw_pairs():
    X, Y = paired(seed=1)
    fitted = cca(X, Y)
    U, V = (X - fitted.mean_x) @ fitted.A, (Y - fitted.mean_y) @ fitted.B
    raw = np.abs(column_correlations(X, Y))
    projected = column_correlations(U, V)
    assert projected[0] > raw.max() and projected[:5].mean() > raw.mean() + 0.3
    assert projected[:5].min() > 0.5 > projected[5:].max()  # the 5 shared directions come first


def test_ridge_keeps_a_singular_problem_finite():
    X, Y = paired(n=40, d=12, seed=2)
    X[:, 3] = X[:, 2]  # rank-deficient
    fitted = cca(X, Y, ridge=1e-3)
    assert np.isfinite(fitted.A).all() and np.isfinite(fitted.correlations).all()
    assert np.allclose(fitted.B @ fitted.B_inverse, np.eye(12), atol=1e-6)


def problem(seed=3, langs=("en", "de", "fr")):
    """English and languages that are affine (not orthogonal) images of it plus noise; dictionary: first 300 rows."""
    rng = np.random.default_rng(seed)
    en = rng.standard_normal((500, 8)).astype(np.float32)
    matrices, rows = {"en": en}, {}
    for lang in langs[1:]:
        mixing = np.linalg.qr(rng.standard_normal((8, 8)))[0] * rng.uniform(0.5, 2.0, 8)  # well conditioned
        matrices[lang] = (en @ mixing + 0.05 * rng.standard_normal((500, 8)) + 1.0).astype(np.float32)
        rows[lang] = (np.arange(300), np.arange(300))
    words = {lang: [f"{lang}{i}" for i in range(500)] for lang in langs}
    return Problem("en", list(langs), matrices, words, rows)


@pytest.mark.parametrize("space", ["pivot", "cca"])
def test_multicca_puts_every_language_next_to_its_english_translation(space):
    p = problem()
    params = METHODS.get("cca").hparams(None, {"cca_space": space})
    fitted = fit_multicca(p, params)
    en = fitted.matrices["en"]
    if space == "pivot":
        assert np.array_equal(en, p.matrices["en"])  # multiCCA leaves English as it is
    held_out = slice(300, 500)  # words outside the dictionary
    for lang in ("de", "fr"):
        mapped = fitted.matrices[lang][held_out]
        error = np.linalg.norm(mapped - en[held_out]) / np.linalg.norm(en[held_out])
        before = np.linalg.norm(p.matrices[lang][held_out] - p.matrices["en"][held_out]) / np.linalg.norm(en[held_out])
        assert error < 0.25 < before, (lang, error, before)
        nearest = np.argmin(((mapped[:, None, :] - en[None, held_out, :]) ** 2).sum(-1), axis=1)
        assert (nearest == np.arange(200)).mean() > 0.95
        assert fitted.fit[lang]["pairs"] == 300 and fitted.fit[lang]["kept_dims"] == 8


def test_cca_ratio_keeps_the_most_correlated_directions():
    p = problem(seed=4)
    fitted = fit_multicca(p, METHODS.get("cca").hparams(None, {"cca_space": "cca", "cca_ratio": 0.5}))
    assert all(m.shape[1] == 4 for m in fitted.matrices.values())
    assert kept_dims(0.5, 300) == 150 and kept_dims(1.0, 300) == 300 and kept_dims(0.001, 300) == 1
    with pytest.raises(InputError, match="cca-ratio"):
        kept_dims(1.5, 300)


def test_unknown_cca_space_is_an_input_error():
    with pytest.raises(InputError, match="pivot, cca"):
        fit_multicca(problem(), METHODS.get("cca").hparams(None, {"cca_space": "nowhere"}))
