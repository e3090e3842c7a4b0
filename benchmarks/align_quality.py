"""Word-translation quality of the alignment methods on the shared vectors, from committed records.

Records: benchmarks/records/align-quality/<space>-<method>[-<lang>].jsonl, the stdout of one cltc-align run (a space record
and one translation-metrics record per test dictionary), and beside it <same name>.time, the line that
`/usr/bin/time -f "%U %S %e %M"` printed (user s, system s, wall s, peak KB) and `uptime`'s load average.
vecmap-supervised.jsonl holds VecMap's own figures (map_embeddings.py --supervised, eval_translation.py
--retrieval csls and nn, on the same files), measured side by side.

    OMP_NUM_THREADS=1 /usr/bin/time -f "%U %S %e %M" cltc-align --method rcsls --space=vec/{en,de} \\
        --dict=D/de-en.0-5000.txt --eval-dict=D/de-en.5000-6500.txt --out space --device cpu > pair-rcsls-de.jsonl
    python benchmarks/align_quality.py --render benchmarks/records/align-quality    # the RESULTS.md table
"""

from __future__ import annotations

import json
from pathlib import Path

from _records import render_main

HERE = Path(__file__).parent
RECORDS = HERE / "records" / "align-quality"
PAIRS = ("de-en", "fr-en", "it-en")
KINDS = {"pair": "bilingual spaces (one per pair)", "all": "one space (de, fr, it and en)", "vecmap": "VecMap"}


def runs(root: Path = RECORDS) -> list[tuple[str, str, dict[str, dict], list[str]]]:
    """(kind, method, scores by pair, CPU/peak/load notes) of every record file."""
    found: dict[tuple[str, str], tuple[dict[str, dict], list[str]]] = {}
    for path in sorted(root.glob("*.jsonl")):
        kind, method = (path.stem.split("-", 1) + [""])[:2]
        if kind == "pair":
            method = method.rsplit("-", 1)[0]
        scores, notes = found.setdefault((kind, method), ({}, []))
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("kind") == "translation-metrics":
                scores[f"{record['src_lang']}-{record['tgt_lang']}"] = record
        timing = path.with_suffix(".time")
        if timing.exists():
            notes.append(timing.read_text(encoding="utf-8").strip())
    return [(kind, method, scores, notes) for (kind, method), (scores, notes) in found.items()]


def cpu_note(notes: list[str]) -> str:
    """Total CPU seconds and the largest peak RSS of the runs behind a row, with their load averages."""
    if not notes:
        return "-"
    fields = [note.split() for note in notes]
    cpu = sum(float(f[0]) + float(f[1]) for f in fields)
    peak = max(int(f[3]) for f in fields) / 1024
    loads = ", ".join(dict.fromkeys(f[4].removeprefix("after:") for f in fields if len(f) > 4))
    return f"{cpu:.1f} CPU s, {peak:.0f} MB (load average after the runs {loads})"


def render(found: list) -> str:
    lines = ["| space | method | " + " | ".join(f"{p} NN / CSLS" for p in PAIRS) + " | time |",
             "|---|---|" + "---:|" * len(PAIRS) + "---|"]
    for kind, method, scores, notes in sorted(found, key=lambda r: (list(KINDS).index(r[0]), r[1])):
        cells = [f"{scores[p]['nn']['p@1']:.2f} / {scores[p]['csls']['p@1']:.2f}" if p in scores else "-"
                 for p in PAIRS]
        lines.append(f"| {KINDS[kind]} | {method} | " + " | ".join(cells) + f" | {cpu_note(notes)} |")
    return "\n".join(lines)


def main() -> None:
    render_main(__doc__, RECORDS, lambda d: render(runs(d)))


if __name__ == "__main__":
    main()
