"""The join of Appendix B: multivariate least squares, exact (lstsq) and by SGD."""

import numpy as np
import pytest

from cltc_tools.align.regression import least_squares_map, relative_residual, sgd_map, solve_map


@pytest.fixture
def case():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    A = np.eye(20) + 0.3 * rng.standard_normal((20, 20))
    Y = X @ A + 0.01 * rng.standard_normal((2000, 20))
    return X, Y


def test_least_squares_map_equals_numpy_lstsq(case):
    X, Y = case
    assert np.allclose(least_squares_map(X, Y), np.linalg.lstsq(X, Y, rcond=None)[0], atol=1e-12)
    assert np.array_equal(solve_map(X, Y, "lstsq"), least_squares_map(X, Y))


def test_least_squares_map_recovers_an_exact_linear_map():
    rng = np.random.default_rng(1)
    X, A = rng.standard_normal((100, 7)), rng.standard_normal((7, 7))
    assert np.allclose(least_squares_map(X, X @ A), A)


def test_sgd_gets_close_to_the_least_squares_solution(case):
    X, Y = case
    exact = least_squares_map(X, Y)
    W = sgd_map(X, Y, passes=30, seed=0)
    assert np.linalg.norm(W - exact) / np.linalg.norm(exact) < 0.05
    assert relative_residual(X, Y, W) < 1.5 * relative_residual(X, Y, exact)
    assert np.array_equal(W, sgd_map(X, Y, passes=30, seed=0))
    with pytest.raises(ValueError, match="unknown solver"):
        solve_map(X, Y, "vw")
