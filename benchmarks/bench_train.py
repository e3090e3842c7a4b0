"""Training throughput on real data, two versions of the code side by side, with the dev macro-F1 of every epoch.

Documents per CPU second = training documents x epochs / process CPU seconds of ``train_models`` (vocabulary,
encoding, every epoch with its dev evaluation and snapshot, the saved checkpoint): what a run of the grid pays
after the imports. CPU seconds, not wall time, because the machine is shared; the two versions run alternately in
fresh processes, so both see the same load (recorded with every run).

  # one measurement of the code importable as cltc_tools (a JSON record on stdout)
  python benchmarks/bench_train.py run --data DATA/sib200 --space SPACE --arch cnn --seed 1 --label after
  # versions side by side (DIR: a checkout, e.g. `git worktree add /tmp/bench-before a153691`), records appended
  python benchmarks/bench_train.py compare --before /tmp/bench-before --after . --data DATA/sib200 --space SPACE \
      --archs mlp,cnn,gru-att,han --seeds 1,2,3 --out benchmarks/records/train-speed/sib200-en.jsonl
  # the RESULTS.md table, from the committed records
  python benchmarks/bench_train.py render benchmarks/records/train-speed/*.jsonl
  # what no rewrite at an equal trajectory removes: CPU time of the matrix products and of dropout's random numbers,
  # with the products' rate against the core's best (and the summary of a HAN run's profile takes about 13 GB)
  python benchmarks/bench_train.py floor --data DATA/sib200 --space SPACE --archs cnn,gru-att,han --seed 1 \
      --out benchmarks/records/train-speed/floor-sib200-en.jsonl
  python benchmarks/bench_train.py render-floor FLOOR.jsonl --speed SPEED.jsonl --target 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import mean, median
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- train-speed:begin (bench_train.py render --write) -->", "<!-- train-speed:end -->"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train one architecture with the code on sys.path; time it in CPU seconds."""
    import torch

    epochs: list[dict[str, Any]] = []

    def on_epoch(info: dict[str, Any]) -> None:
        epochs.append({"cpu": time.process_time(), "dev_macro_f1": round(float(info["dev_macro_f1"]), 6)})

    load_before = os.getloadavg()
    docs, cpu, wall = train_once(args, args.arch, on_epoch)
    steady = epochs[-1]["cpu"] - epochs[0]["cpu"] if len(epochs) > 1 else float("nan")
    return {
        **identity(args, args.arch, "train-speed"), "label": args.label, "epochs": len(epochs), "train_docs": docs,
        "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
        "docs_per_cpu_s": round(docs * len(epochs) / cpu, 2),
        "epoch_docs_per_cpu_s": round(docs * (len(epochs) - 1) / steady, 2) if len(epochs) > 1 else None,
        "dev_macro_f1": [e["dev_macro_f1"] for e in epochs],
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
    }


def train_once(args: argparse.Namespace, arch: str, on_epoch: Any = None) -> tuple[int, float, float]:
    """``train_models`` on the data of ``args`` (paper preset, ``args.epochs`` epochs): (training documents, CPU
    seconds, wall seconds)."""
    import torch

    from cltc_tools.datasets.labelled import load_split
    from cltc_tools.io.space import open_space
    from cltc_tools.text.tokenize import Tokenizer
    from cltc_tools.training.loop import TrainSettings, train_models
    from cltc_tools.training.models import ARCHS

    torch.set_num_threads(args.threads)
    langs = args.langs.split(",")
    train = load_split(Path(args.data), [], "train", langs)
    dev = load_split(Path(args.data), [], "dev", langs)
    space = open_space(Path(args.space))
    hp = ARCHS.get(arch).hparams("paper", {"max_epochs": args.epochs, "patience": args.epochs})
    settings = TrainSettings(arch=arch, mode=args.mode, hparams=hp, seed=args.seed,
                             tokenizer=Tokenizer(style=args.tokenizer), device="cpu")
    with tempfile.TemporaryDirectory() as out:
        cpu, wall = time.process_time(), time.perf_counter()
        info = {"path": str(space.path), "sha256": space.sha256}  # what config.json records of the space
        train_models(space, info, train, dev, settings, Path(out), force=True, on_epoch=on_epoch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(train), cpu, wall  # mono trains one model per language: every document once per epoch as in multi


def identity(args: argparse.Namespace, arch: str, kind: str) -> dict[str, Any]:
    import cltc_tools

    return {"kind": kind, "commit": code_commit(Path(cltc_tools.__file__).parent), "dataset": Path(args.data).name,
            "space": Path(args.space).name, "langs": args.langs.split(","), "mode": args.mode, "arch": arch,
            "seed": args.seed, "threads": args.threads}


PRODUCTS = ("aten::mm", "aten::bmm", "aten::baddbmm", "aten::addmm", "aten::addbmm", "aten::mv", "aten::addmv")


def floor(args: argparse.Namespace, arch: str) -> dict[str, Any]:
    """The time of a run that a rewrite keeping every step of the computation cannot remove: its matrix products and
    dropout's random numbers (other numbers, another trajectory), self time of those operators under torch's
    profiler; with the products' floating-point operations, the best rate of the core's BLAS (what no kernel for
    the same products beats) and the share of real words among the padded positions of the training batches (an
    upper bound of what dropping the padding could save)."""
    import torch

    load_before = os.getloadavg()
    docs, cpu, products_s, calls, random_s = profiled_times(args, arch)
    flops, real_share = counted_operations(args, arch)
    return {**identity(args, arch, "train-floor"), "epochs": args.epochs, "train_docs": docs,
            "profiled_cpu_s": round(cpu, 3), "products_cpu_s": round(products_s, 3), "product_calls": calls,
            "products_gflop": round(flops / 1e9, 3), "peak_gflops": round(peak_gflops(), 1),
            "real_token_share": round(real_share, 4), "dropout_random_cpu_s": round(random_s, 3),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()], "torch": torch.__version__}


