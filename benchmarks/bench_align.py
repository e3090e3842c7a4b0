"""Alignment speed as users run it: `cltc-align` timed as a command, side by side with real VecMap.

Cases (each run as a subprocess; CPU seconds from resource.getrusage(RUSAGE_CHILDREN), peak RSS from os.wait4):

- ``synthetic``: bench's own 200,000 x 300 pair (``synthetic_pair``: the target is Gaussian with a decaying
  spectrum, so that some words are hubs; the source is the rotated target plus noise, mapped back by Procrustes on
  5,000 pairs; 1,500 test words translate to their own rows). ``cltc-align --method identity --eval-dict`` (CSLS
  P@1/5/10) against VecMap's ``eval_translation.py --retrieval csls`` (P@1 only) on the same vectors (.vec files
  printed exactly), same threads.
- ``procrustes``, ``multistep``, ``rcsls``, ``refine``: de, fr and it onto English on the shared 30,000-word vectors
  (spaces from ``cltc-embed import``; ``MAPPINGS`` lists the flags), writing the space and evaluating the three
  test dictionaries; ``refine`` runs Procrustes from ``--dict identical`` with and without ``--refine 2``.

Each run appends one JSON record to benchmarks/records/align-speed/<case>.jsonl (command, threads, CPU and wall seconds,
peak RSS, P@k, the load average before and after, the measured GEMM peak and the share of it reached by the
exact full pass's arithmetic); ``--render`` prints the table of benchmarks/RESULTS.md from those records.

Usage: python benchmarks/bench_align.py [--case synthetic|procrustes|multistep|rcsls|refine] [--threads 1]
[--vecmap DIR] [--baseline DIR] [--reference] [--data DIR]
[--work DIR] [--render [DIR]]  (VecMap: a checkout of github.com/artetxem/vecmap; it is not part of this project.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TRAIN = 5000
HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records" / "align-speed"
RESULTS = HERE / "RESULTS.md"
LANGS = ("de", "fr", "it")


def synthetic_pair(words: int, dim: int, queries: int, noise: float, seed: int) -> tuple[Any, Any, Any]:
    """Source = target @ rotation + noise, mapped back by Procrustes on 5,000 training pairs; the test dictionary
    maps ``queries`` other random source rows to their own rows."""
    import numpy as np

    from cltc_tools.align.dictionary import IndexPairs
    from cltc_tools.align.procrustes import procrustes

    rng = np.random.default_rng(seed)
    spectrum = (np.arange(1, dim + 1) ** -0.25).astype(np.float32)
    tgt = rng.standard_normal((words, dim), dtype=np.float32) * spectrum
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    rotation = (q * np.sign(np.diag(r))).astype(np.float32)
    src = tgt @ rotation
    src += noise * np.linalg.norm(spectrum) / np.sqrt(dim) * rng.standard_normal((words, dim), dtype=np.float32)
    order = rng.permutation(words)
    train, rows = order[:TRAIN], np.sort(order[TRAIN:TRAIN + queries])
    mapped = (src @ procrustes(src[train], tgt[train])).astype(np.float32)  # the source mapped onto the target
    pairs = IndexPairs("xx", "yy", rows, rows, queries, 0, queries, "synthetic")
    return mapped, tgt, pairs


def write_synthetic(work: Path, words: int, dim: int, queries: int, noise: float, seed: int, create: bool = True
                    ) -> dict[str, Path]:
    """The pair as one cltc space (languages xx, yy), two .vec files and a test dictionary (words w0, w1, ...)."""
    from cltc_tools.io.space import LangBlock, write_space
    from cltc_tools.io.vectors import write_vec

    tag = f"{words}x{dim}-q{queries}-n{noise}-s{seed}"
    paths = {"space": work / f"space-{tag}", "src_vec": work / f"xx-{tag}.vec", "tgt_vec": work / f"yy-{tag}.vec",
             "dict": work / f"dict-{tag}" / "xx-yy.5000-6500.txt"}
    if not create or all(p.exists() for p in paths.values()):
        return paths
    src, tgt, pairs = synthetic_pair(words, dim, queries, noise, seed)
    names = [f"w{i}" for i in range(words)]
    write_space(paths["space"], [LangBlock("xx", names, src), LangBlock("yy", names, tgt)], force=True)
    write_vec(paths["src_vec"], names, src, force=True)
    write_vec(paths["tgt_vec"], names, tgt, force=True)
    paths["dict"].parent.mkdir(parents=True, exist_ok=True)
    paths["dict"].write_text("".join(f"w{i} w{j}\n" for i, j in zip(pairs.src, pairs.tgt)), encoding="utf-8")
    return paths


def run_command(cmd: list[str], threads: int, log: Path, extra_env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` with ``threads`` OpenMP/MKL threads: CPU seconds (user + system, RUSAGE_CHILDREN), wall seconds,
    peak RSS (MB), stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), **(extra_env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as err, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                                                   stderr=err, text=True) as proc:
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": round(cpu, 1), "wall_s": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "load_before": [round(x, 2) for x in load], "load_after": [round(x, 2) for x in os.getloadavg()],
            "stdout": out}


def gemm_peak(threads: int, seconds: float = 3.0) -> float:
    """float32 GEMM throughput in GFLOP per CPU second (per core), best of repeated [2048 x 300] x [300 x 8192]."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 300), torch.randn(8192, 300)
    out = torch.empty(2048, 8192)
    best, spent = 0.0, 0.0
    while spent < seconds:
        start = time.process_time()
        for _ in range(4):
            torch.mm(a, b.T, out=out)
        took = time.process_time() - start
        spent += took
        best = max(best, 4 * 2 * 2048 * 8192 * 300 / took / 1e9)
    return round(best, 1)


