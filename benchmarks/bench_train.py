"""Training throughput (documents/second) of each architecture, and the overhead of the project's training loop
(length bucketing, padding, class-weighted loss) over a bare torch forward/backward loop on the same batches
(same model, same optimiser: Adam for the network, lazy Adam for the embedding rows).

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_train.py [--docs 2000] [--epochs 2] [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cltc_tools.training.features import collate, length_buckets
from cltc_tools.training.loop import Encoded, train_epoch
from cltc_tools.training.models import ARCHS
from cltc_tools.training.optim import ClassifierOptimizer

VOCAB, DIM, CLASSES = 20_000, 300, 7


def synthetic_docs(n: int, mean_len: int, hierarchical: bool, rng: np.random.Generator) -> Encoded:
    """Documents of Zipf-distributed token ids, ~mean_len tokens, sentences of ~20 tokens."""
    docs = []
    for _ in range(n):
        length = max(3, int(rng.poisson(mean_len)))
        ids = np.minimum(rng.zipf(1.2, length), VOCAB - 1).astype(np.int64) + 1
        cuts = range(0, length, 20) if hierarchical else [0]
        docs.append([ids[c:c + (20 if hierarchical else length)] for c in cuts])
    return Encoded(docs, rng.integers(0, CLASSES, n))


def model_for(arch: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    spec = ARCHS.get(arch)
    emb = torch.randn(VOCAB + 1, DIM) * 0.1
    emb[0] = 0
    return spec.build(emb, CLASSES, spec.hparams("paper", {}))


def project_loop(arch: str, data: Encoded, epochs: int, seed: int) -> tuple[float, list]:
    spec = ARCHS.get(arch)
    hp = spec.hparams("paper", {})
    model = model_for(arch, seed)
    opt = ClassifierOptimizer(model, hp["lr"])
    loss_fn = nn.CrossEntropyLoss(weight=torch.ones(CLASSES))
    rng = np.random.default_rng(seed)
    lengths = [sum(len(s) for s in d) for d in data.docs]
    plans = [length_buckets(lengths, hp["batch_size"], rng) for _ in range(epochs)]
    start = time.perf_counter()
    for batches in plans:
        train_epoch(model, loss_fn, opt, data, batches, spec.hierarchical, torch.device("cpu"))
    return time.perf_counter() - start, plans


def bare_loop(arch: str, data: Encoded, plans: list, seed: int) -> float:
    """The same batches, pre-padded: only forward, loss, backward and the optimiser step are timed."""
    spec = ARCHS.get(arch)
    hp = spec.hparams("paper", {})
    model = model_for(arch, seed)
    opt = ClassifierOptimizer(model, hp["lr"])
    loss_fn = nn.CrossEntropyLoss(weight=torch.ones(CLASSES))
    tensors = [[(collate([data.docs[i] for i in b], spec.hierarchical), torch.from_numpy(data.labels[b]))
                for b in batches] for batches in plans]
    start = time.perf_counter()
    for epoch in tensors:
        model.train()
        for ids, y in epoch:
            opt.zero_grad()
            loss_fn(model(ids), y).backward()
            opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--mean-len", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--archs", default="mlp,cnn,gru-att,han")
    parser.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(int(torch.get_num_threads()))
    rows = []
    for arch in args.archs.split(","):
        spec = ARCHS.get(arch)
        data = synthetic_docs(args.docs, args.mean_len, spec.hierarchical, np.random.default_rng(0))
        project_loop(arch, Encoded(data.docs[:200], data.labels[:200]), 1, 0)  # warm-up
        t_project, t_bare = float("inf"), float("inf")
        for _ in range(args.repeats):  # interleaved; the best of each, so a busy machine hurts neither side
            elapsed, plans = project_loop(arch, data, args.epochs, 0)
            t_project = min(t_project, elapsed)
            t_bare = min(t_bare, bare_loop(arch, data, plans, 0))
        rate = args.docs * args.epochs / t_project
        overhead = 100.0 * (t_project - t_bare) / t_bare
        rows.append((arch, rate, t_project, t_bare, overhead))
        print(f"{arch:8s} {rate:9.1f} docs/s  loop {t_project:7.2f}s  bare {t_bare:7.2f}s  overhead {overhead:+.1f}%",
              flush=True)
    table = ["| arch | docs/s (project loop) | project loop s | bare torch loop s | overhead |",
             "|---|---:|---:|---:|---:|"]
    table += [f"| {a} | {r:.1f} | {tp:.2f} | {tb:.2f} | {o:+.1f}% |" for a, r, tp, tb, o in rows]
    text = "\n".join(table)
    print(text)
    if args.write:
        with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as handle:
            handle.write(f"\n### bench_train.py ({' '.join(sys.argv[1:])}; torch threads {torch.get_num_threads()})\n\n"
                         f"{args.docs} synthetic documents, ~{args.mean_len} tokens, 300-d embeddings over a "
                         f"{VOCAB}-word vocabulary, fine-tuned; paper presets; {args.epochs} epochs.\n\n{text}\n")


if __name__ == "__main__":
    main()
