"""examples/Makefile's `paper` target on a small synthetic world laid out like the public data folder."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cltc_tools.datasets.demo import LANGS, PIVOT, DemoConfig, write_demo

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NONPIVOT = [lang for lang in LANGS if lang != PIVOT]
SMALL = DemoConfig(dim=16, n_concepts=500, n_names=40, n_numbers=30, dict_train=200, dict_test=80,
                   parallel_pairs=50, train_docs={"en": 120, "de": 40, "fr": 30, "it": 20}, test_docs=40,
                   dev_min=10)
GRID = ["SEEDS=1 2", "ARCHS=mlp", "DATASETS=sib200", "SPACES=procrustes", "TRAIN_FLAGS=--epochs 3",
        "TOKENIZER=unicode", "BOOTSTRAP=100", "PROTOCOL=balanced"]
RUNS = {f"mlp/{mode}/seed{seed}.jsonl" for mode in ("mono", "multi-procrustes") for seed in (1, 2)}


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def public_layout(demo: Path, data: Path) -> Path:
    """The demo world under the public data folder's names: .vec.gz vectors, MUSE files, gzipped parallel text."""
    vectors = data / "embeddings" / "eltec-parallel"
    vectors.mkdir(parents=True)
    for lang in LANGS:
        subprocess.run(["cltc-embed", "export", str(demo / "spaces" / lang), "--out",
                        str(vectors / f"{lang}.300d.vec.gz"), "--quiet"], check=True, env=env(),
                       stdin=subprocess.DEVNULL)
    (data / "dictionaries").mkdir()
    (data / "parallel").mkdir()
    for lang in NONPIVOT:
        for split, name in (("train", "0-5000"), ("test", "5000-6500")):
            shutil.copy(demo / "dictionaries" / f"{lang}-{PIVOT}.{split}.txt",
                        data / "dictionaries" / f"{lang}-{PIVOT}.{name}.txt")
        parallel = (demo / "parallel" / f"{lang}-{PIVOT}.jsonl").read_bytes()
        (data / "parallel" / f"{lang}-{PIVOT}.jsonl.gz").write_bytes(gzip.compress(parallel))
    for dataset in ("sib200", "tweet_sentiment"):
        shutil.copytree(demo / "docs", data / dataset)
    return data


def make_paper(data: Path, out: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(REPO / "examples"), "paper", f"DATA={data}", f"OUT={out}", *GRID,
                           *overrides], capture_output=True, text=True, env=env(), stdin=subprocess.DEVNULL,
                          timeout=600)


def mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    if shutil.which("make", path=env()["PATH"]) is None:
        pytest.fail("`make` is not on PATH: examples/Makefile cannot be tested (install GNU make)")
    root = tmp_path_factory.mktemp("paper")
    write_demo(root / "demo", SMALL)
    data = public_layout(root / "demo", root / "data")
    result = make_paper(data, root / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    return data, root / "out", result


def test_report_has_table_2_per_language_and_word_translation(paper):
    _, out, result = paper
    report = (out / "report.md").read_text()
    assert report in result.stdout  # `make paper` prints it
    assert report.startswith("Protocol: balanced (every language's training set at full size); training flags: "
                             "--epochs 3.\n\n## sib200\n")
    for lang in (x.upper() for x in LANGS):
        assert re.search(rf"^\| {lang} \| mono \| \d+\.\d\d ± \d+\.\d\d \|", report, re.M)
        assert re.search(rf"^\| {lang} \| best multi \| \d+\.\d\d ± \d+\.\d\d \(procrustes\) \|", report, re.M)
        assert re.search(rf"^\| {lang} \| avg multi \| \d+\.\d\d \|", report, re.M)
        assert re.search(rf"^\| {lang} \| gain \| -?\d+\.\d\d \(p=\d\.\d+\) \|", report, re.M)
    assert re.search(r"^\|  \| avg gain \| -?\d+\.\d\d \|", report, re.M)
    translation = report[report.index("## Word translation"):]
    for lang in NONPIVOT:
        assert re.search(rf"^\| procrustes \| {lang}-{PIVOT} \| \d+\.\d\d \|", translation, re.M)


def test_figures_are_pngs(paper):
    _, out, _ = paper
    for figure in ("sib200/gain.png", "translation/translation.png"):
        assert (out / "figures" / figure).read_bytes().startswith(b"\x89PNG"), figure


def test_one_run_file_per_arch_mode_and_seed_with_every_test_language(paper):
    _, out, _ = paper
    runs = out / "runs" / "balanced" / "sib200"
    assert {p.relative_to(runs).as_posix() for p in runs.rglob("*.jsonl")} == RUNS
    for run in RUNS:
        records = [json.loads(line) for line in (runs / run).read_text().splitlines()]
        models = [r for r in records if r["kind"] == "model"]
        assert len(models) == (len(LANGS) if "/mono/" in run else 1)  # mono: one model per language
        assert sorted(r["test_lang"] for r in records if r["kind"] == "metrics") == sorted(LANGS)


def test_second_make_retrains_nothing(paper):
    data, out, _ = paper
    before = mtimes(out)
    again = make_paper(data, out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "cltc-" not in again.stdout.replace((out / "report.md").read_text(), "")  # no recipe was run
    assert mtimes(out) == before
    uptodate = subprocess.run(["make", "-q", "-C", str(REPO / "examples"), str(out / "report.md"), f"DATA={data}",
                               f"OUT={out}", *GRID], capture_output=True, text=True, env=env(), stdin=subprocess.DEVNULL)
    assert uptodate.returncode == 0, uptodate.stdout + uptodate.stderr  # `make -q` tells the grid is complete


def test_a_grown_grid_trains_only_the_new_runs(paper):
    data, out, _ = paper
    before, report = mtimes(out / "runs"), (out / "report.md").stat().st_mtime_ns
    grown = make_paper(data, out, "SEEDS=1 2 3")
    assert grown.returncode == 0, grown.stderr[-3000:]
    trained = [line for line in grown.stdout.splitlines() if line.startswith("cltc-train")]
    assert len(trained) == 2 and all("--seed 3" in line for line in trained)  # mono and multi of the new seed
    assert {p: t for p, t in mtimes(out / "runs").items() if p in before} == before
    assert all((out / "runs/balanced/sib200/mlp" / mode / "seed3.jsonl").exists()
               for mode in ("mono", "multi-procrustes"))
    assert (out / "report.md").stat().st_mtime_ns > report  # the report now averages over three seeds


def test_a_grid_under_the_paper_protocol_samples_once_and_resumes_without_retraining(paper):
    data, out, _ = paper
    paper_grid = [*GRID[:-1], "PROTOCOL=paper", "SEEDS=1"]
    first = make_paper(data, out / "p", *paper_grid)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (out / "p/data/paper/sib200.jsonl").is_file()  # the sample's record is kept, not deleted as intermediate
    before = mtimes(out / "p/runs")
    grown = make_paper(data, out / "p", *paper_grid[:-1], "SEEDS=1 2")
    assert grown.returncode == 0, grown.stderr[-3000:]
    assert "cltc-data sample" not in grown.stdout
    trained = [line for line in grown.stdout.splitlines() if line.startswith("cltc-train")]
    assert len(trained) == 2 and all("--seed 2" in line for line in trained)  # the new seed's mono and multi
    assert {p: t for p, t in mtimes(out / "p/runs").items() if p in before} == before


def test_the_paper_protocol_samples_the_training_sets_and_the_default_grid_has_six_spaces(paper):
    data, out, _ = paper
    dry = subprocess.run(["make", "-n", "-C", str(REPO / "examples"), "paper", f"DATA={data}", f"OUT={out}-dry"],
                         capture_output=True, text=True, env=env(), stdin=subprocess.DEVNULL)
    assert dry.returncode == 0, dry.stderr
    assert f"cltc-data sample {data}/sib200 --out {out}-dry/data/paper/sib200 --shares paper --seed 0" in dry.stdout
    trains = [line for line in dry.stdout.splitlines() if line.startswith("cltc-train")]
    assert trains and all(f"--data {out}-dry/data/paper/" in line and "--embeddings frozen" in line
                          for line in trains)
    for space in ("procrustes", "procrustes-identical", "cca", "attract-repel", "biskip", "sent-align"):
        assert f"--name {space} --out {out}-dry/spaces/{space} " in dry.stdout, space
