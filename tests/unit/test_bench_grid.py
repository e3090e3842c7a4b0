"""benchmarks/bench_grid.py: the record of a timed make run, and the table of a grid run in parts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_grid.py"


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True)


def test_a_make_run_is_timed_and_then_asked_whether_it_is_complete(tmp_path):
    (tmp_path / "Makefile").write_text("all: a b\na b:\n\tsleep 0.2; touch $@\nhalf: a\n")
    done = bench("--label", "half", "--every", "0.05", "--out", "1.jsonl", "--", "make", "-C", str(tmp_path), "-j2",
                 "half", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = json.loads((tmp_path / "1.jsonl").read_text())
    assert first["status"] == 0 and first["complete_after"] == 0 and first["wall_s"] >= 0.2
    assert first["load_during"]["min"] <= first["load_during"]["mean"] <= first["load_during"]["max"]
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()

    bench("--label", "rest", "--out", "2.jsonl", "--", "make", "-C", str(tmp_path), "-j2", "all", cwd=tmp_path)
    table = bench("--render", str(tmp_path), cwd=tmp_path).stdout
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["half", "rest", "all"]
    total = json.loads((tmp_path / "1.jsonl").read_text())["wall_s"] + json.loads(
        (tmp_path / "2.jsonl").read_text())["wall_s"]
    assert f"{round(total) // 60:02d} min {round(total) % 60:02d} s" in rows[-1]


def test_a_phony_goal_is_asked_about_through_the_file_it_makes(tmp_path):
    (tmp_path / "Makefile").write_text(".PHONY: paper\npaper: report\n\t@cat report\nreport:\n\techo done > $@\n")
    bench("--out", "plain.jsonl", "--", "make", "-C", str(tmp_path), "paper", cwd=tmp_path)
    bench("--out", "asked.jsonl", "--question", f"make -q -C {tmp_path} report", "--", "make", "-C", str(tmp_path),
          "paper", cwd=tmp_path)
    plain, asked = (json.loads((tmp_path / f).read_text()) for f in ("plain.jsonl", "asked.jsonl"))
    assert plain["complete_after"] == 1  # make -q paper: a phony goal is always out of date
    assert asked["complete_after"] == 0 and asked["question"] == f"make -q -C {tmp_path} report"


def test_an_unfinished_goal_is_recorded_as_incomplete_and_nothing_is_overwritten(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\tfalse\n")
    done = bench("--out", "r.jsonl", "--", "make", "-C", str(tmp_path), "all", cwd=tmp_path)
    record = json.loads((tmp_path / "r.jsonl").read_text())
    assert done.returncode == 0 and record["status"] != 0 and record["complete_after"] != 0
    again = bench("--out", "r.jsonl", "--", "make", "-C", str(tmp_path), "all", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_a_call_with_nothing_left_to_run_is_rendered(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\t@true\n")
    bench("--label", "again", "--out", "3.jsonl", "--", "make", "-s", "-C", str(tmp_path), "all", cwd=tmp_path)
    record = json.loads((tmp_path / "3.jsonl").read_text())
    record["wall_s"], record["cpu_s"] = 0.0, 0.0  # rounded to a tenth of a second: a grid found complete
    (tmp_path / "3.jsonl").write_text(json.dumps(record) + "\n")
    table = bench("--render", str(tmp_path / "3.jsonl"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "| again |" in table.stdout and "| - |" in table.stdout
