"""Interrupted training resumes to the same result; torchrun data-parallel training gives a usable checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def train_cmd(world: Path, out: Path, *extra: str) -> list[str]:
    return [str(BIN / "cltc-train"), "--arch", "mlp", "--mode", "multi", "--space", str(world / "space"),
            "--data", str(world / "docs"), "--out", str(out), "--epochs", "80", "--patience", "80", "--seed", "7",
            "-q", *extra]


def eval_metrics(model: Path, world: Path) -> list[dict]:
    out = subprocess.run([str(BIN / "cltc-eval"), "--model", str(model), "--data", str(world / "docs"), "-q"],
                         capture_output=True, check=True, env=env(), stdin=subprocess.DEVNULL)
    return [json.loads(x) for x in out.stdout.decode().splitlines()]


def test_resume_after_sigkill_ends_with_the_same_metrics(tiny_world, tmp_path):
    reference = tmp_path / "ref"
    subprocess.run(train_cmd(tiny_world, reference), check=True, env=env(), stdin=subprocess.DEVNULL,
                   capture_output=True)
    out = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(tiny_world, out), env=env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    snapshot = out / ".mlp-multi-de+en.progress" / "state.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if json.loads(snapshot.read_text())["epoch"] >= 5:
                break
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "mlp-multi-de+en").exists(), "the run finished before it could be interrupted"
    resumed = subprocess.run(train_cmd(tiny_world, out, "--resume"), env=env(), stdin=subprocess.DEVNULL,
                             capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    a, b = reference / "mlp-multi-de+en", out / "mlp-multi-de+en"
    wa, wb = load_file(str(a / "weights.safetensors")), load_file(str(b / "weights.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    strip = lambda ms: [{k: v for k, v in m.items() if k not in ("model",)} for m in ms]  # noqa: E731
    assert strip(eval_metrics(a, tiny_world)) == strip(eval_metrics(b, tiny_world))
    assert not (out / ".mlp-multi-de+en.progress").exists()


def test_resume_keeps_finished_models(tiny_world, tmp_path):
    first = subprocess.run(train_cmd(tiny_world, tmp_path, "--epochs", "3"), env=env(), capture_output=True,
                           stdin=subprocess.DEVNULL, check=True)
    mtime = (tmp_path / "mlp-multi-de+en" / "weights.safetensors").stat().st_mtime_ns
    again = subprocess.run(train_cmd(tiny_world, tmp_path, "--epochs", "3", "--resume"), env=env(),
                           capture_output=True, stdin=subprocess.DEVNULL, check=True)
    assert (tmp_path / "mlp-multi-de+en" / "weights.safetensors").stat().st_mtime_ns == mtime
    assert json.loads(first.stdout)["sha256"] == json.loads(again.stdout)["sha256"]


def test_resume_trains_again_a_model_whose_space_was_built_again(tiny_world, tmp_path):
    """make reruns a target when its space is newer: --resume must not hand on the model of the old space."""
    import numpy as np

    from cltc_tools.io.space import LangBlock, open_space, write_space

    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    out = tmp_path / "models"
    subprocess.run(train_cmd(world, out, "--epochs", "3"), env=env(), capture_output=True, stdin=subprocess.DEVNULL,
                   check=True)
    space = open_space(world / "space")
    blocks = [LangBlock(lang, space.words(lang), np.asarray(space.lang_vectors(lang)) * 1.5) for lang in space.langs]
    write_space(world / "space", blocks, [], force=True)
    again = subprocess.run(train_cmd(world, out, "--epochs", "3", "--resume"), env=env(), capture_output=True,
                           stdin=subprocess.DEVNULL, check=True)
    config = json.loads((out / "mlp-multi-de+en" / "config.json").read_text())
    assert config["space"]["sha256"] == open_space(world / "space").sha256
    assert json.loads(again.stdout)["sha256"] != ""
    eval_metrics(out / "mlp-multi-de+en", world)  # the checkpoint matches the space: cltc-eval accepts it


@pytest.mark.skipif(shutil.which("torchrun", path=str(BIN)) is None, reason="torchrun is installed with torch")
def test_torchrun_two_processes_on_cpu(tiny_world, tmp_path):
    cmd = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "cltc_tools.cli.train",
           "--arch", "mlp", "--mode", "multi", "--space", str(tiny_world / "space"), "--data",
           str(tiny_world / "docs"), "--out", str(tmp_path), "--epochs", "10", "-q"]
    result = subprocess.run(cmd, env=env(), capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    records = [json.loads(x) for x in result.stdout.decode().splitlines() if x.startswith("{")]
    assert [r["kind"] for r in records] == ["model"]  # rank 0 alone writes records
    config = json.loads((tmp_path / "mlp-multi-de+en" / "config.json").read_text())
    assert config["world_size"] == 2
    metrics = eval_metrics(tmp_path / "mlp-multi-de+en", tiny_world)
    assert all(m["macro_f1"] > 0.7 for m in metrics)
