"""benchmarks/bench_train.py: one timed training run of the code on sys.path, as a record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from worlds import make_tiny_world

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def test_a_run_is_timed_with_the_dev_score_of_every_epoch(tmp_path):
    world = make_tiny_world(tmp_path)
    cmd = [sys.executable, str(SCRIPT), "run", "--data", str(world / "docs"), "--space", str(world / "space"),
           "--langs", "en", "--mode", "mono", "--epochs", "2", "--tokenizer", "unicode", "--threads", "1",
           "--arch", "cnn", "--seed", "1", "--label", "after"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["kind"] == "train-speed" and record["arch"] == "cnn" and record["train_docs"] == 120
    assert len(record["dev_macro_f1"]) == 2 and record["cpu_s"] > 0 and record["docs_per_cpu_s"] > 0
