"""Extending the toolbox as docs/ARCHITECTURE.md says: one new definition and one registration line each for an
alignment method, an architecture and a converter, then run through the command line."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.align.registry import METHODS, Method
from cltc_tools.datasets.registry import CONVERTERS, Converter
from cltc_tools.io.documents import Document
from cltc_tools.io.space import open_space
from cltc_tools.training.models import ARCHS, Arch
from cltc_tools.training.models.registry import embedding_layer

runner = CliRunner()


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def fit_scaled(problem: Problem, params: dict) -> Fitted:
    """Toy method: every language scaled by ``scale`` (no map between languages)."""
    return Fitted({lang: m * params["scale"] for lang, m in problem.matrices.items()})


class BagOfWords(nn.Module):
    def __init__(self, embedding: torch.Tensor, n_classes: int, hp: dict):
        super().__init__()
        self.embedding = embedding_layer(embedding, hp)
        self.out = nn.Linear(embedding.shape[1], n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids > 0).unsqueeze(-1).float()
        return self.out((self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1))


def read_upper(path, lang: str, split: str):
    """Toy format: LABEL:TEXT lines."""
    for i, line in enumerate(open(path, encoding="utf-8")):
        label, text = line.rstrip("\n").split(":", 1)
        yield Document(f"{lang}-{split}-{i}", lang, text.upper(), label)


@pytest.fixture
def registered():
    METHODS.register("scaled", Method("scaled", fit_scaled, {"scale": 2.0}, needs_dict=False))
    ARCHS.register("bow", Arch("bow", BagOfWords, {"dropout": 0.0, "lr": 1e-2, "batch_size": 16, "patience": 2,
                                                   "max_epochs": 3, "embeddings": "frozen", "max_len": 64}))
    CONVERTERS.register("upper", Converter("upper", "LABEL:TEXT lines", read_upper, generic=True))
    yield
    METHODS.unregister("scaled")
    ARCHS.unregister("bow")
    CONVERTERS.unregister("upper")


def test_a_registered_alignment_method_runs_through_cltc_align(registered, tiny_world, tmp_path):
    from cltc_tools.cli.align import app

    out = tmp_path / "scaled"
    result = runner.invoke(app, ["--method", "scaled", "--space", str(tiny_world / "space"), "--out", str(out),
                                 "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    assert records(result.stdout)[-1]["method"] == "scaled"
    before, after = open_space(tiny_world / "space"), open_space(out)
    assert np.allclose(after.block("de").vectors, 2.0 * np.asarray(before.block("de").vectors))


def test_a_registered_architecture_trains_and_evaluates(registered, tiny_world, tmp_path):
    from cltc_tools.cli.eval import app as eval_app
    from cltc_tools.cli.train import app as train_app

    trained = runner.invoke(train_app, ["--arch", "bow", "--mode", "multi", "--space", str(tiny_world / "space"),
                                        "--data", str(tiny_world / "docs"), "--out", str(tmp_path / "m"), "-q"])
    assert trained.exit_code == 0, trained.output
    model = records(trained.stdout)[-1]
    assert model["arch"] == "bow" and model["params"]["max_epochs"] == 3
    evaluated = runner.invoke(eval_app, ["--data", str(tiny_world / "docs"), "-q"], input=trained.stdout)
    assert evaluated.exit_code == 0, evaluated.output
    assert {r["test_lang"] for r in records(evaluated.stdout) if r["kind"] == "metrics"} == {"en", "de"}


def test_a_registered_converter_is_a_cltc_data_command(registered, tmp_path):
    import cltc_tools.cli.data as data_cli

    source = tmp_path / "toy.txt"
    source.write_text("pos:good film\nneg:bad film\n")
    try:
        app = importlib.reload(data_cli).app
        result = runner.invoke(app, ["upper", str(source), "--lang", "en", "--out", str(tmp_path / "docs")])
    finally:
        CONVERTERS.unregister("upper")
        importlib.reload(data_cli)
        CONVERTERS.register("upper", Converter("upper", "LABEL:TEXT lines", read_upper, generic=True))
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "docs" / "en" / "train.jsonl").read_text().splitlines()
    assert [json.loads(x)["text"] for x in lines] == ["GOOD FILM", "BAD FILM"]
