"""The multi-step framework (Artetxe et al. 2018) and RCSLS (Joulin et al. 2018): mathematical properties."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
import torch

from cltc_tools.align.dictionary import IndexPairs
from cltc_tools.align.multistep import (
    DEFAULTS,
    dewhitening,
    fit_multistep,
    multistep_maps,
    orthogonal_mapping,
    reweighting,
    whitening,
)
from cltc_tools.align.problem import Problem, SpilledMatrices, carry, head
from cltc_tools.align.rcsls import DEFAULTS as RCSLS
from cltc_tools.align.rcsls import PRESETS, fit_rcsls, neighbourhood, pair_sums, rcsls, rcsls_loss_and_grad, unit_rows_
from cltc_tools.align.translation import word_translation


def world(seed: int = 0, n: int = 400, dim: int = 12, noise: float = 0.3):
    """A pivot space and a source space that is a hidden rotation of it, scaled per dimension, plus noise."""
    rng = np.random.default_rng(seed)
    pivot = rng.standard_normal((n, dim)) * np.linspace(2.0, 0.5, dim)
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    source = pivot @ rotation + noise * rng.standard_normal((n, dim))
    return source.astype(np.float32), pivot.astype(np.float32), rotation


def problem(source: np.ndarray, pivot: np.ndarray, train: int = 300, seed: int = 0) -> Problem:
    rows = np.arange(train)
    return Problem("en", ["en", "de"], {"en": pivot, "de": source},
                   {"en": [f"e{i}" for i in range(len(pivot))], "de": [f"d{i}" for i in range(len(source))]},
                   {"de": (rows, rows)}, seed)


def test_whitening_makes_the_covariance_of_the_dictionary_rows_the_identity():
    X, _, _ = world()
    W = whitening(X[:300])
    assert np.allclose((X[:300] @ W).T @ (X[:300] @ W), np.eye(X.shape[1]), atol=1e-6)
    assert np.allclose(W, W.T)  # the symmetric (ZCA) whitening


def test_orthogonal_mapping_diagonalises_the_cross_covariance():
    X, Z, _ = world()
    Wx, s, Wz = orthogonal_mapping(X, Z)
    assert np.allclose(Wx.T @ Wx, np.eye(len(s)), atol=1e-8) and np.allclose(Wz.T @ Wz, np.eye(len(s)), atol=1e-8)
    assert np.allclose((X @ Wx).T @ (Z @ Wz), np.diag(s), atol=1e-3)


def test_reweighting_by_0_is_the_identity_and_by_1_the_singular_values():
    s = np.array([3.0, 2.0, 0.5])
    assert np.allclose(reweighting(s, 0.0), np.eye(3))
    assert np.allclose(reweighting(s, 1.0), np.diag(s))
    assert np.allclose(reweighting(s, 0.5) @ reweighting(s, 0.5), np.diag(s))


def test_dewhitening_undoes_the_whitening():
    X, Z, _ = world()
    W1 = whitening(X)
    W2, _, _ = orthogonal_mapping(X @ W1, Z @ whitening(Z))
    assert np.allclose(W1 @ W2 @ dewhitening(W1, W2), W2, atol=1e-6)


def test_without_whitening_and_reweighting_the_framework_is_orthogonal_procrustes():
    X, Z, rotation = world(noise=0.0)
    params = {**DEFAULTS, "whiten": False, "src_reweight": 0.0, "trg_reweight": 0.0, "src_dewhiten": "none",
              "trg_dewhiten": "none"}
    Mx, Mz = multistep_maps(X, Z, params)
    assert np.allclose(Mz, np.eye(len(Mz)), atol=1e-6)  # the pivot is left as it is
    assert np.allclose(Mx, rotation.T, atol=1e-5)  # X Mx = Z: the hidden rotation recovered


def p_at_1(fitted, n_train: int = 300) -> float:
    test = np.arange(n_train, len(fitted["de"]))
    pairs = IndexPairs("de", "en", test, test, len(test), 0, len(test), "test")
    return word_translation(fitted["de"], fitted["en"], pairs, csls_k=10, device="cpu").csls["p@1"]


def test_multistep_with_one_language_is_deterministic_and_recovers_the_translation():
    X, Z, _ = world()
    a = fit_multistep(problem(X, Z), dict(DEFAULTS)).matrices
    b = fit_multistep(problem(X, Z), dict(DEFAULTS)).matrices
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert p_at_1(a) > 90


def hub_world(seed: int = 0, n: int = 600, dim: int = 12, noise: float = 0.8, pull: float = 2.0):
    """A hidden rotation of the pivot plus noise, and hubs: 30% of the source words pulled towards the images of a
    few pivot words (the hubness that CSLS, and so RCSLS, corrects and a least-squares map does not)."""
    rng = np.random.default_rng(seed)
    pivot = rng.standard_normal((n, dim)) * np.linspace(2.0, 0.5, dim)
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    source = pivot @ rotation + noise * rng.standard_normal((n, dim))
    source[rng.random(n) < 0.3] += pull * (pivot[:5].mean(axis=0) @ rotation)
    return source.astype(np.float32), pivot.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_rcsls_lowers_its_loss_and_never_scores_below_its_procrustes_start(seed):
    X, Z = hub_world(seed=seed)
    params = {**PRESETS["joulin"], "rcsls_negatives": 600}
    fitted = fit_rcsls(problem(X, Z, train=400, seed=seed), params)
    losses = fitted.fit["de"]["loss"]
    assert losses[-1] < losses[0] and all(b <= a for a, b in zip(losses, losses[1:]))
    start = fit_rcsls(problem(X, Z, train=400, seed=seed), {**params, "rcsls_steps": 0}).matrices
    assert p_at_1(fitted.matrices, 400) > p_at_1(start, 400)
    again = fit_rcsls(problem(X, Z, train=400, seed=seed), params).matrices
    assert np.array_equal(again["de"], fitted.matrices["de"])  # deterministic


def test_without_hubs_rcsls_stays_within_a_word_of_procrustes():
    """With a hidden rotation plus isotropic noise only, Procrustes is already the best map (least squares is the
    maximum likelihood there): RCSLS lowers its loss and stays within one test word (1 point) of its start."""
    for seed in range(4):
        X, Z, _ = world(seed=seed, noise=0.8)
        params = {**PRESETS["joulin"], "rcsls_negatives": 400}
        fitted = fit_rcsls(problem(X, Z, seed=seed), params)
        start = fit_rcsls(problem(X, Z, seed=seed), {**params, "rcsls_steps": 0}).matrices
        assert fitted.fit["de"]["loss"][-1] < fitted.fit["de"]["loss"][0]
        assert p_at_1(fitted.matrices) >= p_at_1(start) - 1.0


def test_rcsls_gradient_matches_finite_differences():
    gen = torch.Generator().manual_seed(0)
    A, B = unit_rows_(torch.randn(30, 5, generator=gen, dtype=torch.float64)), unit_rows_(
        torch.randn(30, 5, generator=gen, dtype=torch.float64))
    pairs = pair_sums(A, np.arange(30), B, np.arange(30))
    W = torch.eye(5, dtype=torch.float64) + 0.1 * torch.randn(5, 5, generator=gen, dtype=torch.float64)
    loss, grad = rcsls_loss_and_grad(W, pairs, A, B, 3)
    E = torch.zeros(5, 5, dtype=torch.float64)
    E[1, 2] = 1e-6
    numeric = (rcsls_loss_and_grad(W + E, pairs, A, B, 3)[0] - loss) / 1e-6
    assert numeric == pytest.approx(float(grad[1, 2]), rel=1e-3, abs=1e-6)


def test_rcsls_loss_of_pair_sums_is_the_loss_of_every_pair_with_its_repeats():
    """Joulin et al.'s eq. 4 written out pair by pair (a word with several translations counts once per pair)."""
    gen = torch.Generator().manual_seed(1)
    X, Z = (unit_rows_(torch.randn(40, 6, generator=gen, dtype=torch.float64)) for _ in range(2))
    src, tgt = np.array([0, 0, 0, 3, 5, 5, 9, 12]), np.array([1, 2, 7, 3, 5, 30, 9, 2])
    W = torch.eye(6, dtype=torch.float64) + 0.2 * torch.randn(6, 6, generator=gen, dtype=torch.float64)
    k, terms = 4, []
    for i, j in zip(src, tgt):
        aw, b = X[i] @ W, Z[j]
        terms.append(-2 * aw @ b + (Z @ aw).topk(k).values.mean() + ((X @ W) @ b).topk(k).values.mean())
    loss, _ = rcsls_loss_and_grad(W, pair_sums(X, src, Z, tgt), X, Z, k)
    assert loss == pytest.approx(float(torch.stack(terms).mean()), abs=1e-12)


