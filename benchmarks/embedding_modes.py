"""Embedding modes (cltc-train --embeddings) under the paper protocol: dev and test macro-F1 from committed records.

Records: benchmarks/records/embedding-modes/<dataset>/<arch>/<mode>/seed<N>.<split>.jsonl, the metrics records of
cltc-eval (mono models of every language, the multi model, and the English mono model on de/fr/it: zero-shot).
The runs (SIB-200 sampled with `cltc-data sample --shares paper --seed 0`, Procrustes space, --tokenizer eltec):

    cltc-train --arch ARCH --mode mono|multi --embeddings MODE [--emb-reg R | --emb-lr LR] --seed N ...
    cltc-eval --split dev|test ...           (and -m ARCH-mono-en --langs de,fr,it for zero-shot)

    python benchmarks/embedding_modes.py --render benchmarks/records/embedding-modes    # the RESULTS.md table
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean

from _records import render_main

HERE = Path(__file__).parent
RECORDS = HERE / "records" / "embedding-modes"
OTHERS = ("de", "fr", "it")


def setting(record: dict) -> str | None:
    train, lang = record["train_langs"], record["test_lang"]
    if record["mode"] == "multi":
        return "multi"
    if train == [lang]:
        return "mono"
    return "zero-shot" if train == ["en"] else None


def scores(root: Path = RECORDS) -> dict[tuple, list[float]]:
    """(dataset, arch, mode, split, setting, lang) -> macro-F1 of every seed."""
    found: dict[tuple, list[float]] = defaultdict(list)
    for path in sorted(root.glob("*/*/*/seed*.jsonl")):
        dataset, arch, mode = path.parts[-4:-1]
        split = path.name.split(".")[1]
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            where = setting(record) if record.get("kind") == "metrics" else None
            if where:
                found[(dataset, arch, mode, split, where, record["test_lang"])].append(record["macro_f1"])
    return found


def cell(found: dict, key: tuple, langs: tuple[str, ...]) -> str:
    values = [mean(found[(*key, lang)]) for lang in langs if found.get((*key, lang))]
    return f"{100 * mean(values):.2f}" if len(values) == len(langs) else "-"


def render(found: dict) -> str:
    lines = ["| data | arch | embeddings | split | mono EN | mono DE/FR/IT | multi EN | multi DE/FR/IT | "
             "zero-shot EN->DE/FR/IT | seeds |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for dataset, arch, mode in sorted({k[:3] for k in found}):
        for split in ("dev", "test"):
            key = (dataset, arch, mode, split)
            seeds = len(found.get((*key, "multi", "en"), []))
            lines.append(f"| {dataset} | {arch} | {mode} | {split} | {cell(found, (*key, 'mono'), ('en',))} | "
                         f"{cell(found, (*key, 'mono'), OTHERS)} | {cell(found, (*key, 'multi'), ('en',))} | "
                         f"{cell(found, (*key, 'multi'), OTHERS)} | {cell(found, (*key, 'zero-shot'), OTHERS)} | "
                         f"{seeds} |")
    return "\n".join(lines) + "\n\n" + render_choice(found)


SETTINGS = (("mono", ("en", *OTHERS)), ("multi", ("en", *OTHERS)), ("zero-shot", OTHERS))


def setting_means(found: dict, key: tuple) -> list[float] | None:
    """Mean macro-F1 (%) of mono, multi and zero-shot, each over its languages (None if a cell is missing)."""
    means = []
    for where, langs in SETTINGS:
        values = [found.get((*key, where, lang)) for lang in langs]
        if not all(values):
            return None
        means.append(100 * mean(mean(v) for v in values))
    return means


def render_choice(found: dict) -> str:
    """Per architecture and split: each mode's mono / multi / zero-shot means over the languages and their mean,
    the score the default mode is chosen by on dev (``EMBEDDING_DEFAULTS`` and each architecture's change)."""
    lines = ["| data | arch | embeddings | split | mono (4 languages) | multi (4 languages) | zero-shot (3) | mean |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for dataset, arch, mode in sorted({k[:3] for k in found}):
        for split in ("dev", "test"):
            means = setting_means(found, (dataset, arch, mode, split))
            if means:
                lines.append(f"| {dataset} | {arch} | {mode} | {split} | "
                             + " | ".join(f"{m:.2f}" for m in means) + f" | {mean(means):.2f} |")
    return "\n".join(lines)


def main() -> None:
    render_main(__doc__, RECORDS, lambda d: render(scores(d)))


if __name__ == "__main__":
    main()
