"""Time the paper grid as users run it: one `make` command, its wall and CPU time, and the load around it.

    python benchmarks/bench_grid.py --label sib200 --out records/grid-time/sib200.jsonl -- \
        make -C examples -j2 paper DATA=../shared/data OUT=/tmp/grid DATASETS=sib200
    python benchmarks/bench_grid.py --render records/grid-time

The command runs in the current folder with stdin closed; its output goes to --log (default: discarded). A record
holds the command, its exit status, the wall time, the CPU time (user + system) of every process it started, the
largest resident set of one process, the load average (1, 5, 15 min) before and after, and the 1-minute load
sampled every --every seconds while it ran (min, mean, max). Then ``make -q`` is asked whether the grid is complete:
the command with ``-q`` added and ``-jN`` left out, or --question (a phony goal such as ``paper`` is never up to
date, so ask for the file it makes: ``--question "make -q -C examples /tmp/grid/report.md ..."``); its exit status
is recorded as ``complete_after`` (0: nothing left to run). Runs of one grid (the SIB-200 half, then the rest) are read together by --render: the
total is the sum of their wall times. The output file is never replaced without --force.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

from _records import record_main


def sample_load(stop: threading.Event, every: float, samples: list[float]) -> None:
    """Append the 1-minute load average to ``samples`` every ``every`` seconds until ``stop`` is set."""
    while not stop.wait(every):
        samples.append(os.getloadavg()[0])


def question(argv: list[str]) -> list[str]:
    """``argv`` as ``make -q``: the same goals and variables, no parallel jobs."""
    return [argv[0], "-q"] + [a for a in argv[1:] if not (a.startswith("-j") or a == "--jobs")]


def measure(argv: list[str], label: str, every: float, log: Path | None, ask: list[str] | None = None) -> dict:
    """Run ``argv`` once; its times, peak memory and load, then ask make whether it is complete."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop, samples = threading.Event(), [load_before[0]]
    sampler = threading.Thread(target=sample_load, args=(stop, every, samples), daemon=True)
    sink = log.open("w") if log else subprocess.DEVNULL
    start, started = time.perf_counter(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
    sampler.start()
    try:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT).returncode
    finally:
        wall = time.perf_counter() - start
        stop.set()
        if log:
            sink.close()  # type: ignore[union-attr]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    complete = subprocess.run(ask or question(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode
    return {"kind": "bench-grid", "label": label, "command": " ".join(argv), "started": started, "status": status,
            "wall_s": round(wall, 1),
            "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
            "peak_rss_mb": round(after.ru_maxrss / 1024), "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "load_during": {"min": round(min(samples), 2), "mean": round(sum(samples) / len(samples), 2),
                            "max": round(max(samples), 2), "every_s": every},
            "complete_after": complete, "question": " ".join(ask or question(argv)), "cores": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset")}


def clock(seconds: float) -> str:
    """``3725.0`` -> ``1 h 02 min 05 s``."""
    hours, rest = divmod(round(seconds), 3600)
    return (f"{hours} h " if hours else "") + f"{rest // 60:02d} min {rest % 60:02d} s"


def share(cpu_s: float, wall_s: float) -> str:
    """CPU seconds per wall second; a dash for a run too short to time (a grid with nothing left to do)."""
    return f"{cpu_s / wall_s:.2f}" if wall_s >= 0.05 else "-"


def render(path: Path) -> str:
    """The table of every record in ``path`` (a file, or a folder of .jsonl files read in name order)."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    rows = ["| part | command | exit | wall | CPU (user + sys) | CPU / wall | load 1 min: before, during (min / mean / max), "
            "after | `make -q` after |", "|---|---|---:|---:|---:|---:|---|---:|"]
    for r in records:
        during = r["load_during"]
        rows.append(f"| {r['label']} | `{r['command']}` | {r['status']} | {clock(r['wall_s'])} | {r['cpu_s']:.0f} s | "
                    f"{share(r['cpu_s'], r['wall_s'])} | {r['load_before'][0]}, {during['min']} / {during['mean']} / "
                    f"{during['max']}, {r['load_after'][0]} | {r['complete_after']} |")
    total = sum(r["wall_s"] for r in records)
    rows.append(f"| all | | {max(r['status'] for r in records)} | {clock(total)} | "
                f"{sum(r['cpu_s'] for r in records):.0f} s | {share(sum(r['cpu_s'] for r in records), total)} | | "
                f"{records[-1]['complete_after']} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the record (JSONL) to this file")
    parser.add_argument("--render", type=Path, help="print the Markdown table of a records file or folder")
    parser.add_argument("--label", default="grid", help="the name of this part of the grid [grid]")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between load samples [30]")
    parser.add_argument("--log", type=Path, help="write the command's output here")
    parser.add_argument("--question", type=shlex.split, help="the make -q command that says whether it is complete "
                        "[the command with -q]")
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    parser.add_argument("command", nargs="*", help="the make command, after --")
    args = parser.parse_args()
    if not args.render and not args.command:
        parser.error("a command to time is needed (after --)")
    return record_main("bench_grid", args, render, lambda: [measure(args.command, args.label, args.every, args.log, args.question)])


if __name__ == "__main__":
    sys.exit(main())