def test_rcsls_searches_the_mapped_sources_through_the_transposed_map():
    """<x W, b> = <x, b W^T>: the target rows' neighbourhoods among the mapped sources, without mapping them."""
    X, Z, _ = world(noise=0.5)
    XN, B = unit_rows_(torch.from_numpy(X.copy())), unit_rows_(torch.from_numpy(Z[:200].copy()))
    W = torch.from_numpy(np.linalg.qr(np.random.default_rng(3).standard_normal((X.shape[1],) * 2))[0].astype(np.float32))
    means, sims = neighbourhood(B, XN @ W, XN, 5)
    means_t, sims_t = neighbourhood(B @ W.T, XN, XN, 5)
    assert torch.allclose(sims, sims_t, atol=1e-5) and torch.allclose(means, means_t, atol=1e-5)


def test_rcsls_spectral_projection_keeps_the_map_in_the_unit_ball():
    X, Z, _ = world(noise=0.8)
    A, B = unit_rows_(torch.from_numpy(X[:300].copy())), unit_rows_(torch.from_numpy(Z[:300].copy()))
    pairs = pair_sums(A, np.arange(300), B, np.arange(300))
    W, _ = rcsls(pairs, A, B, torch.eye(X.shape[1]), {**RCSLS, "rcsls_steps": 3, "rcsls_lr": 50.0})
    assert float(torch.linalg.matrix_norm(W, ord=2)) <= 1 + 1e-5