def full_pass(args: argparse.Namespace) -> dict:
    """CSLS and NN P@k of the synthetic pair with r_S computed for every target word (no bounds, no pruning): the
    reference the command's pruned evaluation must equal."""
    from cltc_tools.align.dictionary import index_pairs
    from cltc_tools.align.translation import SpacePair, mean_knn_similarity, rows_per_block, translation_scores
    from cltc_tools.io.dictionaries import read_dictionary_spec
    from cltc_tools.io.space import open_space

    paths = write_synthetic(args.work, args.words, args.dim, args.queries, args.noise, args.seed, create=False)
    space = open_space(paths["space"])
    pair = SpacePair.of(space.lang_vectors("xx"), space.lang_vectors("yy"), 10)
    pair.r_src[:] = mean_knn_similarity(pair.tgt, pair.src, 10, rows_per_block(len(pair.src)))
    pair.known[:] = True
    test = index_pairs(read_dictionary_spec(paths["dict"]), space.index("xx"), space.index("yy"))
    scores = translation_scores(pair, test)
    return {"csls": scores.csls, "nn": scores.nn}


def csls_scores(stdout: str) -> list[dict]:
    """The translation-metrics records of a cltc-align run."""
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [r for r in records if r.get("kind") == "translation-metrics"]


def helper(*flags: str) -> str:
    """Run this script in a child process (so that the parent, whose RSS the timed commands inherit as a floor of
    their peak RSS, stays small); its stdout."""
    return subprocess.run([sys.executable, __file__, *flags], check=True, capture_output=True, text=True).stdout


