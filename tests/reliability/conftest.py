"""Fixtures of the reliability tests: one small trained checkpoint that every test reads (never modifies)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability._fuzz import FUZZ_SEEDS
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every Hypothesis target of this suite runs once per seed of ``FUZZ_SEEDS`` (``test_x[seed11]``), so that a
    failure in CI names its seed and reproduces with the same node id."""
    if getattr(metafunc.function, "is_hypothesis_test", False) and "fuzz_seed" in metafunc.fixturenames:
        metafunc.parametrize("fuzz_seed", FUZZ_SEEDS, indirect=True, ids=[f"seed{s}" for s in FUZZ_SEEDS])


@pytest.fixture(autouse=True)
def fuzz_seed(request: pytest.FixtureRequest):
    """The fixed seed of a Hypothesis target (set on the test, as ``@hypothesis.seed`` does); other tests: None."""
    seed = getattr(request, "param", None)
    if seed is None:
        yield None
        return
    function = request.function
    previous = getattr(function, "_hypothesis_internal_use_seed", None)
    function._hypothesis_internal_use_seed = seed
    try:
        yield seed
    finally:
        function._hypothesis_internal_use_seed = previous
