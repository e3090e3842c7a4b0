"""Interrupted runs: a SIGKILL at a random moment leaves the previous output or none, never a partial one; a Ctrl-C
during training leaves a snapshot that ``--resume`` finishes.

The installed console scripts run as subprocesses. Each output (a space from ``cltc-embed import``, a checkpoint
from ``cltc-train``, a predictions file from ``cltc-eval --predictions``) is written a few times and killed:
once at a random wall-clock moment, and at random short delays after its temporary file or folder appears (so
that the kill lands while the output is being written). Half of the runs replace an existing output (--force).
After each kill the output is absent, the previous output, or the complete new one; when it is absent, the
previous output survives beside it (``.NAME.old-PID``, left by a kill between the two renames of a swap).
The kills run concurrently to keep the suite short. The random seed is printed and can be fixed with
CLTC_KILL_SEED.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import torch
from safetensors.torch import load_file

from cltc_tools.io.space import open_space
from cltc_tools.training.checkpoint import checkpoint_sha256, load_checkpoint

BIN = Path(sys.executable).parent
SEED = int(os.environ.get("CLTC_KILL_SEED", time.time_ns() % 2 ** 31))
print(f"interrupted-run tests: CLTC_KILL_SEED={SEED}")
MODEL = "mlp-multi-de+en"


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(cmd: list) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], env=env(), stdin=subprocess.DEVNULL, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    return result


def default_sigint() -> None:
    """Ctrl-C's default action in the child: a shell ignores SIGINT in background jobs (``pytest &``), and an
    ignored signal stays ignored across exec, so the test would otherwise see no interrupt at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(cmd: list, folder: Path, prefix: str, after_tmp: float | None = None, at: float | None = None,
              sig: int = signal.SIGKILL, ready: Callable[[], bool] | None = None,
              after_ready: float | None = None) -> dict:
    """Start ``cmd`` and send it ``sig``: ``at`` seconds after the start, ``after_ready`` seconds after ``ready()``
    first holds, or ``after_tmp`` seconds after a name starting with ``prefix`` appears in ``folder`` (once
    ``ready()`` holds, if given). Returns what happened."""
    with open(folder / f"stderr-{time.monotonic_ns()}.txt", "w+b") as stderr:
        proc = subprocess.Popen([str(c) for c in cmd], env=env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=default_sigint)
        start, seen, ready_at = time.monotonic(), None, None
        while proc.poll() is None:
            now = time.monotonic()
            if at is not None and now - start >= at:
                break
            if ready_at is None and (ready is None or ready()):
                ready_at = now
            if after_ready is not None and ready_at is not None and now - ready_at >= after_ready:
                break
            if after_tmp is not None and ready_at is not None:
                if seen is None and any(n.startswith(prefix) for n in os.listdir(folder)):
                    seen = now
                if seen is not None and now - seen >= after_tmp:
                    break
            time.sleep(0.0005)
        signalled = proc.poll() is None
        during_write = signalled and any(n.startswith(prefix) for n in os.listdir(folder))
        if signalled:
            proc.send_signal(sig)
        proc.wait()
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    return {"signalled": signalled, "during_write": during_write, "returncode": proc.returncode, "stderr": text}


def concurrently(jobs: list[Callable[[], dict]]) -> list[dict]:
    results: list[dict] = [{}] * len(jobs)

    def work(i: int) -> None:
        results[i] = jobs[i]()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def plans(rng: random.Random, total: float, n: int = 4) -> list[dict]:
    """Kill moments: at a random time of the whole run, and at random short delays after the write starts."""
    moments = [{"at": rng.uniform(0.2, total)}, {"after_tmp": 0.0}]
    moments += [{"after_tmp": rng.uniform(0.0, 0.05)} for _ in range(n - len(moments))]
    return [{**m, "previous": i % 2 == 1} for i, m in enumerate(moments)]


