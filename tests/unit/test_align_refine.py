"""MUSE-style refinement: mutual CSLS nearest neighbours, and P@1 on the demo world never lowered."""

import numpy as np
import pytest

from cltc_tools.align.pipeline import align_spaces
from cltc_tools.align.problem import SpilledMatrices
from cltc_tools.align.refine import best_round, csls_mutual_pairs, csls_neighbours, held_out_split, refine
from cltc_tools.datasets.demo import DemoConfig, build_world, dictionary_pairs
from cltc_tools.io.space import LangBlock, write_space


def brute_mutual(src, tgt, k):
    S = src / np.linalg.norm(src, axis=1, keepdims=True)
    T = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = S @ T.T
    r_t = np.sort(cos, axis=1)[:, -k:].mean(1)
    r_s = np.sort(cos, axis=0)[-k:].mean(0)
    forward = (2 * cos - r_s[None, :]).argmax(1)
    backward = (2 * cos - r_t[:, None]).argmax(0)
    return [(i, int(forward[i])) for i in range(len(S)) if backward[forward[i]] == i]


def test_mutual_pairs_are_mutual_csls_nearest_neighbours():
    rng = np.random.default_rng(0)
    tgt = rng.standard_normal((150, 6)).astype(np.float32)
    src = tgt[rng.permutation(150)] + 0.6 * rng.standard_normal((150, 6)).astype(np.float32)
    src_rows, tgt_rows = csls_mutual_pairs(src, tgt, k=5, batch_size=16)
    assert list(zip(src_rows.tolist(), tgt_rows.tolist())) == brute_mutual(src, tgt, 5)
    assert len(src_rows) > 50 and len(set(tgt_rows.tolist())) == len(tgt_rows)


def test_refine_moves_only_the_non_pivot_languages_and_recovers_a_rotation():
    rng = np.random.default_rng(1)
    en = rng.standard_normal((400, 10)).astype(np.float32)
    q = np.linalg.qr(rng.standard_normal((10, 10)))[0]
    small, r = np.linalg.qr(np.eye(10) + 0.1 * rng.standard_normal((10, 10)))
    small *= np.sign(np.diag(r))  # a rotation close to the identity: a start slightly off
    de = (en @ small + 0.05 * rng.standard_normal((400, 10))).astype(np.float32)
    out, fit = refine({"en": en, "de": de}, "en", ["en", "de"], rounds=3, vocab=300)
    assert out["en"] is en
    assert np.linalg.norm(out["de"] - en) < 0.5 * np.linalg.norm(de - en)
    assert len(fit["pairs"]["de"]) == 3 and fit["pairs"]["de"][-1] > 250


def test_refine_of_spilled_matrices_gives_the_same_bytes_and_leaves_the_input_alone(tmp_path):
    """cltc-align refines from files, one language at a time; the library refines arrays: the same result."""
    rng = np.random.default_rng(2)
    en = rng.standard_normal((400, 10)).astype(np.float32)
    langs = {"en": en, "de": (en @ np.linalg.qr(rng.standard_normal((10, 10)))[0]
                              + 0.3 * rng.standard_normal((400, 10))).astype(np.float32)}
    kept = {lang: m.copy() for lang, m in langs.items()}
    spilled = SpilledMatrices(tmp_path)
    for lang, matrix in langs.items():
        spilled[lang] = matrix
    in_memory, _ = refine(langs, "en", ["en", "de"], rounds=2, vocab=300)
    on_disk, _ = refine(spilled, "en", ["en", "de"], rounds=2, vocab=300, out=SpilledMatrices(tmp_path))
    assert all(in_memory[lang].tobytes() == on_disk[lang].tobytes() for lang in langs)
    assert all(langs[lang].tobytes() == kept[lang].tobytes() for lang in langs)
    assert in_memory["de"].tobytes() != kept["de"].tobytes()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo world's spaces and dictionaries (cltc_tools.datasets.demo), en, de and it, 2,300 words each."""
    root = tmp_path_factory.mktemp("demo")
    world = build_world(DemoConfig(langs=("en", "de", "it"), n_concepts=2000, dict_train=1000, dict_test=400))
    for lang in world.config.langs:
        words = [world.words[lang][int(c)] for c in world.order[lang]]
        write_space(root / "spaces" / lang, [LangBlock(lang, words, world.vectors[lang])])
    (root / "dictionaries").mkdir()
    for lang in ("de", "it"):
        for split, pairs in dictionary_pairs(world, lang, "en").items():
            (root / "dictionaries" / f"{lang}-en.{split}.txt").write_text("".join(f"{a} {b}\n" for a, b in pairs))
    return root


