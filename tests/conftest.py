"""Shared fixtures: one thread (the CI machine's two cores may be shared), small synthetic worlds, shared data."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from worlds import make_tiny_world  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("CLTC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; an integration test fails loudly (never skips) when it is missing."""
    path = shared_data_dir()
    if not (path / "README.md").is_file():
        pytest.fail(f"shared test data not found at {path} (set CLTC_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_world(tmp_path_factory.mktemp("tiny"))