def synthetic_case(args: argparse.Namespace, peak: float) -> list[dict]:
    helper("--prepare", "--work", str(args.work), "--words", str(args.words), "--dim", str(args.dim),
           "--queries", str(args.queries), "--noise", str(args.noise), "--seed", str(args.seed))
    paths = write_synthetic(args.work, args.words, args.dim, args.queries, args.noise, args.seed, create=False)
    ours = ["cltc-align", "--method", "identity", "--space", str(paths["space"]),
            "--pivot", "yy", "--eval-dict", str(paths["dict"]), "--out", str(args.work / "out-identity"),
            "--force", "--device", "cpu", "--threads", str(args.threads)]
    flops = 2 * args.dim * args.words * (args.words + 2 * args.queries)  # r_S of every target + NN and CSLS ranks
    records = []
    result = run_command(ours, args.threads, args.work / "cltc.log")
    metrics = csls_scores(result.pop("stdout"))[0]
    records.append({"implementation": "cltc-align", "command": display(ours), **result,
                    "csls": metrics["csls"], "nn": metrics["nn"]})
    if args.baseline:
        rev = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        theirs = [sys.executable, "-c", "from cltc_tools.cli.align import main; main()", *ours[1:]]
        result = run_command(theirs, args.threads, args.work / "baseline.log", {"PYTHONPATH": str(args.baseline)})
        metrics = csls_scores(result.pop("stdout"))[0]
        records.append({"implementation": f"cltc-align {rev}",
                        "command": f"PYTHONPATH={args.baseline} cltc-align {' '.join(ours[1:])}", **result,
                        "csls": metrics["csls"], "nn": metrics["nn"]})
    if args.reference:
        cmd = [sys.executable, __file__, "--full-pass", "--work", str(args.work), "--words", str(args.words),
               "--dim", str(args.dim), "--queries", str(args.queries), "--noise", str(args.noise), "--seed",
               str(args.seed)]
        result = run_command(cmd, args.threads, args.work / "full-pass.log")
        scores = json.loads(result.pop("stdout"))
        records.append({"implementation": "full pass (r_S of every target, library functions, no pruning)",
                        "command": display(cmd), **result, **scores})
    if args.vecmap:
        theirs = [sys.executable, str(Path(args.vecmap) / "eval_translation.py"), str(paths["src_vec"]),
                  str(paths["tgt_vec"]), "-d", str(paths["dict"]), "--retrieval", "csls"]
        result = run_command(theirs, args.threads, args.work / "vecmap.log")
        text = (args.work / "vecmap.log").read_text() + result.pop("stdout")
        accuracy = re.search(r"Accuracy:\s*([0-9.]+)%", text)
        records.append({"implementation": "vecmap eval_translation.py", "command": display(theirs), **result,
                        "csls": {"p@1": float(accuracy.group(1)) if accuracy else None}})
    for record in records:
        record["full_pass_share_of_peak"] = round(flops / 1e9 / record["cpu_s"] / peak, 3)
    return records


# The mapping cases: cltc-align's flags for de, fr and it onto English on the shared vectors.
MAPPINGS = {
    "procrustes": ["--method", "procrustes", "--normalize", "unit,center,unit"],
    "multistep": ["--method", "multistep"],
    "rcsls": ["--method", "rcsls"],
    "refine": ["--method", "procrustes", "--normalize", "unit,center,unit", "--refine", "2"],
}


def shared_spaces(args: argparse.Namespace) -> list[str]:
    """``--space`` flags of de, fr, it and en (made once with ``cltc-embed import``)."""
    flags = []
    for lang in (*LANGS, "en"):
        space = args.work / "spaces" / lang
        if not space.exists():
            run_command(["cltc-embed", "import",
                         str(args.data / "embeddings" / "eltec-parallel" / f"{lang}.300d.vec.gz"), "--lang", lang,
                         "--out", str(space), "-q"], args.threads, args.work / "import.log")
        flags += ["--space", str(space)]
    return flags


def mapping_case(args: argparse.Namespace, peak: float) -> list[dict]:
    """One cltc-align run of ``MAPPINGS[args.case]`` (``refine``: from --dict identical, also without --refine, so
    that the rounds' own cost is the difference), writing the space and evaluating the three test dictionaries."""
    dicts = args.data / "dictionaries"
    train = (["--dict", "identical"] if args.case == "refine"
             else [f"--dict={dicts}/{lang}-en.0-5000.txt" for lang in LANGS])
    tests = [f"--eval-dict={dicts}/{lang}-en.5000-6500.txt" for lang in LANGS]
    base = ["cltc-align", *shared_spaces(args), *train, *tests, "--out", str(args.work / f"out-{args.case}"),
            "--force", "--device", "cpu", "--threads", str(args.threads)]
    runs = [("", MAPPINGS[args.case])]
    if args.case == "refine":
        runs.insert(0, ("without --refine", MAPPINGS["refine"][:-2]))
    input_mb = sum((args.work / "spaces" / lang / "vectors.npy").stat().st_size for lang in (*LANGS, "en")) / 2**20
    flops = 3 * 2 * 300 * 30000 * (30000 + 2000)  # r_S of every target + NN and CSLS ranks, three pairs
    records = []
    for note, flags in runs:
        cmd = [*base[:1], *flags, *base[1:]]
        result = run_command(cmd, args.threads, args.work / f"{args.case}.log")
        metrics = csls_scores(result.pop("stdout"))
        records.append({"implementation": f"cltc-align {note}".strip(), "command": display(cmd), **result,
                        "input_mb": round(input_mb),
                        "pairs": {f"{m['src_lang']}-{m['tgt_lang']}": {"nn": m["nn"], "csls": m["csls"]}
                                  for m in metrics},
                        "full_pass_share_of_peak": round(flops / 1e9 / result["cpu_s"] / peak, 3)})
    return records