def profiled_times(args: argparse.Namespace, arch: str) -> tuple[int, float, float, int, float]:
    """One run under torch's profiler (first in the process, as a timed run): (training documents, CPU seconds of
    the run, seconds in matrix products, their number of calls, seconds drawing dropout's random numbers)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        docs, cpu, _ = train_once(args, arch)
    ops = prof.key_averages()  # summing the events of a 6-epoch HAN run on SIB-200 takes about 13 GB
    products = [e for e in ops if e.key in PRODUCTS]
    return (docs, cpu, sum(e.self_cpu_time_total for e in products) / 1e6, sum(e.count for e in products),
            sum(e.self_cpu_time_total for e in ops if e.key == "aten::bernoulli_") / 1e6)


def counted_operations(args: argparse.Namespace, arch: str) -> tuple[float, float]:
    """The same run again under torch's FlopCounterMode: (floating-point operations of its matrix products, share
    of real words among the positions of its training batches)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    def matrix_vector(mat: Any, vec: Any, *_: Any, **__: Any) -> int:  # aten::mv, which the counter leaves out
        return 2 * mat[0] * mat[1]

    def matrix_vector_added(bias: Any, mat: Any, vec: Any, *_: Any, **__: Any) -> int:  # aten::addmv
        return 2 * mat[0] * mat[1]

    def batch_products_added(bias: Any, first: Any, second: Any, *_: Any, **__: Any) -> int:  # aten::addbmm
        return 2 * first[0] * first[1] * first[2] * second[2]

    ops = torch.ops.aten
    mapping = {ops.mv: matrix_vector, ops.addmv: matrix_vector_added, ops.addbmm: batch_products_added}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counted, training_positions() as positions:
        train_once(args, arch)
    return counted.get_total_flops(), positions["real"] / max(positions["all"], 1)


@contextmanager
def training_positions() -> Iterator[dict[str, int]]:
    """Count the word positions of the batches the training loop pads for its training steps (not for the dev
    evaluation): all, and real (id > 0; 0 is padding)."""
    from cltc_tools.training import loop

    counts, training = {"all": 0, "real": 0}, [False]
    pad, epoch = loop.collate, loop.train_epoch

    def counting(*args: Any, **kwargs: Any) -> Any:
        ids = pad(*args, **kwargs)
        if training[0]:
            counts["all"] += ids.numel()
            counts["real"] += int((ids != 0).sum())
        return ids

    def flagged(*args: Any, **kwargs: Any) -> Any:
        training[0] = True
        try:
            return epoch(*args, **kwargs)
        finally:
            training[0] = False

    loop.collate, loop.train_epoch = counting, flagged
    try:
        yield counts
    finally:
        loop.collate, loop.train_epoch = pad, epoch


def peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """The best rate of this core's BLAS: a [size, size] float32 product, the fastest of ``repeats`` after one warm-up
    (GFLOP per second of wall time, the profiler's clock, at the thread count set for the run)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def code_commit(package: Path) -> str:
    """The commit of the checkout holding ``package`` (with +dirty when it has uncommitted changes)."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(package), *cmd], capture_output=True, text=True, check=False).stdout.strip()
    dirty = git("status", "--porcelain", "--", ".")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def compare(args: argparse.Namespace) -> None:
    """Both versions, alternately, in fresh processes; every record appended to ``--out`` and printed."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    common = ["--data", args.data, "--space", args.space, "--langs", args.langs, "--mode", args.mode,
              "--epochs", str(args.epochs), "--tokenizer", args.tokenizer, "--threads", str(args.threads)]
    for arch in args.archs.split(","):
        for seed in args.seeds.split(","):
            for _ in range(args.repeats):
                for label, code in (("before", args.before), ("after", args.after)):
                    env = {**os.environ, "PYTHONPATH": str(Path(code).resolve()), "OMP_NUM_THREADS": str(args.threads)}
                    cmd = [sys.executable, __file__, "run", *common, "--arch", arch, "--seed", seed, "--label", label]
                    line = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip()
                    with out.open("a", encoding="utf-8") as handle:
                        handle.write(line + "\n")
                    record = json.loads(line)
                    print(f"{arch:8s} seed {seed} {label:6s} {record['docs_per_cpu_s']:8.1f} docs/CPU-s  "
                          f"load {record['loadavg_before'][0]:.1f}  dev F1 {record['dev_macro_f1']}", flush=True)


def render(paths: list[Path]) -> str:
    """Markdown tables of the records: speed per architecture, dev macro-F1 per epoch side by side."""
    records = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line]
    groups: dict[tuple, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(r["dataset"], r["mode"], ",".join(r["langs"]), r["space"], r["arch"])][r["label"]].append(r)
    header = ("| dataset | mode | langs | arch | epochs | before docs/CPU-s | after docs/CPU-s | speed-up | "
              "epochs only: before | after | speed-up | runs | load (1 min) | commits |")
    lines = [header,
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    curves = ["| dataset | arch | seed | version | dev macro-F1 per epoch | best |", "|---|---|---:|---|---|---:|"]
    for (dataset, mode, langs, _space, arch), sides in sorted(groups.items()):
        before, after = sides.get("before", []), sides.get("after", [])
        if not before or not after:
            continue
        rate = {k: median(r["docs_per_cpu_s"] for r in v) for k, v in sides.items()}
        steady = {k: median(r["epoch_docs_per_cpu_s"] for r in v) for k, v in sides.items()}
        loads = [r["loadavg_before"][0] for r in before + after]
        commits = f"{before[0]['commit']} -> {after[0]['commit']}"
        lines.append(f"| {dataset} | {mode} | {langs} | {arch} | {before[0]['epochs']} | {rate['before']:.0f} | "
                     f"{rate['after']:.0f} | {rate['after'] / rate['before']:.2f}x | {steady['before']:.0f} | "
                     f"{steady['after']:.0f} | {steady['after'] / steady['before']:.2f}x | {len(before)}+{len(after)} | "
                     f"{min(loads):.1f}-{max(loads):.1f} | {commits} |")
        first = {k: {r["seed"]: r for r in reversed(v)} for k, v in sides.items()}  # the first run of each seed
        for seed in sorted(first["before"]):
            for label in ("before", "after"):
                f1 = first[label][seed]["dev_macro_f1"]
                curves.append(f"| {dataset} | {arch} | {seed} | {label} | {' '.join(f'{x * 100:.1f}' for x in f1)} | "
                              f"{max(f1) * 100:.1f} |")
        best = {k: mean(max(r["dev_macro_f1"]) for r in v.values()) for k, v in first.items()}
        curves.append(f"| {dataset} | {arch} | mean | best dev F1 | before {best['before'] * 100:.2f}, after "
                      f"{best['after'] * 100:.2f} | {(best['after'] - best['before']) * 100:+.2f} |")
    return "\n".join(lines) + "\n\nDev macro-F1 (%) after every epoch, same seed, both versions:\n\n" + "\n".join(curves)


def read_records(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line]


def setting(record: dict[str, Any]) -> tuple:
    return tuple(str(record.get(k)) for k in ("dataset", "arch", "mode", "epochs", "threads", "langs"))


def render_floor(floor_paths: list[Path], speed_paths: list[Path], target: float) -> str:
    """What a ``target``-fold speed-up leaves for everything but the products and the random numbers of a run
    (floor and speed records of the same data, architecture, mode, epochs and threads; the profiler's operator
    times are CPU seconds at one thread, the setting of every record here), also with every product at the best
    rate of the core's BLAS: no kernel computes the same products in less."""
    speed: dict[tuple, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in read_records(speed_paths):
        speed[setting(r)][r["label"]].append(r)
    lines = [(f"| dataset | arch | before: CPU s per run | at {target:g}x | products | their rate, GFLOPS (core's "
              f"best) | products at the best rate | dropout's random numbers | left at {target:g}x for the rest | "
              f"the same, products at the best rate | after: the rest | real words among padded positions | "
              f"floor (loads) |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in read_records(floor_paths):
        sides = speed.get(setting(r), {})
        if sides.get("before") and sides.get("after"):
            before, after = (median(x["cpu_s"] for x in sides[k]) for k in ("before", "after"))
            lines.append(floor_row(r, before, after, target))
    return "\n".join(lines)


def floor_row(r: dict[str, Any], before: float, after: float, target: float) -> str:
    """One row of ``render_floor`` ("-" where a record predates a column)."""
    budget, products, randoms = before / target, r["products_cpu_s"], r["dropout_random_cpu_s"]
    rate, at_best, left_at_best, real = "-", "-", "-", "-"
    if r.get("products_gflop") and r.get("peak_gflops"):
        best_s = r["products_gflop"] / r["peak_gflops"]
        rate = f"{r['products_gflop'] / products:.0f} ({r['peak_gflops']:.0f})" if products > 0 else "-"
        at_best, left_at_best = f"{best_s:.2f}", f"{budget - best_s - randoms:.2f}"
    if "real_token_share" in r:
        real = f"{100 * r['real_token_share']:.0f}%"
    return (f"| {r['dataset']} | {r['arch']} | {before:.2f} | {budget:.2f} | {products:.2f} ({r['product_calls']} "
            f"calls) | {rate} | {at_best} | {randoms:.2f} | {budget - products - randoms:.2f} | {left_at_best} | "
            f"{after - products - randoms:.2f} | {real} | {r['commit']} ({r['loadavg_before'][0]:.1f}) |")


def write_section(text: str) -> None:
    """Replace the text between the markers of RESULTS.md (or append the section with them)."""
    body = RESULTS.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in body and END in body:
        head, rest = body.split(BEGIN, 1)
        body = head + block + rest.split(END, 1)[1]
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "compare", "floor"):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True, help="dataset folder with <lang>/{train,dev}.jsonl")
        p.add_argument("--space", required=True)
        p.add_argument("--langs", default="en")
        p.add_argument("--mode", default="mono", choices=["mono", "multi"])
        p.add_argument("--epochs", type=int, default=8)
        p.add_argument("--tokenizer", default="eltec")
        p.add_argument("--threads", type=int, default=1)
        if name == "run":
            p.add_argument("--arch", required=True)
            p.add_argument("--seed", type=int, default=1)
            p.add_argument("--label", default="current")
        elif name == "floor":
            p.add_argument("--archs", default="cnn,gru-att,han")
            p.add_argument("--seed", type=int, default=1)
            p.add_argument("--out", required=True, help="JSONL file the records are appended to")
        else:
            p.add_argument("--before", required=True, help="checkout of the code before")
            p.add_argument("--after", default=".", help="checkout of the code after")
            p.add_argument("--archs", default="mlp,cnn,gru-att,han")
            p.add_argument("--seeds", default="1")
            p.add_argument("--repeats", type=int, default=1)
            p.add_argument("--out", required=True, help="JSONL file the records are appended to")
    p = sub.add_parser("render-floor")
    p.add_argument("records", nargs="+", type=Path, help="floor records")
    p.add_argument("--speed", nargs="+", type=Path, required=True, help="train-speed records (before and after)")
    p.add_argument("--target", type=float, default=3.0)
    p = sub.add_parser("render")
    p.add_argument("records", nargs="+", type=Path)
    p.add_argument("--write", action="store_true", help="replace the section between the markers of RESULTS.md")
    args = parser.parse_args()
    if args.command == "run":
        print(json.dumps(run(args)))
    elif args.command == "compare":
        compare(args)
    elif args.command == "floor":
        for arch in args.archs.split(","):
            line = json.dumps(floor(args, arch))
            with Path(args.out).open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
            print(line, flush=True)
    elif args.command == "render-floor":
        print(render_floor(args.records, args.speed, args.target))
    else:
        text = render(args.records)
        print(text)
        if args.write:
            write_section(text)


if __name__ == "__main__":
    main()
