"""benchmarks/RESULTS.md: every table is rendered from the records committed under benchmarks/records/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
RENDER = REPO / "benchmarks" / "render_results.py"
# sections whose tables are not rendered from records (none)
UNRENDERED_SECTIONS: tuple[str, ...] = ()  # every section is rendered from records


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RENDER), "--check", str(path)], capture_output=True, text=True)


def test_committed_tables_equal_what_their_records_render():
    done = check(RESULTS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def test_a_table_that_disagrees_with_its_records_fails(tmp_path):
    text = RESULTS.read_text()
    marker = "<!-- table: python bench_help.py --render records/help.jsonl -->\n"
    body = text.split(marker)[1].split("<!-- /table -->")[0]
    edited = tmp_path / "RESULTS.md"
    edited.write_text(marker + body.replace("| yes |", "| NO |", 1) + "<!-- /table -->\n")
    done = check(edited)
    assert done.returncode == 1 and "-| `cltc-data --help`" in done.stdout and "+| `cltc-data --help`" in done.stdout


def test_every_table_sits_between_markers_and_every_marker_names_committed_records():
    unmarked, inside, section = [], False, ""
    for line in RESULTS.read_text().splitlines():
        if line.startswith("#"):
            section = line
        inside = (inside or line.startswith("<!-- table: ")) and not line.startswith("<!-- /table -->")
        if line.startswith("|") and not inside and not section.startswith(UNRENDERED_SECTIONS):
            unmarked.append(f"{section}: {line}")
    assert unmarked == []
    for command in re.findall(r"^<!-- table: (.+?) -->", RESULTS.read_text(), re.M):
        files = [w for w in command.split() if w.startswith("records/")]
        paths = [REPO / "benchmarks" / f for f in files]
        assert paths and all(p.is_file() or any(p.rglob("*.jsonl")) for p in paths), command
