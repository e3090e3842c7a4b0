"""Procrustes, VecMap normalisation steps and dictionary row pairs: properties, not shapes."""

import importlib

import numpy as np
import pytest

from cltc_tools.align.dictionary import IDENTICAL, concat, identical_pairs, index_pairs, require_usable
from cltc_tools.align.normalize import normalize, parse_steps
from cltc_tools.align.procrustes import procrustes, reduced_procrustes
from cltc_tools.align.registry import METHODS
from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import Dictionary


def random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def test_procrustes_is_orthogonal():
    rng = np.random.default_rng(0)
    W = procrustes(rng.standard_normal((200, 30)), rng.standard_normal((200, 30)))
    assert np.allclose(W @ W.T, np.eye(30), atol=1e-10)
    assert np.allclose(W.T @ W, np.eye(30), atol=1e-10)


@pytest.mark.parametrize("pairs", [50, 997])
def test_cross_covariance_in_blocks_equals_the_product_of_the_gathered_pairs(pairs, monkeypatch):
    module = importlib.import_module("cltc_tools.align.procrustes")  # the package exports the function
    monkeypatch.setattr(module, "ONE_PRODUCT", 100)
    monkeypatch.setattr(module, "MAP_ROWS", 64)
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((300, 12)).astype(np.float32), rng.standard_normal((200, 12)).astype(np.float32)
    src, tgt = rng.integers(0, 300, pairs), rng.integers(0, 200, pairs)
    expected = X[src].astype(np.float64).T @ Y[tgt].astype(np.float64)
    assert np.allclose(module.cross_covariance(X, src, Y, tgt), expected, rtol=1e-12, atol=1e-10)


def test_procrustes_recovers_a_rotation_from_noisy_pairs():
    rng = np.random.default_rng(1)
    Q = random_rotation(25, rng)
    X = rng.standard_normal((500, 25)).astype(np.float32)
    Y = X @ Q + 0.05 * rng.standard_normal((500, 25))
    W = procrustes(X, Y)
    assert np.abs(W - Q).max() < 0.02
    assert np.linalg.norm(X @ W - Y) < np.linalg.norm(X @ random_rotation(25, rng) - Y)


def test_procrustes_is_the_least_squares_orthogonal_map():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6))
    best = np.linalg.norm(X @ procrustes(X, Y) - Y)
    assert all(best <= np.linalg.norm(X @ random_rotation(6, rng) - Y) + 1e-9 for _ in range(200))


def test_procrustes_is_registered_and_unknown_methods_list_it():
    assert METHODS.get("procrustes").name == "procrustes"
    with pytest.raises(InputError, match="procrustes"):
        METHODS.get("unknown")


@pytest.fixture
def matrix():
    rng = np.random.default_rng(3)
    X = (rng.standard_normal((50, 8)) * rng.uniform(0.5, 4, 8) + 3).astype(np.float32)
    X[7] = 0
    return X


def test_unit_gives_unit_rows_and_keeps_zero_rows(matrix):
    out = normalize(matrix, ["unit"])
    norms = np.linalg.norm(out, axis=1)
    assert np.allclose(np.delete(norms, 7), 1, atol=1e-6) and norms[7] == 0
    cos = (matrix[0] @ matrix[1]) / np.linalg.norm(matrix[0]) / np.linalg.norm(matrix[1])
    assert np.isclose(out[0] @ out[1], cos, atol=1e-6)