def display(cmd: list[str]) -> str:
    """The command as a user types it (python's own path dropped)."""
    return " ".join(["python", *cmd[1:]] if cmd[0] == sys.executable else cmd)


def rss(record: dict) -> str:
    """Peak RSS in MB, and as a multiple of the input matrices' bytes when the record has them."""
    share = f" ({record['peak_rss_mb'] / record['input_mb']:.1f}x input)" if record.get("input_mb") else ""
    return f"{record['peak_rss_mb']}{share}"


def render(root: Path = RECORDS) -> str:
    """The RESULTS.md table (and the commands behind it), from the committed records."""
    lines = [("| case | implementation | threads | CSLS P@1 / 5 / 10 | CPU s | wall s | peak RSS MB | load | "
              "GEMM peak GFLOP/s/core | peak share |"), "|---|---|---:|---|---:|---:|---:|---|---:|---:|"]
    commands = []
    for path in sorted(root.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if "pairs" in r:
                p1 = "; ".join(f"{pair} {v['csls']['p@1']:.2f} / {v['csls']['p@5']:.2f} / {v['csls']['p@10']:.2f}"
                               for pair, v in r["pairs"].items())
            else:
                p1 = " / ".join(f"{r['csls'][k]:.2f}" for k in ("p@1", "p@5", "p@10") if k in r["csls"])
            load = f"{r['load_before'][0]:.1f} -> {r['load_after'][0]:.1f}"
            lines.append(f"| {r['case']} | {r['implementation']} | {r['threads']} | {p1} | {r['cpu_s']} | "
                         f"{r['wall_s']} | {rss(r)} | {load} | {r['gemm_peak']} | "
                         f"{r['full_pass_share_of_peak']} |")
            commands.append(f"- {r['case']}, {r['implementation']}, {r['date']}: `{r['command']}`")
    return "\n".join([*lines, "", "Commands (paths under the benchmark's work folder):", "", *commands])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["synthetic", *MAPPINGS], default="synthetic")
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--queries", type=int, default=1500)
    parser.add_argument("--noise", type=float, default=3.0,
                        help="noise norm relative to the vectors' norm (3: CSLS P@1 about 60%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--vecmap", help="a VecMap checkout (eval_translation.py), to run side by side")
    parser.add_argument("--baseline", type=Path,
                        help="an earlier cltc-tools checkout whose cltc-align runs side by side (synthetic case)")
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cltc-bench-align"))
    parser.add_argument("--render", type=Path, nargs="?", const=RECORDS, metavar="DIR",
                        help="print the RESULTS.md table of the records in DIR [records/align-speed]")
    parser.add_argument("--reference", action="store_true",
                        help="also the unpruned full pass (r_S of every target), the P@k the command must equal")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--full-pass", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        print(render(args.render))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    if args.full_pass:
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps(full_pass(args)))
        return
    if args.prepare or args.peak:
        print(gemm_peak(1) if args.peak else write_synthetic(args.work, args.words, args.dim, args.queries,
                                                              args.noise, args.seed))
        return
    peak = float(helper("--peak"))
    records = synthetic_case(args, peak) if args.case == "synthetic" else mapping_case(args, peak)
    RECORDS.mkdir(exist_ok=True)
    with open(RECORDS / f"{args.case}.jsonl", "a", encoding="utf-8") as handle:
        for record in records:
            record = {"case": args.case, "threads": args.threads, "gemm_peak": peak, "cores": os.cpu_count(),
                      "cpu": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
                      **record}
            print(json.dumps(record))
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
