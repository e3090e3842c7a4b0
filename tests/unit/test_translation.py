"""Word-translation P@k (NN and CSLS) against a brute-force plain-numpy implementation."""

import numpy as np
import pytest
import torch

from cltc_tools.align.dictionary import index_pairs
from cltc_tools.align.translation import (
    best_rank,
    csls_nearest,
    k_largest_values,
    mean_knn_similarity,
    probe_rows,
    progressive_penalty,
    rows_per_block,
    source_order,
    unit_rows,
    word_translation,
)
from cltc_tools.io.dictionaries import Dictionary


def brute_force(src, tgt, gold, csls_k, ks=(1, 5, 10)):
    """Plain loops over words: gold maps a source row to its in-vocabulary target rows."""
    S = src / np.linalg.norm(src, axis=1, keepdims=True)
    T = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    r_T = [np.sort(S[i] @ T.T)[::-1][:csls_k].mean() for i in range(len(S))]
    r_S = [np.sort(T[j] @ S.T)[::-1][:csls_k].mean() for j in range(len(T))]
    hits = {"nn": dict.fromkeys(ks, 0), "csls": dict.fromkeys(ks, 0)}
    for i, targets in gold.items():
        cos = S[i] @ T.T
        csls = [2 * cos[j] - r_T[i] - r_S[j] for j in range(len(T))]
        for name, score in (("nn", cos), ("csls", np.array(csls))):
            order = list(np.argsort(-score))
            rank = min(order.index(j) for j in targets)
            for k in ks:
                hits[name][k] += rank < k
    return hits


@pytest.fixture
def case():
    """A noisy 'translation' of 80 source words among 120 target words, with OOV and multi-target pairs."""
    rng = np.random.default_rng(7)
    tgt = rng.standard_normal((120, 16)).astype(np.float32)
    truth = rng.permutation(120)[:80]
    src = (tgt[truth] + 1.3 * rng.standard_normal((80, 16))).astype(np.float32)
    src_words = [f"s{i}" for i in range(80)]
    tgt_words = [f"t{j}" for j in range(120)]
    pairs = [(f"s{i}", f"t{truth[i]}") for i in range(0, 80, 2)]
    pairs += [(f"s{i}", f"t{(truth[i] + 1) % 120}") for i in range(0, 80, 6)]  # second translations
    pairs += [("oov-src", "t1"), ("s3", "oov-tgt"), ("oov2", "oov3")]  # s3 has no in-vocab translation
    d = Dictionary("xx", "yy", pairs, path="xx-yy.txt")
    idx = index_pairs(d, {w: i for i, w in enumerate(src_words)}, {w: j for j, w in enumerate(tgt_words)})
    return src, tgt, idx


def gold_of(idx, n_src=10**9, n_tgt=10**9):
    gold = {}
    for i, j in zip(idx.src, idx.tgt):
        if i < n_src and j < n_tgt:
            gold.setdefault(int(i), set()).add(int(j))
    return gold


@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_precision_matches_brute_force(case, batch_size):
    src, tgt, idx = case
    gold = gold_of(idx)
    scores = word_translation(src, tgt, idx, csls_k=4, batch_size=batch_size, device="cpu")
    hits = brute_force(src, tgt, gold, csls_k=4)
    assert scores.covered_words == len(gold) == 40
    assert scores.src_words == 43  # 40 covered + s3 + 2 OOV source words
    for name in ("nn", "csls"):
        assert getattr(scores, name) == {f"p@{k}": round(100 * h / 40, 2) for k, h in hits[name].items()}
        assert getattr(scores, f"{name}_all") == {f"p@{k}": round(100 * h / 43, 2) for k, h in hits[name].items()}
    assert scores.csls["p@1"] != scores.nn["p@1"]  # the case is not degenerate


