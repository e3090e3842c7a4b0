"""de -> en Procrustes on the shared ELTeC vectors and MUSE dictionaries, checked against plain numpy.

The reference below shares no code with cltc_tools.align: it parses the dictionaries itself, fits the
rotation with numpy's SVD and scores every source word by an exhaustive search over the whole vocabulary.
"""

import numpy as np
import pytest

from cltc_tools.align.pipeline import align_spaces
from cltc_tools.io.space import LangBlock, write_space
from cltc_tools.io.vectors import read_vec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(shared_data):
    """../shared/data (conftest's shared_data: fails, never skips, when missing; CLTC_SHARED_DATA overrides)."""
    if not (shared_data / "embeddings" / "eltec-parallel").is_dir():
        pytest.fail(f"shared embeddings not found under {shared_data}")
    return shared_data


@pytest.fixture(scope="module")
def vectors(shared):
    return {lang: read_vec(shared / "embeddings" / "eltec-parallel" / f"{lang}.300d.vec.gz") for lang in ("de", "en")}


def read_pairs(path, src_index, tgt_index):
    pairs = [tuple(line.split()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [(src_index[s], tgt_index[t]) for s, t in pairs if s in src_index and t in tgt_index]
    return kept, len({s for s, _ in pairs})


def reference_scores(de, en, train, test, steps, csls_k=10):
    """P@1 (NN, CSLS) in percent over covered source words and over all source words."""
    de_index = {w: i for i, w in enumerate(de.words)}
    en_index = {w: i for i, w in enumerate(en.words)}
    X, Y = (reference_normalize(m.vectors.astype(np.float64), steps) for m in (de, en))
    rows, _ = read_pairs(train, de_index, en_index)
    src, tgt = np.array(rows).T
    U, _, Vt = np.linalg.svd(X[src].T @ Y[tgt])
    S, T = X @ (U @ Vt), Y
    S = (S / np.linalg.norm(S, axis=1, keepdims=True)).astype(np.float32)
    T = (T / np.linalg.norm(T, axis=1, keepdims=True)).astype(np.float32)
    gold_pairs, all_words = read_pairs(test, de_index, en_index)
    gold: dict[int, set[int]] = {}
    for i, j in gold_pairs:
        gold.setdefault(i, set()).add(j)
    queries = np.array(sorted(gold))
    cos = S[queries] @ T.T
    r_T = np.sort(cos, axis=1)[:, -csls_k:].mean(axis=1)
    # every target word against every source word, 1024 target words at a time (the whole matrix is 3.6 GB)
    r_S = np.concatenate([top_k_mean(T[i:i + 1024] @ S.T, csls_k) for i in range(0, len(T), 1024)])
    csls = 2 * cos - r_T[:, None] - r_S[None, :]
    out = {}
    for name, score in (("nn", cos), ("csls", csls)):
        hits = sum(int(np.argmax(row)) in gold[q] for q, row in zip(queries, score))
        out[name] = 100 * hits / len(queries)
        out[f"{name}_all"] = 100 * hits / all_words
    return out, len(queries), all_words


def top_k_mean(scores, k):
    """Mean of the k largest entries of each row."""
    scores.partition(scores.shape[1] - k, axis=1)
    return scores[:, -k:].mean(axis=1)


def reference_normalize(X, steps):
    for step in steps:
        if step == "unit":
            X = X / np.linalg.norm(X, axis=1, keepdims=True)
        elif step == "center":
            X = X - X.mean(axis=0)
    return X


@pytest.mark.parametrize("steps", [[], ["unit", "center", "unit"]], ids=["raw", "unit-center-unit"])
def test_procrustes_de_en_matches_the_numpy_reference(shared, vectors, tmp_path, steps):
    for lang, wv in vectors.items():
        write_space(tmp_path / lang, [LangBlock(lang, wv.words, wv.vectors)])
    dicts = shared / "dictionaries"
    result = align_spaces([tmp_path / "de", tmp_path / "en"], tmp_path / "aligned", pivot="en",
                          dicts=[dicts / "de-en.0-5000.txt"], eval_dicts=[dicts / "de-en.5000-6500.txt"],
                          normalize_steps=steps, device="cpu")
    scores = result.evaluations[0].scores
    expected, covered, words = reference_scores(vectors["de"], vectors["en"], dicts / "de-en.0-5000.txt",
                                                dicts / "de-en.5000-6500.txt", steps)
    assert (scores.covered_words, scores.src_words) == (covered, words) == (874, 1500)
    for name in ("nn", "csls", "nn_all", "csls_all"):
        assert abs(getattr(scores, name)["p@1"] - expected[name]) <= 0.1, (name, getattr(scores, name), expected)
    assert scores.csls["p@1"] > scores.nn["p@1"] > 15  # a working alignment, improved by CSLS
