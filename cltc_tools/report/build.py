"""From records to report text: check the fields the tables use, build the chosen tables, render them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from cltc_tools.errors import InputError
from cltc_tools.report.render import render_tables
from cltc_tools.report.tables import (
    SCORES,
    TABLES,
    Table,
    cells_from_records,
    comparison_table,
    spaces_table,
    translation_table,
    wide_comparison,
    zero_shot_tables,
)


def report_text(numbered: Sequence[tuple[str, int, dict[str, Any]]], which: str, fmt: str, n_samples: int,
                seed: int, where: str | None) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """Check (file, line, record) triples, build the tables and render them; returns the records, the text and
    the long-form comparison rows. ``where`` names the input in errors that concern no single line."""
    for source, line_no, record in numbered:
        check_record(record, source, line_no)
    records = [r for _, _, r in numbered]
    try:
        tables, long_rows = build_tables(records, which, n_samples, seed)
    except InputError as err:
        if err.path is None and where is not None:
            raise InputError(err.problem, where) from None
        raise
    if fmt in ("csv", "json") and which == "comparison":
        tables = [Table("comparison", list(long_rows[0]) if long_rows else [], long_rows)]
    return records, render_tables(tables, fmt), long_rows


def build_tables(records: list[dict], which: str, n_samples: int, seed: int) -> tuple[list[Table], list[dict]]:
    if which not in (*TABLES, "all"):
        raise InputError(f"unknown table {which!r} (known: {', '.join(TABLES)}, all)")
    wanted = TABLES if which == "all" else (which,)
    cells = cells_from_records(records)
    long_rows = comparison_table(cells, n_samples, seed) if cells else []
    tables: list[Table] = []
    if "comparison" in wanted and cells:
        tables.append(wide_comparison(long_rows))
    if "spaces" in wanted and cells:
        tables.append(spaces_table(cells))
    if "zero-shot" in wanted:
        tables.extend(zero_shot_tables(records))
    if "translation" in wanted:
        table = translation_table(records)
        if table.rows:
            tables.append(table)
    if not tables:
        kind = "translation-metrics" if which == "translation" else "metrics"
        raise InputError(f"no {kind} records to report (pipe cltc-eval or cltc-align output, or give record files)")
    return tables, long_rows


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _indices(value: Any, n_labels: int | None) -> bool:
    return isinstance(value, list) and all(
        type(x) is int and 0 <= x and (n_labels is None or x < n_labels) for x in value)


def check_record(record: dict[str, Any], source: str, line: int) -> None:
    """The fields the tables use, with their types: a damaged metrics record is a ``file:line`` input error."""
    kind = record["kind"]
    if kind == "metrics":
        for key in ("arch", "mode", "test_lang"):
            if key in record and not isinstance(record[key], str):
                raise InputError(f"metrics field {key!r} must be a string", source, line)
        for key in SCORES:
            if key in record and not _number(record[key]):
                raise InputError(f"metrics field {key!r} must be a number", source, line)
        langs = record.get("train_langs", [])
        if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
            raise InputError("metrics field 'train_langs' must be a list of strings", source, line)
        confusion = record.get("confusion", {})
        labels = confusion.get("labels", []) if isinstance(confusion, dict) else None
        if not isinstance(labels, list):
            raise InputError("metrics field 'confusion' must be an object with a 'labels' list", source, line)
        outcomes = record.get("outcomes")
        if isinstance(outcomes, dict) and ("gold" in outcomes or "pred" in outcomes):
            gold, pred = outcomes.get("gold"), outcomes.get("pred")
            n_labels = len(labels) or None
            if (not _indices(gold, n_labels) or not _indices(pred, n_labels) or len(gold) != len(pred)
                    or not isinstance(outcomes.get("docs_sha256", ""), str)):
                raise InputError("metrics field 'outcomes' must hold gold and pred label indices of equal length",
                                 source, line)
    elif kind == "translation-metrics":
        for key in ("nn", "csls", "nn_all", "csls_all"):
            value = record.get(key)
            if value is not None and not (isinstance(value, dict) and _number(value.get("p@1"))):
                raise InputError(f"translation-metrics field {key!r} must hold a number 'p@1'", source, line)