def test_vocabulary_cap_searches_only_the_most_frequent_words(case):
    src, tgt, idx = case
    scores = word_translation(src, tgt, idx, csls_k=3, vocab=60, device="cpu")
    gold = gold_of(idx, 60, 60)
    hits = brute_force(src[:60], tgt[:60], gold, csls_k=3)
    assert scores.covered_words == len(gold)
    assert scores.csls == {f"p@{k}": round(100 * h / len(gold), 2) for k, h in hits["csls"].items()}
    assert scores.nn == {f"p@{k}": round(100 * h / len(gold), 2) for k, h in hits["nn"].items()}


def test_perfect_translation_scores_100():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5)).astype(np.float32)
    d = Dictionary("a", "b", [(f"w{i}", f"w{i}") for i in range(30)] + [("zz", "w0")])
    idx = index_pairs(d, {f"w{i}": i for i in range(30)}, {f"w{i}": i for i in range(30)})
    scores = word_translation(X, X, idx, device="cpu")
    assert scores.nn["p@1"] == scores.csls["p@1"] == 100.0
    assert scores.nn_all["p@1"] == round(100 * 30 / 31, 2) and scores.coverage == round(30 / 31, 4)


def test_mean_knn_similarity_is_the_mean_of_the_k_largest_cosines():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((17, 6)), rng.standard_normal((23, 6))
    r = mean_knn_similarity(unit_rows(A, torch.device("cpu")), unit_rows(B, torch.device("cpu")), 5, block=4)
    An, Bn = A / np.linalg.norm(A, axis=1)[:, None], B / np.linalg.norm(B, axis=1)[:, None]
    assert np.allclose(r.numpy(), np.sort(An @ Bn.T, axis=1)[:, -5:].mean(axis=1), atol=1e-6)


def test_best_rank_takes_the_best_placed_gold_translation():
    ranked = np.array([[4, 2, 9], [1, 0, 3]])
    rank = best_rank(ranked, np.array([0, 0, 1]), np.array([9, 2, 7]))
    assert rank[0] == 1 and rank[1] > 10**6


def test_block_fits_the_memory_budget():
    rows = rows_per_block(200_000)
    assert rows * 200_000 * 4 <= 256 * 2**20 < (rows + 1) * 200_000 * 4
    assert rows_per_block(10, batch_size=3) == 3 and rows_per_block(10**12) == 1


def test_no_covered_word_scores_zero_everywhere(case):
    src, tgt, idx = case
    scores = word_translation(src, tgt, idx, vocab=1, device="cpu")
    assert scores.covered_words == 0 and scores.nn == scores.csls_all == {"p@1": 0.0, "p@5": 0.0, "p@10": 0.0}
    assert "coverage 0/43" in scores.line("xx", "yy")


# --- exact CSLS with r_S computed only for the targets that can win


def hubby(n_src=1500, n_tgt=2500, dim=24, seed=11):
    """Source words mapped near target words, plus hubs: targets close to many sources (the case CSLS is for)."""
    rng = np.random.default_rng(seed)
    tgt = rng.standard_normal((n_tgt, dim)).astype(np.float32)
    tgt[:40] += 2.5 * rng.standard_normal(dim).astype(np.float32)  # 40 hubs around one direction
    src = tgt[:n_src] + 1.1 * rng.standard_normal((n_src, dim)).astype(np.float32)
    src[rng.random(n_src) < 0.3] += 1.5 * tgt[0]  # pulled towards the hubs
    return src, tgt


def full_csls_ranking(src, tgt, queries, k, n):
    S = src / np.linalg.norm(src, axis=1, keepdims=True)
    T = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    full = T @ S.T
    r_S = np.sort(full, axis=1)[:, -k:].mean(axis=1)
    scores = 2 * S[queries] @ T.T - r_S[None, :]
    return np.argsort(-scores, axis=1, kind="stable")[:, :n]


