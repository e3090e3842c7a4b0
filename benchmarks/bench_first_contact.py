"""Time a new user's first commands, run as the README writes them: the demo and the test suite.

    python benchmarks/bench_first_contact.py --out benchmarks/records/first-contact.jsonl [--what demo suite]
    python benchmarks/bench_first_contact.py --render benchmarks/records/first-contact.jsonl

demo: ``bash examples/demo.sh`` in a fresh temporary folder, with the environment as it is (the README sets no
thread variable for it). suite: ``OMP_NUM_THREADS=1 python -m pytest -q`` in the repository. A record holds the
wall time, the CPU time (user + system) of every process it started, the peak memory (largest resident set of one
process), the exit status, pytest's summary line, and the load average (1, 5, 15 min) before and after.
The output file is never replaced without --force.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _records import record_main

REPO = Path(__file__).resolve().parents[1]


def run_measured(argv: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """Run ``argv``; wall and CPU seconds, peak RSS of its processes, exit status and last output line."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"wall_s": round(wall, 1),
            "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
            "peak_rss_mb": round(after.ru_maxrss / 1024), "status": done.returncode,
            "last_line": lines[-1] if lines else "", "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count()}


def measure(what: str) -> dict:
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if what == "demo":
        with tempfile.TemporaryDirectory() as tmp:
            result = run_measured(["bash", str(REPO / "examples" / "demo.sh")], Path(tmp), env)
        return {"kind": "bench-first-contact", "what": "demo", "command": "bash examples/demo.sh",
                "omp_num_threads": env.get("OMP_NUM_THREADS", "unset"), **result}
    env["OMP_NUM_THREADS"] = "1"
    result = run_measured([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], REPO, env)
    return {"kind": "bench-first-contact", "what": "suite", "command": "OMP_NUM_THREADS=1 python -m pytest -q",
            "omp_num_threads": "1", **result}


def render(path: Path) -> str:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = ["| command | wall | CPU (user + sys) | peak RSS | exit | load average before / after (1/5/15 min) |",
            "|---|---:|---:|---:|---:|---|"]
    for r in records:
        wall = f"{int(r['wall_s'] // 60)} min {r['wall_s'] % 60:.0f} s" if r["wall_s"] >= 60 else f"{r['wall_s']} s"
        rows.append(f"| `{r['command']}` | {wall} | {r['cpu_s']} s | {r['peak_rss_mb']} MB | {r['status']} | "
                    f"{' / '.join(map(str, r['load_before']))} ; {' / '.join(map(str, r['load_after']))} |")
    rows.append("")
    rows += [f"`{r['command']}`: {r['last_line'] if r['what'] == 'suite' else 'exit ' + str(r['status'])} "
             f"({r['cores']} cores, OMP_NUM_THREADS {r['omp_num_threads']})." for r in records]
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the records (JSONL) to this file")
    parser.add_argument("--render", type=Path, help="print the Markdown table of a records file")
    parser.add_argument("--what", nargs="+", choices=["demo", "suite"], default=["demo", "suite"])
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    args = parser.parse_args()
    return record_main("bench_first_contact", args, render, lambda: [measure(what) for what in args.what])


if __name__ == "__main__":
    sys.exit(main())
