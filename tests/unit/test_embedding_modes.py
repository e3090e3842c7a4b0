"""Embedding modes (--embeddings): what training may change in the word vectors, and what it must keep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cltc_tools.io.documents import load_documents
from cltc_tools.io.space import open_space
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training.checkpoint import load_checkpoint
from cltc_tools.training.evaluate import evaluate
from cltc_tools.training.loop import TrainSettings, train_models
from cltc_tools.training.models import ARCHS
from cltc_tools.training.models.registry import embedding_layer
from cltc_tools.training.models.word_vectors import WordVectors


def weights(n: int = 6, dim: int = 4) -> torch.Tensor:
    w = torch.randn(n, dim, generator=torch.Generator().manual_seed(0))
    w[0] = 0
    return w


def test_mapped_mode_starts_as_the_identity_and_shares_one_map():
    layer = WordVectors(weights(), "mapped")
    ids = torch.tensor([[1, 2, 0]])
    assert torch.allclose(layer(ids), weights()[ids])
    assert not layer.weight.requires_grad and layer.map.weight.requires_grad


def test_regularized_penalty_is_zero_at_the_start_and_grows_with_the_distance():
    layer = WordVectors(weights(), "regularized", emb_reg=2.0)
    ids = torch.tensor([[1, 2, 2, 0]])
    assert float(layer.penalty(ids).detach()) == 0.0
    with torch.no_grad():
        layer.weight[1] += 1.0  # row 1 moved by 1 in each of 4 dimensions: squared distance 4
    assert float(layer.penalty(ids).detach()) == pytest.approx(2.0 * (4.0 + 0.0) / 2)
    layer.penalty(ids).backward()
    assert layer.weight.grad.is_sparse  # lazy Adam keeps working


def test_old_checkpoints_without_a_mode_read_fine_tune():
    assert embedding_layer(weights(), {"fine_tune": False}).mode == "frozen"
    assert embedding_layer(weights(), {"fine_tune": True}).mode == "tuned"


@pytest.fixture(scope="module")
def trained(tiny_world, tmp_path_factory):
    space = open_space(tiny_world / "space")
    info = {"path": str(space.path), "sha256": space.sha256, "name": "tiny", "method": "tiny", "langs": space.langs}
    train = load_documents([tiny_world / "docs" / "en" / "train.jsonl"])
    dev = load_documents([tiny_world / "docs" / "en" / "dev.jsonl"])
    models = {}
    for mode in ("tuned", "frozen", "regularized", "mapped"):
        hp = ARCHS.get("mlp").hparams(None, {"embeddings": mode, "emb_reg": 10.0 if mode == "regularized" else None,
                                             "max_epochs": 4, "patience": 4, "hidden": 16})
        settings = TrainSettings("mlp", "multi", hp, seed=0, tokenizer=Tokenizer())
        root = tmp_path_factory.mktemp(mode)
        models[mode] = train_models(space, info, train, dev, settings, root)[0]
    return space, models


def moved_rows(space, model) -> float:
    ckpt = load_checkpoint(model.path)
    tuned = ckpt.state["embedding.weight"].numpy()[1:]
    rows = np.stack([space.lang_vectors(lang)[space.index(lang)[word]] for lang, word in ckpt.vocab])
    return float(np.abs(tuned - rows).max())


def test_frozen_and_mapped_keep_every_row_tuned_moves_them_and_regularized_less(trained):
    space, models = trained
    assert moved_rows(space, models["frozen"]) == 0.0
    assert moved_rows(space, models["mapped"]) == 0.0
    assert moved_rows(space, models["tuned"]) > moved_rows(space, models["regularized"]) > 0.0
    mapped = load_checkpoint(models["mapped"].path).state["embedding.map.weight"].numpy()
    assert not np.allclose(mapped, np.eye(mapped.shape[0]))  # the shared map was trained


def test_every_mode_evaluates_zero_shot_on_a_language_it_never_saw(trained, tiny_world):
    space, models = trained
    docs = load_documents([tiny_world / "docs" / "de" / "test.jsonl"])
    for mode, model in models.items():
        [result] = evaluate(load_checkpoint(model.path), space, docs, "cpu")
        assert result.lang == "de" and 0.0 <= result.metrics["macro_f1"] <= 1.0, mode