@pytest.mark.parametrize("n, first, block", [(1, 200, 64), (10, 200, 64), (5, 600, 100)])
def test_progressive_csls_ranking_equals_the_full_ranking(n, first, block, monkeypatch):
    import cltc_tools.align.translation as translation

    monkeypatch.setattr(translation, "SOURCE_BLOCK", 97)  # many source blocks, the last one short
    src, tgt = hubby()
    queries = np.arange(0, 1500, 7)
    S, T = unit_rows(src, torch.device("cpu")), unit_rows(tgt, torch.device("cpu"))
    order = source_order(queries, S, T)
    ranked = csls_nearest(S[torch.as_tensor(queries)], S, T, 10, n, order, block, block, first=first)
    assert np.array_equal(ranked, full_csls_ranking(src, tgt, queries, 10, n))


def test_progressive_ranking_with_fewer_source_words_than_k():
    src, tgt = hubby(n_src=6, n_tgt=800, seed=5)
    queries = np.array([0, 3])
    S, T = unit_rows(src, torch.device("cpu")), unit_rows(tgt, torch.device("cpu"))
    ranked = csls_nearest(S[torch.as_tensor(queries)], S, T, 10, 5, source_order(queries, S, T), 64, 64, first=2)
    assert np.array_equal(ranked, full_csls_ranking(src, tgt, queries, 6, 5))


def test_progressive_penalty_is_exact_where_known_and_skips_most_targets():
    src, tgt = hubby(seed=12)
    queries = np.arange(0, 1500, 11)
    S, T = unit_rows(src, torch.device("cpu")), unit_rows(tgt, torch.device("cpu"))
    r_src, known = T.new_zeros(len(T)), torch.zeros(len(T), dtype=torch.bool)
    steps = []
    progressive_penalty(S[torch.as_tensor(queries)], S, T, 10, 1, source_order(queries, S, T), 64, 64, r_src,
                        known, advance=steps.append, first=300)
    exact = mean_knn_similarity(T, S, 10, 64)
    assert torch.allclose(r_src[known], exact[known], atol=1e-6)
    assert 0 < int(known.sum()) < len(T) // 2 and sum(steps) == len(T)


def test_source_order_visits_every_source_once_probes_first():
    src, tgt = hubby()
    S, T = unit_rows(src, torch.device("cpu")), unit_rows(tgt, torch.device("cpu"))
    queries = np.array([3, 1, 8])
    order = source_order(queries, S, T)
    assert sorted(order) == list(range(len(S)))
    assert list(order[:3]) == [3, 1, 8]


def test_probe_rows_are_the_queries_then_the_sources_nearest_the_target_centroid():
    rng = np.random.default_rng(4)
    T = unit_rows(rng.standard_normal((50, 6)) + 3.0, torch.device("cpu"))
    S = unit_rows(rng.standard_normal((12, 6)), torch.device("cpu"))
    rows = probe_rows(np.array([5, 2, 9]), S, T, extra=4)
    closeness = (S @ T.mean(0)).numpy()
    expected = [i for i in np.argsort(-closeness) if i not in (5, 2, 9)][:4]
    assert list(rows) == [5, 2, 9, *expected] and len(set(rows)) == len(rows)
    assert sorted(probe_rows(np.array([1]), S[:3], T, extra=10)) == [0, 1, 2]


def test_k_largest_values_of_a_subset_bound_the_k_nearest_from_below():
    rng = np.random.default_rng(3)
    keys, queries = unit_rows(rng.standard_normal((300, 8)), torch.device("cpu")), unit_rows(
        rng.standard_normal((50, 8)), torch.device("cpu"))
    exact = mean_knn_similarity(queries, keys, 10, 16)
    for subset in (keys[:5], keys[:40], keys):
        bound = k_largest_values(queries, subset, 10, 16).mean(dim=1)
        assert (bound <= exact + 1e-6).all()
    assert torch.allclose(k_largest_values(queries, keys, 10, 16).mean(dim=1), exact, atol=1e-6)
    assert (k_largest_values(queries, keys[:3], 10, 16)[:, 3:] == -1).all()