def test_center_gives_zero_mean_dimensions(matrix):
    out = normalize(matrix, ["center"])
    assert np.allclose(out.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(out[3] - out[4], matrix[3] - matrix[4], atol=1e-5)


def test_unitdim_gives_unit_length_dimensions(matrix):
    out = normalize(matrix, ["unitdim"])
    assert np.allclose(np.linalg.norm(out, axis=0), 1, atol=1e-6)


def test_steps_apply_in_the_given_order(matrix):
    unit_center = normalize(matrix, parse_steps("unit,center"))
    assert np.allclose(unit_center.mean(axis=0), 0, atol=1e-6)
    assert not np.allclose(np.linalg.norm(unit_center, axis=1), 1, atol=1e-3)
    center_unit = normalize(matrix, parse_steps("unit,center,unit"))
    assert np.allclose(np.delete(np.linalg.norm(center_unit, axis=1), 7), 1, atol=1e-6)
    assert not np.allclose(unit_center, normalize(matrix, parse_steps("center,unit")), atol=1e-3)
    assert normalize(matrix, parse_steps("none")).tobytes() == matrix.tobytes()


def test_normalize_leaves_its_input_alone(matrix):
    before = matrix.copy()
    normalize(matrix, ["unit", "center", "unitdim"])
    assert np.array_equal(matrix, before)


def test_unknown_step_lists_the_known_ones():
    with pytest.raises(InputError, match="center, unit, unitdim"):
        parse_steps("unit,whiten")


def test_index_pairs_count_missing_words_and_drop_duplicates():
    d = Dictionary("de", "en", [("haus", "house"), ("haus", "home"), ("xyz", "house"), ("katze", "cat"),
                                ("haus", "house")], path="de-en.txt")
    pairs = index_pairs(d, {"haus": 0, "katze": 5}, {"house": 2, "home": 9, "cat": 1})
    assert list(zip(pairs.src, pairs.tgt)) == [(0, 2), (0, 9), (5, 1)]
    assert (pairs.pairs, pairs.missing, pairs.src_words) == (5, 1, 3)


def test_dictionary_without_usable_pairs_names_its_file():
    d = Dictionary("de", "en", [("xyz", "house")], path="dicts/de-en.txt")
    with pytest.raises(InputError, match=r"^dicts/de-en.txt: none of the 1"):
        require_usable(index_pairs(d, {"haus": 0}, {"house": 0}))


def test_identical_pairs_follow_source_frequency_and_are_capped():
    src = ["der", "berlin", "und", "paris", "2019", "berlin"]
    tgt = {"paris": 0, "the": 1, "berlin": 2, "2019": 3}
    pairs = identical_pairs("de", "en", src, tgt)
    assert list(zip(pairs.src, pairs.tgt)) == [(1, 2), (3, 0), (4, 3)]
    capped = identical_pairs("de", "en", src, tgt, limit=2)
    assert list(zip(capped.src, capped.tgt)) == [(1, 2), (3, 0)] and capped.source == IDENTICAL


def test_concat_keeps_first_occurrence_order_without_duplicates():
    a = index_pairs(Dictionary("de", "en", [("b", "y"), ("a", "x")]), {"a": 0, "b": 1}, {"x": 0, "y": 1})
    b = index_pairs(Dictionary("de", "en", [("a", "x"), ("a", "y")]), {"a": 0, "b": 1}, {"x": 0, "y": 1})
    src, tgt = concat([a, b])
    assert list(zip(src, tgt)) == [(1, 1), (0, 0), (0, 1)]


# --- the paper's dimensionality reduction (Appendix A): singular directions above a threshold


def test_sv_threshold_keeps_the_directions_above_it():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 10))
    Y = X @ random_rotation(10, rng) * np.array([3.0] * 6 + [0.01] * 4)  # 4 nearly dead target directions
    singular = np.linalg.svd(X.T @ Y, compute_uv=False)
    threshold = (singular[5] + singular[6]) / 2
    W, kept = reduced_procrustes(X, Y, threshold)
    assert kept == 6 == (singular > threshold).sum()
    assert np.linalg.matrix_rank(W, tol=1e-8) == 6
    assert np.allclose(W @ W.T @ W, W, atol=1e-10)  # a partial isometry: a rotation of the kept subspace
    U, _, Vt = np.linalg.svd(X.T @ Y)
    assert np.allclose(W, U[:, :6] @ Vt[:6], atol=1e-10)


def test_sv_threshold_below_every_singular_value_is_plain_procrustes():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((80, 7)), rng.standard_normal((80, 7))
    W, kept = reduced_procrustes(X, Y, 1e-9)
    assert kept == 7 and np.allclose(W, procrustes(X, Y))
    assert reduced_procrustes(X, Y, None)[1] == 7


def test_sv_threshold_above_every_singular_value_keeps_one_direction():
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((50, 5)), rng.standard_normal((50, 5))
    W, kept = reduced_procrustes(X, Y, 1e12)
    assert kept == 1 and np.linalg.matrix_rank(W) == 1


def test_reduction_drops_the_directions_the_pivot_lacks_and_keeps_the_rest_exact():
    rng = np.random.default_rng(7)
    X = 20 * np.linalg.qr(rng.standard_normal((400, 8)))[0]  # X^T X = 400 I
    Y = X @ random_rotation(8, rng)
    Y[:, 5:] *= 1e-4  # the pivot barely varies along three of its directions: singular values 400 and 0.04
    W, kept = reduced_procrustes(X, Y, 1.0)
    mapped = X @ W
    assert kept == 5
    assert np.abs(mapped[:, 5:]).max() < 1e-9
    assert np.allclose(mapped[:, :5], Y[:, :5], atol=1e-9)
    assert (np.linalg.norm(mapped, axis=1) <= np.linalg.norm(X, axis=1) + 1e-9).all()


def test_mapping_in_place_gives_the_same_bytes_and_no_second_matrix():
    from cltc_tools.align.procrustes import mapped

    rng = np.random.default_rng(3)
    X = rng.standard_normal((1000, 20)).astype(np.float32)
    W = random_rotation(20, rng)
    kept = X.copy()
    apart = mapped(X, W, block=64)
    assert X.tobytes() == kept.tobytes()
    Y = X.copy()
    over = mapped(Y, W, block=64, in_place=True)
    assert over is Y and over.tobytes() == apart.tobytes() == (X @ W).astype(np.float32).tobytes()
    assert mapped(X, W[:, :5], in_place=True).shape == (1000, 5)  # another width: a new matrix, X untouched
    assert X.tobytes() == kept.tobytes()


def test_head_is_an_array_of_its_own():
    from cltc_tools.align.problem import head

    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    rows = head({"de": X}, "de", 3)
    rows *= 0
    assert X[:3].sum() > 0
