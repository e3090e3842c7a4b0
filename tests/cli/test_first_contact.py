"""What a new user meets first: --help, the '=' mistake, a terminal, a failed pipeline, thread defaults."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from cltc_tools.cli import _common
from cltc_tools.cli.align import app as align_app
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app

runner = CliRunner()
BIN = Path(sys.executable).parent
TOOLS = ("data", "embed", "align", "train", "eval", "report")


def help_pages() -> list[tuple[str, list[str]]]:
    """(name, argv) of every command and subcommand."""
    pages = []
    for tool in TOOLS:
        module = __import__(f"cltc_tools.cli.{tool}", fromlist=["app"])
        command = typer.main.get_command(module.app)
        pages.append((f"cltc-{tool}", [f"cltc-{tool}"]))
        pages.extend((f"cltc-{tool} {sub}", [f"cltc-{tool}", sub]) for sub in getattr(command, "commands", {}) or {})
    return pages


def run_tool(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize("name,argv", help_pages(), ids=lambda x: x if isinstance(x, str) else "")
def test_help_shows_a_description_an_example_and_readable_metavars(name, argv):
    module = __import__(f"cltc_tools.cli.{argv[0].removeprefix('cltc-')}", fromlist=["app"])
    result = runner.invoke(module.app, [*argv[1:], "--help"])
    assert result.exit_code == 0
    usage, _, rest = result.stdout.partition("\n\n")
    assert usage.startswith("Usage:") and not rest.lstrip().startswith(("Options:", "Arguments:")), name
    assert "Example" in result.stdout, name
    assert not re.search(r"<(str|int|float|path|list\[\w+\])>", result.stdout), name


def test_help_imports_neither_torch_nor_matplotlib():
    code = ("import sys\nfor tool in %r:\n    __import__('cltc_tools.cli.' + tool)\n"
            "print([m for m in ('torch', 'matplotlib', 'scipy') if m in sys.modules])" % (TOOLS,))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_repeatable_option_without_equals_gets_a_hint(tmp_path):
    result = runner.invoke(align_app, ["--space", "demo/spaces/en", "demo/spaces/de", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "--space=demo/spaces/en --space=demo/spaces/de" in result.stderr
    assert "--space=demo/spaces/{en,de}" in result.stderr
    assert _common.brace_form(["d/de-en.txt", "d/fr-en.txt", "d/it-en.txt"]) == "d/{de,fr,it}-en.txt"


def test_on_a_terminal_records_become_one_summary_line(tmp_path):
    leader, follower = pty.openpty()
    done = subprocess.run([str(BIN / "cltc-data"), "demo", "--out", str(tmp_path / "d"), "--dim", "8", "-q"],
                          stdout=follower, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(follower)
    shown = os.read(leader, 65536).decode()
    os.close(leader)
    assert done.returncode == 0 and '{"kind"' not in shown
    assert re.search(r"cltc-data: 14 records \(4 space, 6 dictionary, 3 corpus, 1 dataset\)", shown), shown
    piped = run_tool(["cltc-data", "demo", "--out", str(tmp_path / "e"), "--dim", "8", "-q"])
    assert [json.loads(line)["kind"] for line in piped.stdout.splitlines()].count("space") == 4


def test_after_a_failed_command_the_rest_of_the_pipeline_stays_quiet(tiny_world, tmp_path):
    line = (f"set -o pipefail; {BIN}/cltc-align --space={tiny_world}/space --out {tmp_path}/s --dict nowhere.txt "
            f"| {BIN}/cltc-train --data {tiny_world}/docs --out {tmp_path}/m | {BIN}/cltc-eval --data "
            f"{tiny_world}/docs | {BIN}/cltc-report")
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line for line in done.stderr.strip().splitlines()
                                                if line.startswith("cltc-align: ")]
    assert len(done.stderr.strip().splitlines()) == 1
    alone = run_tool(["cltc-eval", "--data", str(tiny_world / "docs")], stdin=subprocess.DEVNULL)
    assert alone.returncode == 2 and "no model given" in alone.stderr


def test_eval_of_a_missing_model_folder_says_no_such_folder(tiny_world, tmp_path):
    result = runner.invoke(eval_app, ["--model", str(tmp_path / "nope"), "--data", str(tiny_world / "docs")])
    assert result.exit_code == 2 and f"{tmp_path / 'nope'}: no such folder" in result.stderr


def test_report_tee_keeps_the_records_and_never_replaces_them_without_force(tmp_path):
    metrics = {"kind": "metrics", "schema": 1, "arch": "mlp", "mode": "mono", "train_langs": ["en"], "test_lang": "en",
               "space_method": "s", "macro_f1": 0.5, "macro_precision": 0.5, "macro_recall": 0.5}
    stdin = json.dumps(metrics, separators=(",", ":")) + "\n"
    kept = tmp_path / "runs" / "run.jsonl"
    first = runner.invoke(report_app, ["--tee", str(kept)], input=stdin)
    assert first.exit_code == 0 and kept.read_text() == stdin and "| EN | mono |" in first.stdout
    again = runner.invoke(report_app, ["--tee", str(kept)], input="")
    assert again.exit_code == 2 and "output exists" in again.stderr and kept.read_text() == stdin
    forced = runner.invoke(report_app, ["--tee", str(kept), "--force"], input=stdin)
    assert forced.exit_code == 0 and kept.read_text() == stdin


def test_thread_defaults_respect_the_user_and_cap_at_four():
    env: dict[str, str] = {}
    _common.default_threads(env)
    cores = len(os.sched_getaffinity(0))
    assert env == {"OMP_NUM_THREADS": str(min(cores, 4)), "MKL_NUM_THREADS": str(min(cores, 4)),
                   "OMP_WAIT_POLICY": "PASSIVE"}
    mine = {"OMP_NUM_THREADS": "1"}
    _common.default_threads(mine)
    assert mine["OMP_NUM_THREADS"] == "1" and mine["MKL_NUM_THREADS"] == "1"


RETURN_FREED = """
import sys, numpy as np
from cltc_tools.cli._common import return_freed_matrices
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
print(return_freed_matrices({}), return_freed_matrices({"MALLOC_MMAP_THRESHOLD_": "65536"}))
a = np.ones(3 * 2**20); del a  # 24 MB freed: glibc's own threshold would now rise to that size
before = rss()
b = np.ones(2 * 2**20); del b  # 16 MB written and freed
print(rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_matrix_leaves_the_resident_memory_of_a_command():
    """cltc-align reads, maps and drops one language after another: what it frees must not stay resident."""
    out = subprocess.run([sys.executable, "-c", RETURN_FREED], capture_output=True, text=True, check=True).stdout
    first, grown = out.splitlines()
    assert first == "True False"  # set, unless the user chose a threshold
    assert int(grown) <= 2