@pytest.mark.parametrize("start", ["expert", "identical"])
def test_refinement_never_lowers_p_at_1_on_the_demo_world(demo, tmp_path, start):
    spaces = [demo / "spaces" / lang for lang in ("en", "de", "it")]
    expert = [demo / "dictionaries" / f"{lang}-en.train.txt" for lang in ("de", "it")]
    dicts = ["identical"] if start == "identical" else expert
    tests = [demo / "dictionaries" / f"{l}-en.test.txt" for l in ("de", "it")]
    scores = {}
    for rounds in (0, 2):
        result = align_spaces(spaces, tmp_path / f"r{rounds}", dicts=dicts, eval_dicts=tests,
                              options={"refine": rounds}, device="cpu")
        scores[rounds] = {ev.src_lang: ev.scores for ev in result.evaluations}
    for lang in ("de", "it"):
        before, after = scores[0][lang], scores[2][lang]
        assert after.nn["p@1"] >= before.nn["p@1"], (lang, before.nn, after.nn)
        assert after.csls["p@1"] >= before.csls["p@1"], (lang, before.csls, after.csls)
        if start == "identical":  # from a weak start, refinement is worth a lot
            assert after.nn["p@1"] >= before.nn["p@1"] + 5


def test_csls_neighbours_both_ways_equal_brute_force():
    rng = np.random.default_rng(7)
    src, tgt = rng.standard_normal((230, 12)), rng.standard_normal((190, 12))
    S = src / np.linalg.norm(src, axis=1, keepdims=True)
    T = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = S @ T.T
    r_t, r_s = np.sort(cos, axis=1)[:, -10:].mean(1), np.sort(cos, axis=0)[-10:].mean(0)
    forward, backward = csls_neighbours(src, tgt, 10, batch_size=64)  # several row blocks
    assert np.array_equal(forward, (2 * cos - r_s[None, :]).argmax(1))
    assert np.array_equal(backward, (2 * cos - r_t[:, None]).argmax(0))


def test_the_held_out_pairs_are_the_rarest_judgeable_words_with_all_their_translations():
    src = np.array([0, 1, 1, 5, 8, 8, 40, 9])
    tgt = np.array([3, 2, 7, 1, 4, 6, 1, 60])  # 40: source outside the vocabulary; 9: target outside
    (train_src, train_tgt), (held_src, held_tgt) = held_out_split((src, tgt), 0.5, vocab=20)
    assert held_src.tolist() == [5, 8, 8] and held_tgt.tolist() == [1, 4, 6]  # judgeable words 0, 1, 5, 8
    assert train_src.tolist() == [0, 1, 1, 40, 9]


def test_the_kept_round_never_lowers_a_language_and_prefers_more_rounds_on_ties():
    assert best_round([{"a": 50, "b": 40}, {"a": 55, "b": 39}, {"a": 51, "b": 41}]) == 2
    assert best_round([{"a": 50, "b": 40}, {"a": 49, "b": 45}]) == 0
    assert best_round([{"a": 50}, {"a": 52}, {"a": 52}, {"a": 51}]) == 2


def test_csls_neighbours_with_blocks_shorter_than_k():
    rng = np.random.default_rng(8)
    src, tgt = rng.standard_normal((50, 6)), rng.standard_normal((60, 6))
    assert [a.tolist() for a in csls_neighbours(src, tgt, 10, batch_size=4)] == \
        [a.tolist() for a in csls_neighbours(src, tgt, 10, batch_size=64)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_csls_neighbours_equal_brute_force_with_hubs_and_isolated_words(seed):
    """Hubs (near many rows: large penalty) and isolated words (near none: small penalty, so they win CSLS with a
    moderate cosine) are the cases where a row's CSLS-nearest row lies outside its nearest rows."""
    rng = np.random.default_rng(seed)
    src, tgt = rng.standard_normal((400, 8)), rng.standard_normal((500, 8))
    tgt[:15] += 3 * src.mean(axis=0)  # hubs
    tgt[15:40] = rng.standard_normal((25, 8)) * 0.05 + 4 * rng.standard_normal(8)  # a far, tight, isolated group
    src[:30] = tgt[15:45] + 0.3 * rng.standard_normal((30, 8))
    S = src / np.linalg.norm(src, axis=1, keepdims=True)
    T = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = S @ T.T
    r_t, r_s = np.sort(cos, axis=1)[:, -10:].mean(1), np.sort(cos, axis=0)[-10:].mean(0)
    forward, backward = csls_neighbours(src, tgt, 10, batch_size=64)
    assert np.array_equal(forward, (2 * cos - r_s[None, :]).argmax(1))
    assert np.array_equal(backward, (2 * cos - r_t[:, None]).argmax(0))
