"""Render the tables of RESULTS.md from the record files committed under benchmarks/ (``make -C benchmarks results``).

A table sits between two markers, each on a line of its own (not indented); the opening one names the command
that renders it, run in benchmarks/:

    <!-- table: cltc-report records/sib200/finetune.jsonl --table translation -->
    (the command's output: replaced on every run, never edited by hand)
    <!-- /table -->

The command is ``cltc-report ARGS`` (the report command of this checkout) or ``python SCRIPT ARGS`` (a benchmark
script that renders its own records); it prints Markdown on stdout, whose heading lines are dropped. With
``--check`` nothing is written: a table that differs from what its records render is printed as a diff (exit 1).

Usage: python render_results.py [--check] [RESULTS.md]
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKED = re.compile(r"^(<!-- table: (?P<command>.+?) -->\n)(?P<body>.*?)^(<!-- /table -->)", re.S | re.M)
PROGRAMS = {"cltc-report": [sys.executable, "-m", "cltc_tools.cli.report"], "python": [sys.executable]}


def render(command: str) -> str:
    """The Markdown that ``command`` prints in benchmarks/, without its heading lines."""
    words = shlex.split(command)
    if not words or words[0] not in PROGRAMS:
        raise SystemExit(f"render_results: unknown program in marker {command!r} (known: {', '.join(PROGRAMS)})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*PROGRAMS[words[0]], *words[1:]], cwd=HERE, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"render_results: {command!r} failed ({done.returncode}): {done.stderr.strip()}")
    lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    return "\n".join(lines).strip("\n") + "\n"


def render_document(text: str) -> str:
    """``text`` with the body of every marked table replaced by its command's output."""
    return MARKED.sub(lambda m: m.group(1) + render(m.group("command")) + m.group(4), text)


def marked_commands(text: str) -> list[str]:
    return [m.group("command") for m in MARKED.finditer(text)]


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    text = args.results.read_text(encoding="utf-8")
    rendered = render_document(text)
    if args.check:
        diff = list(difflib.unified_diff(text.splitlines(True), rendered.splitlines(True), "committed", "rendered"))
        sys.stdout.writelines(diff)
        return 1 if diff else 0
    if rendered != text:
        write_atomic(args.results, rendered)
    print(f"render_results: {len(marked_commands(text))} tables rendered into {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
