"""Time ``--help`` of every command and subcommand, as a user runs it (the installed entry points).

    python benchmarks/bench_help.py --out benchmarks/records/help.jsonl     # measure: one record per command
    python benchmarks/bench_help.py --render benchmarks/records/help.jsonl  # the Markdown table of RESULTS.md

Each command runs --repeats times (interleaved); a record holds the median and best wall time, the median CPU time
(user + system) of the process, whether the help shows a description and an example, and the load average
(1, 5, 15 min) before and after the measurement. The output file is never replaced without --force.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _records import record_main

TOOLS = ("data", "embed", "align", "train", "eval", "report")


def subcommands(tool: str) -> list[str]:
    """The subcommands of a cltc tool (none for a single-command tool), read from its typer app."""
    import typer.main

    module = __import__(f"cltc_tools.cli.{tool}", fromlist=["app"])
    command = typer.main.get_command(module.app)
    return sorted(getattr(command, "commands", {}) or {})


def command_lines() -> list[list[str]]:
    lines = []
    for tool in TOOLS:
        lines.append([f"cltc-{tool}"])
        lines.extend([f"cltc-{tool}", sub] for sub in subcommands(tool))
    return lines


def time_once(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of one ``argv --help``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def shows_description_and_example(text: str) -> bool:
    usage, _, rest = text.partition("\n\n")
    described = bool(rest.strip()) and not rest.lstrip().startswith(("Options:", "Arguments:"))
    return usage.startswith("Usage:") and described and "Example" in text


def measure(repeats: int) -> list[dict]:
    bindir = Path(sys.executable).parent
    lines = command_lines()
    samples: dict[str, list[tuple[float, float]]] = {" ".join(line): [] for line in lines}
    helps: dict[str, str] = {}
    load_before = [round(x, 2) for x in os.getloadavg()]
    for _ in range(repeats):
        for line in lines:
            wall, cpu, text = time_once([str(bindir / line[0]), *line[1:]])
            samples[" ".join(line)].append((wall, cpu))
            helps[" ".join(line)] = text
    load_after = [round(x, 2) for x in os.getloadavg()]
    return [{"kind": "bench-help", "command": name, "repeats": repeats,
             "median_s": round(statistics.median(w for w, _ in runs), 3), "best_s": round(min(w for w, _ in runs), 3),
             "cpu_s": round(statistics.median(c for _, c in runs), 3),
             "description_and_example": shows_description_and_example(helps[name]),
             "load_before": load_before, "load_after": load_after, "cores": os.cpu_count(),
             "python": platform.python_version(), "typer": _version("typer")}
            for name, runs in samples.items()]


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def render(path: Path) -> str:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    first = records[0]
    rows = ["| command | median wall s | best wall s | CPU s | description and example |", "|---|---:|---:|---:|---|"]
    rows += [f"| `{r['command']} --help` | {r['median_s']:.3f} | {r['best_s']:.3f} | {r['cpu_s']:.3f} | "
             f"{'yes' if r['description_and_example'] else 'NO'} |" for r in records]
    slowest = max(r["median_s"] for r in records)
    rows += ["", f"{len(records)} commands, run {first['repeats']} times each (interleaved); slowest median {slowest:.3f} s. Load average "
             f"(1/5/15 min) {' / '.join(map(str, first['load_before']))} before and "
             f"{' / '.join(map(str, first['load_after']))} after, {first['cores']} cores; Python {first['python']}, "
             f"typer {first['typer']}."]
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the records (JSONL) to this file")
    parser.add_argument("--render", type=Path, help="print the Markdown table of a records file")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    args = parser.parse_args()
    return record_main("bench_help", args, render, lambda: measure(args.repeats))


if __name__ == "__main__":
    sys.exit(main())
