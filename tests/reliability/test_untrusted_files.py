"""Untrusted files: loading a checkpoint, a training snapshot or a space never runs code from it.

The payload is a pickle whose ``__reduce__`` runs ``exec`` to write a marker file. It is first shown to be live
(unpickling it does write a marker), then planted as weights.pt, as a weights.safetensors that is really a pickle
(plain or torch.save's zip), as a snapshot, and as an object array in vectors.npy. Every load must be refused with
a clear message, the marker must never appear, and no unpickling may even start (audit hook on
``pickle.find_class``). A static check keeps pickle-based loaders out of the package.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import cltc_tools
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.errors import InputError
from cltc_tools.io.space import open_space
from cltc_tools.training.checkpoint import load_checkpoint
from cltc_tools.training.resume import load_snapshot

runner = CliRunner()
_WATCH: dict[str, list] = {"events": [], "on": []}


def _audit(event: str, args) -> None:
    if _WATCH["on"] and event in ("pickle.find_class", "exec", "os.system", "subprocess.Popen", "marshal.loads"):
        _WATCH["events"].append((event, str(args)[:80]))


sys.addaudithook(_audit)


class watch:
    """Record the code-running audit events raised inside the block."""

    def __enter__(self):
        _WATCH["events"].clear()
        _WATCH["on"].append(True)
        return _WATCH["events"]

    def __exit__(self, *exc):
        _WATCH["on"].pop()
        return False


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def test_the_payload_is_live(tmp_path):
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "pwned"


def _planted(model: Path, tmp_path: Path, name: str, blob_kind: str) -> tuple[Path, Path]:
    crafted = tmp_path / "crafted"
    shutil.copytree(model, crafted)
    marker = tmp_path / "marker"
    (crafted / "weights.safetensors").unlink()
    if blob_kind == "pickle":
        (crafted / name).write_bytes(pickle.dumps({"embedding.weight": Payload(marker)}))
    else:
        torch.save({"embedding.weight": Payload(marker)}, crafted / name)
    return crafted, marker


@pytest.mark.parametrize("blob_kind", ["pickle", "torch.save"])
def test_weights_pt_is_never_loaded(model, tmp_path, blob_kind):
    crafted, marker = _planted(model, tmp_path, "weights.pt", blob_kind)
    with watch() as events, pytest.raises(InputError, match="lacks weights.safetensors .weights in other formats "
                                                            "are not loaded"):
        load_checkpoint(crafted)
    assert not marker.exists() and not events


@pytest.mark.parametrize("blob_kind", ["pickle", "torch.save"])
def test_safetensors_file_that_is_really_a_pickle_is_refused(model, tmp_path, tiny_world, blob_kind):
    crafted, marker = _planted(model, tmp_path, "weights.safetensors", blob_kind)
    with watch() as events, pytest.raises(InputError, match=r"weights.safetensors: unreadable weights"):
        load_checkpoint(crafted)
    result = runner.invoke(eval_app, ["--model", str(crafted), "--data", str(tiny_world / "docs")])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cltc-eval: {crafted / 'weights.safetensors'}: unreadable weights")
    assert not marker.exists() and not events


def test_training_snapshot_that_is_a_pickle_is_refused_by_resume(tiny_world, tmp_path):
    out = tmp_path / "models"
    progress = out / ".mlp-multi-de+en.progress"
    progress.mkdir(parents=True)
    marker = tmp_path / "marker"
    (progress / "state.json").write_text(json.dumps({"epoch": 1}))
    (progress / "state.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    with watch() as events, pytest.raises(InputError, match="unreadable training snapshot"):
        load_snapshot(out / "mlp-multi-de+en", "any")
    result = runner.invoke(train_app, ["--space", str(tiny_world / "space"), "--data", str(tiny_world / "docs"),
                                       "--out", str(out), "--epochs", "2", "--resume"])
    assert result.exit_code == 2 and "unreadable training snapshot" in result.stderr
    assert not marker.exists() and not events
    assert not (out / "mlp-multi-de+en").exists()


def test_space_with_a_pickled_object_array_is_refused(tiny_world, tmp_path):
    space = tmp_path / "space"
    shutil.copytree(tiny_world / "space", space)
    marker = tmp_path / "marker"
    array = np.empty((400, 16), dtype=object)
    array[0, 0] = Payload(marker)
    np.save(space / "vectors.npy", array, allow_pickle=True)
    with watch() as events, pytest.raises(InputError, match="vectors.npy: unreadable .npy matrix .*Python objects"):
        open_space(space)
    (space / "vectors.npy").write_bytes(pickle.dumps(Payload(marker)))  # a bare pickle named vectors.npy
    refusal = "vectors.npy: unreadable .npy matrix: not in .npy format .if it is a pickle: pickles are never loaded"
    with watch() as more, pytest.raises(InputError, match=refusal):
        open_space(space)
    assert not marker.exists() and not events and not more


def test_loading_a_real_checkpoint_unpickles_nothing(model):
    with watch() as events:
        ckpt = load_checkpoint(model)
    assert ckpt.state and not events


PICKLE_LOADERS = [
    r"\bimport\s+(c?pickle|dill|cloudpickle|shelve|marshal|joblib)\b", r"\bfrom\s+(c?pickle|dill|joblib)\b",
    r"\btorch\.load\(", r"allow_pickle\s*=\s*True", r"\bpickle\.loads?\(", r"(?<![.\w])(eval|exec)\(",
    r"yaml\.load\(", r"\bnp\.load\((?![^)]*allow_pickle=False)",
]


def test_the_package_has_no_code_running_loader():
    root = Path(cltc_tools.__file__).parent
    found = [f"{path.relative_to(root)}:{i}: {line.strip()}"
             for path in sorted(root.rglob("*.py"))
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if not line.lstrip().startswith("#") and any(re.search(p, line) for p in PICKLE_LOADERS)]
    assert not found, found