def test_self_learning_keeps_the_gold_pairs_and_lifts_a_small_seed():
    from cltc_tools.align.procrustes import fit_procrustes
    from cltc_tools.align.refine import refine_fitted, with_seed

    X, Z, _ = world(n=600, noise=0.5)
    seed = np.arange(40)
    small = Problem("en", ["en", "de"], {"en": Z, "de": X}, {}, {"de": (seed, seed)}, 0)
    params = {"sv_threshold": None, "refine": 2, "refine_vocab": 600, "refine_method": "self-learning"}
    start = fit_procrustes(small, params)
    refined, info = refine_fitted(small, fit_procrustes, params, start)
    assert p_at_1(refined.matrices, 300) > p_at_1(start.matrices, 300)
    assert info["method"] == "self-learning" and len(info["pairs"]["de"]) == 2 and info["pairs"]["de"][0] > 40
    src, tgt = with_seed((seed, seed), (np.array([0, 7, 41]), np.array([1, 7, 41])))
    assert src.tolist() == [*range(40), 0, 41] and tgt.tolist() == [*range(40), 1, 41]  # gold first, then new


def spilled(matrices: dict[str, np.ndarray], folder) -> SpilledMatrices:
    out = SpilledMatrices(folder)
    for lang, matrix in matrices.items():
        out[lang] = matrix
    return out


def test_spilled_matrices_read_back_what_was_stored_and_vanish_with_the_object(tmp_path, monkeypatch):
    X, Z, _ = world()
    store = spilled({"en": Z, "de": X}, tmp_path)
    assert list(store) == ["en", "de"] and np.array_equal(store["de"], X) and store["de"].dtype == np.float32
    assert np.array_equal(head(store, "en", 7), Z[:7]) and np.array_equal(store.on_disk("de")[5:9], X[5:9])
    other = SpilledMatrices(tmp_path)
    carry(other, store, "en")  # shared, and replacing it in one store leaves the other as it was
    store["en"] = Z * 2
    assert np.array_equal(other["en"], Z) and np.array_equal(store["en"], Z * 2)
    with pytest.raises(KeyError):
        store["fr"]
    monkeypatch.setattr("os.link", lambda *args: (_ for _ in ()).throw(OSError("no hard links here")))
    copied = SpilledMatrices(tmp_path)
    carry(copied, other, "en")
    assert np.array_equal(copied["en"], Z)
    folders = {store.folder, other.folder, copied.folder}
    del store, other, copied
    assert not any(folder.exists() for folder in folders)


@pytest.mark.parametrize("method", ["procrustes", "multistep", "rcsls"])
def test_a_fit_spilled_to_disk_gives_the_same_bytes_as_in_memory(tmp_path, method):
    from cltc_tools.align.registry import METHODS

    X, Z = hub_world()
    params = METHODS.get(method).hparams(None, {})
    in_memory = METHODS.get(method).fit(problem(X, Z), params).matrices
    on_disk = problem(X, Z)
    on_disk = dataclasses.replace(on_disk, matrices=spilled(dict(on_disk.matrices), tmp_path), spill=tmp_path)
    fitted = METHODS.get(method).fit(on_disk, params).matrices
    assert isinstance(fitted, SpilledMatrices) and list(fitted) == list(in_memory) == ["en", "de"]
    assert all(np.array_equal(fitted[lang], in_memory[lang]) for lang in in_memory)


@pytest.mark.parametrize("whiten", [True, False])
def test_maps_of_many_pairs_from_block_sums_equal_those_of_the_gathered_rows(whiten, monkeypatch):
    """A self-learning round hands the framework tens of thousands of pairs: summed in blocks, the same maps."""
    procrustes = importlib.import_module("cltc_tools.align.procrustes")
    multistep = importlib.import_module("cltc_tools.align.multistep")
    monkeypatch.setattr(multistep, "ONE_PRODUCT", 100)
    monkeypatch.setattr(multistep, "PAIR_BLOCK", 64)
    monkeypatch.setattr(procrustes, "ONE_PRODUCT", 100)
    rng = np.random.default_rng(5)
    source = rng.standard_normal((400, 10)).astype(np.float32)
    pivot = rng.standard_normal((300, 10)).astype(np.float32)
    src, tgt = rng.integers(0, 400, 997), rng.integers(0, 300, 997)
    params = {**multistep.DEFAULTS, "whiten": whiten}
    blocks = multistep.multistep_maps_of_rows(source, src, pivot, tgt, params)
    whole = multistep.multistep_maps(source[src], pivot[tgt], params)
    for ours, expected in zip(blocks, whole):
        assert np.allclose(ours, expected, rtol=1e-9, atol=1e-9)
