"""CSLS word-translation evaluation (P@1): cltc-align's exact pruned search against plain numpy as VecMap does it.

A synthetic pair of 200,000 x 300 spaces: the target is Gaussian with a decaying spectrum (so that some words are
hubs), the source is the rotated target plus noise, and the test dictionary translates 1,500 random source words
to their own rows. Both implementations score CSLS P@1 over the same queries, in the same run:

- reference: VecMap's ``eval_translation.py`` in numpy -- r_S (the mean of the k largest cosines of each target
  word with the source words) for the whole target vocabulary by batched float32 matmul and ``np.argpartition``,
  then, per batch of queries, ``argmax(2 cos - r_S)``;
- cltc: ``cltc_tools.align.translation.word_translation`` (torch, blockwise, r_S computed only for the targets that
  can win; see that module's docstring), which must give the same P@1.

Usage: python benchmarks/bench_align.py [--words 200000] [--dim 300] [--queries 1500] [--noise 3] [--device cpu]
[--write] (leave OMP_NUM_THREADS unset to use every core; --write appends the table to benchmarks/RESULTS.md).
The reference dominates the run time: it multiplies every target word with every source word (200,000^2 x 300).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from cltc_tools.align.dictionary import IndexPairs
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.translation import word_translation

TRAIN = 5000
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def synthetic_pair(words: int, dim: int, queries: int, noise: float, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, IndexPairs]:
    """Source = target @ rotation + noise, mapped back by Procrustes on 5,000 training pairs; the test dictionary
    maps ``queries`` other random source rows to their own rows."""
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


def vecmap_csls_p1(src: np.ndarray, tgt: np.ndarray, pairs: IndexPairs, k: int = 10, batch: int = 1000) -> float:
    """VecMap's eval_translation.py (retrieval csls), in plain numpy float32."""
    x = src / np.linalg.norm(src, axis=1, keepdims=True)
    z = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    knn_sim_bwd = np.zeros(len(z), dtype=np.float32)
    for i in range(0, len(z), batch):
        sims = z[i:i + batch] @ x.T
        top = np.argpartition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        knn_sim_bwd[i:i + batch] = np.take_along_axis(sims, top, axis=1).mean(axis=1)
    queries = np.unique(pairs.src)
    gold: dict[int, set[int]] = {}
    for i, j in zip(pairs.src, pairs.tgt):
        gold.setdefault(int(i), set()).add(int(j))
    hits = 0
    for i in range(0, len(queries), batch):
        block = queries[i:i + batch]
        similarities = 2 * (x[block] @ z.T) - knn_sim_bwd
        hits += sum(int(j) in gold[int(q)] for q, j in zip(block, similarities.argmax(axis=1)))
    return 100.0 * hits / len(queries)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def table(args: argparse.Namespace, rows: list[tuple[str, float, float]], ratio: float) -> str:
    threads = os.environ.get("OMP_NUM_THREADS", f"unset (torch uses {torch.get_num_threads()})")
    lines = [
        "## CSLS word-translation evaluation speed (`benchmarks/bench_align.py`)",
        "",
        f"Command: `python benchmarks/bench_align.py --words {args.words} --dim {args.dim} --queries {args.queries} "
        f"--noise {args.noise} --device {args.device}` (OMP_NUM_THREADS {threads}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores). Synthetic {args.words:,} x {args.dim} source and target spaces, "
        f"{args.queries:,} test words, k = 10.",
        "",
        "| implementation | CSLS P@1 | seconds |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {p1:.2f} | {seconds:.1f} |" for name, p1, seconds in rows]
    lines += ["", f"Speed-up: {ratio:.1f}x, same P@1.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--queries", type=int, default=1500)
    parser.add_argument("--noise", type=float, default=3.0,
                        help="noise norm relative to the vectors' norm (3: CSLS P@1 about 60%%)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    src, tgt, pairs = synthetic_pair(args.words, args.dim, args.queries, args.noise, args.seed)
    ours, ours_s = timed(word_translation, src, tgt, pairs, csls_k=10, device=args.device, ks=(1,))
    ref, ref_s = timed(vecmap_csls_p1, src, tgt, pairs)
    ratio = ref_s / ours_s
    rows = [("numpy, as VecMap's eval_translation (argpartition)", ref, ref_s),
            (f"cltc word_translation ({args.device})", ours.csls["p@1"], ours_s)]
    text = table(args, rows, ratio)
    print(text)
    if abs(ours.csls["p@1"] - round(ref, 2)) > 1e-9:
        raise SystemExit(f"P@1 differs: cltc {ours.csls['p@1']} vs reference {ref:.2f}")
    if args.write:
        with open(RESULTS, "a", encoding="utf-8") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
