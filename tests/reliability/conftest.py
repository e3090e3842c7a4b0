"""Fixtures of the reliability tests: one small trained checkpoint that every test reads (never modifies)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cltc_tools.cli.train import app as train_app


@pytest.fixture(scope="session")
def model(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An FT-MLP checkpoint trained for one epoch on the tiny world."""
    out = tmp_path_factory.mktemp("model")
    result = CliRunner().invoke(train_app, ["--space", str(tiny_world / "space"), "--data", str(tiny_world / "docs"),
                                            "--out", str(out), "--epochs", "1", "-q"])
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout)["path"])
