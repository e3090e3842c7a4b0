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
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["kind"] == "train-speed" and record["arch"] == "cnn" and record["train_docs"] == 120
    assert len(record["dev_macro_f1"]) == 2 and record["cpu_s"] > 0 and record["docs_per_cpu_s"] > 0


def test_the_floor_of_a_run_is_its_products_and_random_numbers(tmp_path):
    """floor: CPU seconds of the matrix products and dropout's random numbers, the products' operations, the core's
    best rate and the share of real words in the batches; render-floor: what a speed-up target leaves for
    everything else, from the before/after records, also with the products at the best rate."""
    world = make_tiny_world(tmp_path)
    out = tmp_path / "floor.jsonl"
    cmd = [sys.executable, str(SCRIPT), "floor", "--data", str(world / "docs"), "--space", str(world / "space"),
           "--langs", "en", "--epochs", "1", "--tokenizer", "unicode", "--archs", "cnn", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text())
    assert record["kind"] == "train-floor" and record["arch"] == "cnn" and record["product_calls"] > 0
    assert 0 < record["products_cpu_s"] + record["dropout_random_cpu_s"] < record["profiled_cpu_s"]
    assert record["products_gflop"] > 0 and record["peak_gflops"] > 0 and 0 < record["real_token_share"] <= 1
    speed = tmp_path / "speed.jsonl"
    same = {k: record[k] for k in ("dataset", "arch", "mode", "epochs", "threads", "langs")}
    runs = [("before", 9.0, 1), ("before", 6.0, 1), ("after", 4.0, 1), ("after", 1.0, 2)]  # (2 epochs: not this one)
    speed.write_text("".join(json.dumps({**same, "epochs": epochs, "label": label, "cpu_s": cpu}) + "\n"
                             for label, cpu, epochs in runs))
    older = {k: v for k, v in record.items() if k not in ("products_gflop", "peak_gflops", "real_token_share")}
    with out.open("a") as handle:  # a record of the floor before it counted operations and padding
        handle.write(json.dumps(older) + "\n")
    table = subprocess.run([sys.executable, str(SCRIPT), "render-floor", str(out), "--speed", str(speed)],
                           capture_output=True, text=True, check=True).stdout
    fixed = record["products_cpu_s"] + record["dropout_random_cpu_s"]
    at_best = record["products_gflop"] / record["peak_gflops"]
    row, old_row = (line.split(" | ") for line in table.splitlines()[-2:])
    assert row[2:4] == ["7.50", "2.50"] and row[6] == f"{at_best:.2f}"
    assert row[5] == f"{record['products_gflop'] / record['products_cpu_s']:.0f} ({record['peak_gflops']:.0f})"
    assert row[8:11] == [f"{2.5 - fixed:.2f}", f"{2.5 - at_best - record['dropout_random_cpu_s']:.2f}",
                         f"{4.0 - fixed:.2f}"]
    assert row[11] == f"{100 * record['real_token_share']:.0f}%"
    assert old_row[:5] == row[:5] and old_row[5:7] == ["-", "-"] and old_row[9] == "-" and old_row[11] == "-"