def check_outcome(target: Path, valid: Callable[[Path], str], allowed: set[str], previous: str | None,
                  info: dict) -> str:
    """The target is absent or a complete output whose fingerprint is allowed; with a previous output, nothing is
    lost. Returns what was found."""
    context = f"seed {SEED}, {info}"
    if target.exists():
        assert valid(target) in allowed, f"{target} is not a complete output ({context})"
        return "complete"
    if previous is not None:  # killed between the two renames of a swap: the previous output waits beside it
        kept = [p for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.old-")]
        assert kept and valid(kept[0]) == previous, f"previous output lost ({context})"
    return "absent"


# --- a space: cltc-embed import of a generated .vec -----------------------------------------------------------------

def space_fingerprint(path: Path) -> str:
    space = open_space(path)
    digest = hashlib.sha256((path / "words.txt").read_bytes())
    digest.update(np.ascontiguousarray(space.vectors).tobytes())
    assert digest.hexdigest() == space.sha256, "space.json's sha256 does not match the content"
    return space.sha256


def write_vec(path: Path, n: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w") as handle:
        handle.write(f"{n} {dim}\n")
        for i in range(n):
            handle.write(f"w{i} " + " ".join("%.5f" % x for x in rng.standard_normal(dim)) + "\n")


def test_sigkill_while_writing_a_space(tmp_path):
    rng = random.Random(SEED)
    write_vec(tmp_path / "big.vec", 30_000, 50, 0)
    write_vec(tmp_path / "old.vec", 500, 50, 1)
    start = time.monotonic()
    reference = json.loads(run([BIN / "cltc-embed", "import", tmp_path / "big.vec", "--lang", "de", "--out",
                                tmp_path / "ref", "-q"]).stdout)
    total = time.monotonic() - start
    old = json.loads(run([BIN / "cltc-embed", "import", tmp_path / "old.vec", "--lang", "de", "--out",
                          tmp_path / "old", "-q"]).stdout)["sha256"]
    jobs, cases = [], plans(rng, total)
    for i, case in enumerate(cases):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        if case["previous"]:
            shutil.copytree(tmp_path / "old", folder / "space")
        cmd = [BIN / "cltc-embed", "import", tmp_path / "big.vec", "--lang", "de", "--out", folder / "space", "-q",
               "--force"]
        jobs.append(lambda cmd=cmd, folder=folder, case=case: interrupt(
            cmd, folder, ".space.tmp-", case.get("after_tmp"), case.get("at")))
    outcomes = []
    for i, (case, info) in enumerate(zip(cases, concurrently(jobs))):
        previous = old if case["previous"] else None
        allowed = {reference["sha256"]} | ({old} if previous else set())
        outcomes.append((info.get("during_write"), check_outcome(tmp_path / f"run{i}" / "space", space_fingerprint,
                                                                 allowed, previous, {**case, **info})))
    assert any(during for during, _ in outcomes), f"no kill landed while the space was written ({outcomes})"


# --- a checkpoint: cltc-train -----------------------------------------------------------------------------------

def train_cmd(world: Path, out: Path, *extra) -> list:
    return [BIN / "cltc-train", "--arch", "mlp", "--mode", "multi", "--space", world / "space", "--data",
            world / "docs", "--out", out, "--seed", "7", "-q", *extra]


def test_sigkill_while_writing_a_checkpoint(tiny_world, tmp_path):
    rng = random.Random(SEED + 1)
    start = time.monotonic()
    run(train_cmd(tiny_world, tmp_path / "ref", "--epochs", "3"))
    total = time.monotonic() - start
    reference = checkpoint_sha256(tmp_path / "ref" / MODEL)
    previous_model = tmp_path / "old"  # a valid, different checkpoint: the reference with another seed recorded
    shutil.copytree(tmp_path / "ref" / MODEL, previous_model)
    config = json.loads((previous_model / "config.json").read_text())
    (previous_model / "config.json").write_text(json.dumps({**config, "seed": 99}))
    old = checkpoint_sha256(previous_model)

    def fingerprint(path: Path) -> str:
        load_checkpoint(path)
        return checkpoint_sha256(path)

    jobs, cases = [], plans(rng, total)
    for i, case in enumerate(cases):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        if case["previous"]:
            shutil.copytree(previous_model, folder / MODEL)
        cmd = train_cmd(tiny_world, folder, "--epochs", "3", "--force")
        jobs.append(lambda cmd=cmd, folder=folder, case=case: interrupt(
            cmd, folder, f".{MODEL}.tmp-", case.get("after_tmp"), case.get("at")))
    outcomes = []
    for i, (case, info) in enumerate(zip(cases, concurrently(jobs))):
        previous = old if case["previous"] else None
        allowed = {reference} | ({old} if previous else set())
        outcomes.append((info.get("during_write"), check_outcome(tmp_path / f"run{i}" / MODEL, fingerprint, allowed,
                                                                 previous, {**case, **info})))
    assert any(during for during, _ in outcomes), f"no kill landed while the checkpoint was written ({outcomes})"


# --- a predictions file: cltc-eval --predictions --------------------------------------------------------------------

def test_sigkill_while_writing_predictions(tiny_world, tmp_path):
    rng = random.Random(SEED + 2)
    run(train_cmd(tiny_world, tmp_path / "m", "--epochs", "2"))
    model = tmp_path / "m" / MODEL
    words = np.random.default_rng(0)
    with open(tmp_path / "test.jsonl", "w") as handle:
        for i in range(8_000):
            lang = "en" if i % 2 else "de"
            text = " ".join(f"{lang}w{w}" for w in words.integers(0, 200, 12))
            handle.write(json.dumps({"id": i, "lang": lang, "text": text, "label": ["alpha", "beta"][i % 2]}) + "\n")
    (tmp_path / "small.jsonl").write_text('{"lang": "de", "text": "dew1", "label": "alpha"}\n')

    def cmd(test: Path, pred: Path) -> list:
        return [BIN / "cltc-eval", "--model", model, "--test", test, "--predictions", pred, "-q", "--force"]

    start = time.monotonic()
    run(cmd(tmp_path / "test.jsonl", tmp_path / "ref.jsonl"))
    total = time.monotonic() - start
    run(cmd(tmp_path / "small.jsonl", tmp_path / "old.jsonl"))
    new, old = (tmp_path / "ref.jsonl").read_bytes(), (tmp_path / "old.jsonl").read_bytes()
    assert len(new.splitlines()) == 8_000

    def fingerprint(path: Path) -> str:
        data = path.read_bytes()
        rows = [orjson.loads(line) for line in data.splitlines()]  # parses completely
        assert all("pred" in row for row in rows)
        return hashlib.sha256(data).hexdigest()

    jobs, cases = [], plans(rng, total)
    for i, case in enumerate(cases):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        if case["previous"]:
            shutil.copy(tmp_path / "old.jsonl", folder / "pred.jsonl")
        jobs.append(lambda folder=folder, case=case: interrupt(
            cmd(tmp_path / "test.jsonl", folder / "pred.jsonl"), folder, ".pred.jsonl.tmp-", case.get("after_tmp"),
            case.get("at")))
    outcomes = []
    for i, (case, info) in enumerate(zip(cases, concurrently(jobs))):
        target = tmp_path / f"run{i}" / "pred.jsonl"
        allowed = {hashlib.sha256(new).hexdigest()} | ({hashlib.sha256(old).hexdigest()} if case["previous"] else set())
        if case["previous"]:
            assert target.exists(), f"a file replacement is one rename: the previous file stays (seed {SEED})"
        outcomes.append((info.get("during_write"), check_outcome(target, fingerprint, allowed, None,
                                                                 {**case, **info})))
    assert any(during for during, _ in outcomes), f"no kill landed while predictions were written ({outcomes})"


# --- Ctrl-C during training, then --resume ---------------------------------------------------------------------

def snapshot_epoch(out: Path) -> int:
    try:
        return int(json.loads((out / f".{MODEL}.progress" / "state.json").read_text())["epoch"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def test_sigint_during_training_leaves_a_snapshot_that_resume_finishes(tiny_world, tmp_path):
    rng = random.Random(SEED + 3)
    epochs = ["--epochs", "20", "--patience", "20"]
    # interrupted between epochs (at a random epoch), and just as an epoch snapshot is being replaced
    firsts = [rng.randint(2, 6), rng.randint(2, 6)]
    jobs = []
    for i, first in enumerate(firsts):
        out = tmp_path / f"run{i}"
        out.mkdir()
        if i == 0:
            jobs.append(lambda out=out, first=first, delay=rng.uniform(0, 0.1): interrupt(
                train_cmd(tiny_world, out, *epochs), out, f"..{MODEL}.progress.tmp-", sig=signal.SIGINT,
                ready=lambda: snapshot_epoch(out) >= first, after_ready=delay))
        else:
            jobs.append(lambda out=out, first=first: interrupt(
                train_cmd(tiny_world, out, *epochs), out, f"..{MODEL}.progress.tmp-", after_tmp=0.0,
                sig=signal.SIGINT, ready=lambda: snapshot_epoch(out) >= first))
    jobs.append(lambda: {"reference": run(train_cmd(tiny_world, tmp_path / "ref", *epochs)).returncode})
    results = concurrently(jobs)
    for i, info in enumerate(results[:2]):
        out = tmp_path / f"run{i}"
        assert info["signalled"], f"training finished before the interrupt ({info})"
        assert info["returncode"] == 130 and "cltc-train: interrupted" in info["stderr"], info
        assert "Traceback" not in info["stderr"]
        assert not (out / MODEL).exists(), "an interrupted run wrote a model"
        assert snapshot_epoch(out) >= 1, f"no resumable snapshot after the interrupt ({info})"
    concurrently([lambda out=tmp_path / f"run{i}": {"rc": run(train_cmd(tiny_world, out, *epochs, "--resume"))}
                  for i in range(2)])
    reference = load_file(str(tmp_path / "ref" / MODEL / "weights.safetensors"))
    for i in range(2):
        out = tmp_path / f"run{i}"
        weights = load_file(str(out / MODEL / "weights.safetensors"))
        assert all(torch.equal(weights[k], reference[k]) for k in reference), "resume did not reach the same model"
        assert not (out / f".{MODEL}.progress").exists()


def test_ctrl_c_or_sigterm_while_a_space_is_written_leaves_nothing(tmp_path):
    """Ctrl-C (or a polite kill) as the space is being written: no output and no temporary folder left behind."""
    write_vec(tmp_path / "big.vec", 30_000, 50, 0)
    jobs = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        folder = tmp_path / sig.name
        folder.mkdir()
        jobs.append(lambda folder=folder, sig=sig: interrupt(
            [BIN / "cltc-embed", "import", tmp_path / "big.vec", "--lang", "de", "--out", folder / "space", "-q"],
            folder, ".space.tmp-", after_tmp=0.0, sig=sig))
    sigint, sigterm = concurrently(jobs)
    for info in (sigint, sigterm):
        assert info["signalled"] and "Traceback" not in info["stderr"], info
    assert sigint["returncode"] == 130 and "cltc-embed: interrupted" in sigint["stderr"]
    assert sigterm["returncode"] == -signal.SIGTERM
    for sig in ("SIGINT", "SIGTERM"):
        space = tmp_path / sig / "space"
        assert not space.exists() or space_fingerprint(space)
    leftovers = [p.name for p in (tmp_path / "SIGINT").iterdir() if p.name.startswith(".space.")]
    assert not leftovers, f"Ctrl-C left temporary files: {leftovers}"
