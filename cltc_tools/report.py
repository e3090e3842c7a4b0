"""The paper's tables from metrics records: mono vs best and average multilingual, and the gains (Table 2/3)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from cltc_tools.errors import InputError

SCORES = ("macro_f1", "macro_precision", "macro_recall")
SHORT = {"macro_f1": "F1", "macro_precision": "P", "macro_recall": "R"}
FORMATS = ("markdown", "csv", "json")


@dataclass(frozen=True)
class Cell:
    """Mean scores (percent) of one (arch, mode, test language, space) over its seeds."""

    arch: str
    mode: str
    lang: str
    space: str
    scores: dict[str, float]
    n_seeds: int


def cells_from_records(records: Iterable[dict[str, Any]]) -> list[Cell]:
    """Average metrics over seeds; mono results count only on the training language (no zero-shot)."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("kind") != "metrics":
            continue
        for key in ("arch", "mode", "test_lang", *SCORES):
            if key not in r:
                raise InputError(f"metrics record without {key!r}")
        if r["mode"] == "mono" and r["test_lang"] not in r.get("train_langs", [r["test_lang"]]):
            continue
        space = str(r.get("space_method") or "unknown")
        groups[(r["arch"], r["mode"], r["test_lang"], space)].append(r)
    return [Cell(a, m, lang, s, {k: 100.0 * float(np.mean([r[k] for r in rs])) for k in SCORES}, len(rs))
            for (a, m, lang, s), rs in sorted(groups.items())]


def _diff(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a[k] - b[k] for k in SCORES}


def comparison_table(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """Rows (lang, row, arch, space, F1, P, R): mono, best multi (by F1), avg multi, gain; then avg gain per arch."""
    by_key: dict[tuple[str, str], dict[str, list[Cell]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        by_key[(c.arch, c.lang)][c.mode].append(c)
    rows: list[dict[str, Any]] = []
    gains: dict[str, list[dict[str, float]]] = defaultdict(list)
    for (arch, lang), modes in sorted(by_key.items(), key=lambda kv: (_lang_order(kv[0][1]), kv[0][0])):
        mono = modes.get("mono", [])
        multi = modes.get("multi", [])
        if mono:
            rows.append(_row(lang, "mono", arch, mono[0].space, mono[0].scores))
        if multi:
            best = max(multi, key=lambda c: c.scores["macro_f1"])
            avg = {k: float(np.mean([c.scores[k] for c in multi])) for k in SCORES}
            rows.append(_row(lang, "best multi", arch, best.space, best.scores))
            rows.append(_row(lang, "avg multi", arch, f"{len(multi)} spaces", avg))
            if mono:
                gain = _diff(best.scores, mono[0].scores)
                gains[arch].append(gain)
                rows.append(_row(lang, "gain", arch, "", gain))
    for arch, values in sorted(gains.items()):
        rows.append(_row("all", "avg gain", arch, "", {k: float(np.mean([g[k] for g in values])) for k in SCORES}))
    return rows


def _lang_order(lang: str) -> tuple[int, str]:
    return (0 if lang == "en" else 1, lang)


def _row(lang: str, row: str, arch: str, space: str, scores: dict[str, float]) -> dict[str, Any]:
    return {"lang": lang, "row": row, "arch": arch, "space": space,
            **{SHORT[k]: round(scores[k], 2) for k in SCORES}}


def render(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(list(rows), option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        return _csv(rows)
    if fmt == "markdown":
        return _markdown(rows)
    raise InputError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["lang", "row", "arch", "space", "F1", "P", "R"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The paper's layout: one line per (language, row), F1/P/R columns per architecture."""
    archs = sorted({r["arch"] for r in rows})
    lines: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        lines.setdefault((r["lang"], r["row"]), {})[r["arch"]] = r
    header = ["lang", "setting"] + [f"{a} {s}" for a in archs for s in ("F1", "P", "R")]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (lang, row), cells in lines.items():
        values = []
        for a in archs:
            cell = cells.get(a)
            if cell is None:
                values += ["-", "-", "-"]
                continue
            f1 = f"{cell['F1']:.2f}" + (f" ({cell['space']})" if row == "best multi" else "")
            values += [f1, f"{cell['P']:.2f}", f"{cell['R']:.2f}"]
        out.append("| " + " | ".join([lang.upper() if lang != "all" else "", row] + values) + " |")
    return "\n".join(out) + "\n"
