from pathlib import Path

import numpy as np
import pytest
import torch

from cltc_tools.datasets.labelled import load_split
from cltc_tools.errors import InputError
from cltc_tools.io.space import open_space
from cltc_tools.training.checkpoint import load_checkpoint
from cltc_tools.training.evaluate import evaluate
from cltc_tools.training.loop import TrainSettings, train_models
from cltc_tools.training.models import ARCHS

FAST = {"max_epochs": 15, "patience": 5, "embeddings": "tuned"}  # exercises the sparse row updates


def settings(mode: str, seed: int = 0) -> TrainSettings:
    return TrainSettings("mlp", mode, ARCHS.get("mlp").hparams(None, FAST), seed)


def train(world: Path, out: Path, mode: str, seed: int = 0):
    space = open_space(world / "space")
    tr = load_split(world / "docs", [], "train")
    dv = load_split(world / "docs", [], "dev")
    info = {"path": str(space.path), "sha256": space.sha256, "method": "tiny", "name": "tiny"}
    return space, train_models(space, info, tr, dv, settings(mode, seed), out)


def test_mono_trains_one_model_per_language_and_multi_one_for_all(tiny_world, tmp_path):
    _, mono = train(tiny_world, tmp_path / "m", "mono")
    _, multi = train(tiny_world, tmp_path / "m", "multi")
    assert [m.train_langs for m in mono] == [["de"], ["en"]]
    assert [m.train_langs for m in multi] == [["de", "en"]]
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"mlp-mono-de", "mlp-mono-en", "mlp-multi-de+en"}


def test_trained_model_beats_chance_and_checkpoint_round_trips(tiny_world, tmp_path):
    space, models = train(tiny_world, tmp_path, "multi")
    ckpt = load_checkpoint(models[0].path)
    assert ckpt.config["labels"] == ["alpha", "beta", "gamma"]
    assert ckpt.config["best_epoch"] <= ckpt.config["epochs"]
    test = load_split(tiny_world / "docs", [], "test")
    results = evaluate(ckpt, space, test)
    assert {r.lang for r in results} == {"de", "en"}
    for r in results:
        assert r.metrics["macro_f1"] > 0.8  # chance is 1/3
        assert r.metrics["n"] == 45


def test_same_seed_same_weights_and_metrics(tiny_world, tmp_path):
    _, a = train(tiny_world, tmp_path / "a", "multi", seed=3)
    _, b = train(tiny_world, tmp_path / "b", "multi", seed=3)
    wa, wb = load_checkpoint(a[0].path).state, load_checkpoint(b[0].path).state
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a[0].config["dev_macro_f1"] == b[0].config["dev_macro_f1"]


def test_fine_tuning_changes_only_rows_of_the_vocabulary(tiny_world, tmp_path):
    space, models = train(tiny_world, tmp_path, "multi")
    ckpt = load_checkpoint(models[0].path)
    emb = ckpt.state["embedding.weight"].numpy()
    assert np.all(emb[0] == 0)  # padding row stays zero
    lang, tok = ckpt.vocab[0]
    start = space.langs[lang][0]
    original = np.asarray(space.vectors[start + space.index(lang)[tok]])
    assert not np.allclose(emb[1], original)  # tuned


def test_language_without_vectors_is_an_input_error(tiny_world, tmp_path):
    space = open_space(tiny_world / "space")
    tr = [d for d in load_split(tiny_world / "docs", [], "train")]
    from cltc_tools.io.documents import Document

    tr.append(Document("x", "sw", "habari", "alpha"))
    with pytest.raises(InputError, match="sw"):
        train_models(space, {"path": "", "sha256": ""}, tr, [], settings("multi"), tmp_path)


def test_unknown_architecture_lists_known_ones():
    with pytest.raises(InputError, match="known: .*mlp"):
        ARCHS.get("transformer-xxl")
