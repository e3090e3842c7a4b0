"""Every cltc-align method on the shared ELTeC vectors (de -> en) with the MUSE dictionaries and OMW constraints."""

import numpy as np
import pytest

from cltc_tools.align.cca import cca
from cltc_tools.align.constraints import read_constraints
from cltc_tools.align.normalize import normalize
from cltc_tools.align.pipeline import align_spaces
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import read_vec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(shared_data):
    for part in ("embeddings/eltec-parallel", "dictionaries", "constraints/omw-derived"):
        if not (shared_data / part).is_dir():
            pytest.fail(f"shared data lacks {part} under {shared_data}")
    return shared_data


VOCAB = 20000  # the most frequent words of the 30,000 shipped: every run stays well under a minute


@pytest.fixture(scope="module")
def spaces(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("eltec")
    for lang in ("de", "en"):
        wv = read_vec(shared / "embeddings" / "eltec-parallel" / f"{lang}.300d.vec.gz")
        write_space(root / lang, [LangBlock(lang, wv.words[:VOCAB], wv.vectors[:VOCAB])])
    return root


def run(shared, spaces, out, **kwargs):
    dicts = shared / "dictionaries"
    kwargs.setdefault("dicts", [dicts / "de-en.0-5000.txt"])
    result = align_spaces([spaces / "de", spaces / "en"], out, pivot="en", eval_dicts=[dicts / "de-en.5000-6500.txt"],
                          device="cpu", **kwargs)
    return result, result.evaluations[0].scores


def test_paper_reduction_keeps_the_large_singular_directions_and_the_precision(shared, spaces, tmp_path):
    full, full_scores = run(shared, spaces, tmp_path / "full", normalize_steps=["unit"])
    reduced, reduced_scores = run(shared, spaces, tmp_path / "reduced", preset="paper")
    kept = reduced.fit["method"]["de"]["kept_dims"]
    assert 150 < kept < 300 and full.fit["method"]["de"]["kept_dims"] == 300
    assert reduced.params["sv_threshold"] == 1.0 and reduced.params["normalize"] == ["unit"]
    assert abs(reduced_scores.csls["p@1"] - full_scores.csls["p@1"]) < 3
    assert reduced_scores.nn["p@1"] > 15


def test_cca_correlates_the_dictionary_pairs_and_translates(shared, spaces, tmp_path):
    result, scores = run(shared, spaces, tmp_path / "cca", method="cca", normalize_steps="unit,center,unit")
    info = result.fit["method"]["de"]
    assert info["pairs"] > 7000 and info["correlations"]["first"] > 0.8 > info["correlations"]["median"]
    assert scores.csls["p@1"] > scores.nn["p@1"] > 15
    de, en = open_space(tmp_path / "cca").lang_vectors("de"), open_space(tmp_path / "cca").lang_vectors("en")
    assert np.isfinite(de).all() and de.shape == (VOCAB, 300)
    raw_en = open_space(spaces / "en").lang_vectors("en")
    assert np.array_equal(en, normalize(raw_en, ["unit", "center", "unit"]))  # multiCCA leaves English as it is
    assert np.all(np.diff(cca(de[:3000], en[:3000]).correlations) <= 1e-9)


def test_attract_repel_pulls_synonyms_together_and_aligns_through_the_dictionary(shared, spaces, tmp_path):
    omw = shared / "constraints" / "omw-derived"
    synonyms = omw / "synonyms.de-en.txt.gz"
    result, scores = run(shared, spaces, tmp_path / "ar", method="attract-repel",
                         options={"attract": [str(synonyms)], "repel": [str(omw / "antonyms.de-en.txt.gz")],
                                  "ar_epochs": 1})
    counts = result.fit["method"]["runs"]["en-de"]
    assert counts["attract_rows"] > 10000 and counts["dictionary_pairs"] > 7000 and counts["repel_rows"] > 100
    out = open_space(tmp_path / "ar")
    de_index, en_index = out.index("de"), out.index("en")
    de, en = out.lang_vectors("de"), out.lang_vectors("en")
    before_de, before_en = open_space(spaces / "de").lang_vectors("de"), open_space(spaces / "en").lang_vectors("en")
    pairs = [(de_index[b], en_index[a]) for (_, a), (_, b) in read_constraints(synonyms)[:3000]
             if a in en_index and b in de_index]

    def mean_cos(X, Y):
        i, j = np.array(pairs).T
        A, B = X[i] / np.linalg.norm(X[i], axis=1, keepdims=True), Y[j] / np.linalg.norm(Y[j], axis=1, keepdims=True)
        return float((A * B).sum(1).mean())

    assert mean_cos(de, en) > mean_cos(before_de, before_en) + 0.3
    assert len(de) == VOCAB and np.allclose(np.linalg.norm(de, axis=1), 1, atol=1e-4)
    assert scores.nn["p@1"] > 15  # test words in OMW synonyms are aligned without any map


def test_refinement_lifts_the_identical_strings_start(shared, spaces, tmp_path):
    _, before = run(shared, spaces, tmp_path / "id", dicts=["identical"], normalize_steps="unit,center,unit")
    result, after = run(shared, spaces, tmp_path / "idr", dicts=["identical"], normalize_steps="unit,center,unit",
                        options={"refine": 2, "refine_vocab": 10000})
    assert after.csls["p@1"] >= before.csls["p@1"] and after.nn["p@1"] >= before.nn["p@1"]
    assert len(result.fit["refine"]["pairs"]["de"]) == 2
