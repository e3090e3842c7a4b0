"""The README's shell blocks, run verbatim in an empty folder, twice in a row (like the golden tests of csvkit's docs).

Every ```sh block of README.md is runnable as written; illustrative fragments use ```text. Two lines are not run:
the install line (this test runs in the environment it set up) and the block that runs this test suite. The
folder gets a link to examples/, as a clone has it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def readme_blocks() -> list[str]:
    """The runnable lines of every ```sh block, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    runnable = []
    for block in blocks:
        if "python -m pytest" in block:
            continue
        lines = [line for line in block.splitlines() if "pip install" not in line]
        runnable.append("\n".join(lines) + "\n")
    return runnable


def run_blocks(workdir: Path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return [subprocess.run(["bash", "-e", "-c", block], cwd=workdir, env=env, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=900) for block in readme_blocks()]


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory):
    """(folder, results of the first run, results of the second, run.jsonl bytes of the first run)."""
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / "examples").symlink_to(REPO / "examples")
    first = run_blocks(workdir)
    kept = {name: (workdir / name).read_bytes() for name in ("runs/run.jsonl", "demo-run/run.jsonl")
            if (workdir / name).exists()}
    second = run_blocks(workdir)
    return workdir, first, second, kept


def test_the_readme_has_the_demo_and_the_pipeline():
    blocks = readme_blocks()
    assert any("examples/demo.sh" in b for b in blocks) and any("cltc-report" in b for b in blocks)
    assert all("| tee" not in b for b in blocks)  # tee would empty the record file of a failed rerun


@pytest.mark.parametrize("run", ["first", "second"])
def test_every_block_succeeds_in_an_empty_folder_and_again(readme_runs, run):
    _, first, second, _ = readme_runs
    for result in first if run == "first" else second:
        assert result.returncode == 0, result.stderr.decode()[-3000:]


def test_pipeline_prints_the_report_and_keeps_the_whole_provenance(readme_runs):
    workdir, first, _, _ = readme_runs
    out = b"".join(r.stdout for r in first).decode()
    for lang in ("EN", "DE", "FR", "IT"):
        assert f"| {lang} | mono |" in out and f"| {lang} | gain |" in out
    assert "\nlang,row,arch,space,F1,P,R," in out  # the CSV report rebuilt from the record file
    records = [json.loads(x) for x in (workdir / "runs" / "run.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds == ["space"] + ["translation-metrics"] * 3 + ["model"] * 5 + ["metrics"] * 8
    assert all(r["tool"].startswith("cltc-") and "version" in r for r in records)


def test_multilingual_training_helps_the_lowest_resource_language(readme_runs):
    workdir, _, _, _ = readme_runs
    records = [json.loads(x) for x in (workdir / "runs" / "run.jsonl").read_text().splitlines()]
    f1 = {(m["mode"], m["test_lang"]): m["macro_f1"] for m in records if m["kind"] == "metrics"}
    assert f1[("multi", "it")] > f1[("mono", "it")] + 0.05
    assert all(t["csls"]["p@1"] > 80 for t in records if t["kind"] == "translation-metrics")


def test_same_seed_gives_the_same_record_stream_byte_for_byte(readme_runs):
    workdir, _, _, kept = readme_runs
    assert set(kept) == {"runs/run.jsonl", "demo-run/run.jsonl"}
    for name, first in kept.items():
        assert (workdir / name).read_bytes() == first, name
