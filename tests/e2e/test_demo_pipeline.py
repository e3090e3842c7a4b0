"""The README's pipeline as a real shell pipeline on the synthetic demo world."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_demo(workdir: Path) -> subprocess.CompletedProcess:
    """examples/demo.sh writing to the relative folder ``run`` inside ``workdir``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", str(REPO / "examples" / "demo.sh"), "run"], capture_output=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=600, cwd=workdir)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    result = run_demo(workdir)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return workdir / "run", result


def test_pipeline_prints_the_report_and_keeps_the_whole_provenance(demo_run):
    out, result = demo_run
    table = result.stdout.decode()
    for lang in ("EN", "DE", "FR", "IT"):
        assert f"| {lang} | mono |" in table and f"| {lang} | gain |" in table
    records = [json.loads(x) for x in (out / "run.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds == ["space"] + ["translation-metrics"] * 3 + ["model"] * 5 + ["metrics"] * 8
    assert all(r["tool"].startswith("cltc-") and "version" in r for r in records)


def test_multilingual_training_helps_the_lowest_resource_language(demo_run):
    out, _ = demo_run
    metrics = [json.loads(x) for x in (out / "run.jsonl").read_text().splitlines()
               if json.loads(x)["kind"] == "metrics"]
    f1 = {(m["mode"], m["test_lang"]): m["macro_f1"] for m in metrics}
    assert f1[("multi", "it")] > f1[("mono", "it")] + 0.05
    translation = [json.loads(x) for x in (out / "run.jsonl").read_text().splitlines()
                   if json.loads(x)["kind"] == "translation-metrics"]
    assert all(t["csls"]["p@1"] > 80 for t in translation)


def test_same_seed_gives_the_same_record_stream_byte_for_byte(demo_run):
    out, _ = demo_run
    again = out.parent / "again"
    again.mkdir()
    result = run_demo(again)
    assert result.returncode == 0
    assert (out / "run.jsonl").read_bytes() == (again / "run" / "run.jsonl").read_bytes()