def test_word_translation_on_a_hubby_vocabulary_matches_brute_force_precision():
    src, tgt = hubby(n_src=1200, n_tgt=1800, seed=13)
    rows = np.arange(0, 1200, 13)
    d = Dictionary("xx", "yy", [(f"s{i}", f"t{i}") for i in rows])
    idx = index_pairs(d, {f"s{i}": i for i in range(1200)}, {f"t{j}": j for j in range(1800)})
    scores = word_translation(src, tgt, idx, csls_k=10, device="cpu")
    ranked = full_csls_ranking(src, tgt, rows, 10, 10)
    for k in (1, 5, 10):
        expected = round(100 * np.mean([i in ranked[q, :k] for q, i in enumerate(rows)]), 2)
        assert scores.csls[f"p@{k}"] == expected


# --- tiled exact top-k, the CSLS top-1 primitive, r_S shared across dictionaries


@pytest.mark.parametrize("cols, k", [(1000, 10), (333, 7), (64, 3), (40, 10), (5, 10)])
def test_k_largest_through_group_maxima_is_exact(cols, k):
    from cltc_tools.align.translation import k_largest

    rng = np.random.default_rng(cols)
    scores = torch.as_tensor(rng.standard_normal((9, cols)).astype(np.float32))
    scores[0, :] = 0.5  # all tied
    scores[1, ::3] = 2.0  # many ties among the largest
    values, cols_found = k_largest(scores, k, group=8)
    expected = torch.sort(scores, dim=1, descending=True).values[:, :k]
    assert torch.equal(values, expected)
    assert torch.equal(scores.gather(1, cols_found), values)  # the columns hold those values


def test_csls_top1_is_the_argmax_of_the_csls_score_and_returns_r_of_the_queries():
    from cltc_tools.align.translation import csls_top1

    src, tgt = hubby(n_src=300, n_tgt=500, seed=5)
    S, T = unit_rows(src, torch.device("cpu")), unit_rows(tgt, torch.device("cpu"))
    top, r_queries = csls_top1(S, T, 10, block=37)
    cos = (S @ T.T).numpy()
    r_keys = np.sort(cos.T, axis=1)[:, -10:].mean(axis=1)
    assert np.array_equal(top.numpy(), np.argmax(2 * cos - r_keys[None, :], axis=1))
    assert np.allclose(r_queries.numpy(), np.sort(cos, axis=1)[:, -10:].mean(axis=1), atol=1e-6)


def test_pruned_evaluation_matches_the_full_ranking_and_reuses_r_S_across_dictionaries(monkeypatch):
    import cltc_tools.align.translation as translation

    src, tgt = hubby(n_src=1500, n_tgt=2500, seed=21)
    rows = np.arange(0, 1500, 100)  # 15 queries x 10 <= 10% of the targets: the bounds prune
    pair = translation.SpacePair.of(src, tgt, 10)
    counted = []
    original = translation.mean_knn_similarity

    def spy(q, keys, k, block, advance=None):
        counted.append(len(q))
        return original(q, keys, k, block, advance)

    monkeypatch.setattr(translation, "mean_knn_similarity", spy)
    d = Dictionary("xx", "yy", [(f"s{i}", f"t{i}") for i in rows])
    idx = index_pairs(d, {f"s{i}": i for i in range(1500)}, {f"t{j}": j for j in range(2500)})
    first = translation.translation_scores(pair, idx)
    assert 0 < sum(counted) < len(tgt)  # r_S of part of the vocabulary only
    ranked = full_csls_ranking(src, tgt, rows, 10, 10)
    for k in (1, 5, 10):
        assert first.csls[f"p@{k}"] == round(100 * np.mean([i in ranked[q, :k] for q, i in enumerate(rows)]), 2)
    counted.clear()
    again = translation.translation_scores(pair, idx)
    assert again == first and sum(counted) == 0  # the same pair: nothing recomputed


def test_device_names_resolve_without_loading_torch_for_the_cpu():
    import subprocess
    import sys

    from cltc_tools.align.translation import device_name
    from cltc_tools.errors import InputError

    assert device_name("cpu") == "cpu"
    with pytest.raises(InputError, match="unknown device"):
        device_name("tpu")
    code = "import sys; from cltc_tools.align.translation import device_name; device_name('cpu'); " \
           "print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
