"""cltc-report: reduce metrics and translation-metrics records into the paper's tables and figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.records import numbered_record_files
from cltc_tools.plots import gain_figure, translation_figure
from cltc_tools.render import FORMATS, render_tables
from cltc_tools.report import (SCORES, TABLES, Table, cells_from_records, comparison_table, spaces_table,
                               translation_table, wide_comparison, zero_shot_tables)

TOOL = "cltc-report"
EPILOG = """Examples:

  ... | cltc-eval --data demo/docs | cltc-report
  cat runs/*.jsonl | cltc-report --format csv
  cltc-report runs/*.jsonl --table all --format latex --out report.tex --plot figures/

Tables: comparison (the paper's Table 2/3: mono, best multi with its space, average multi, gain with the p-value of
a paired bootstrap over the test documents, average gain), spaces (Tables 6/7: every space), zero-shot (train x
test language of mono models), translation (P@1 from cltc-align's translation-metrics records), all.
Several seeds of a cell are shown as mean ± standard deviation. cltc-report ends a pipeline: it prints the tables
on stdout (or writes them to --out) instead of records.
"""

app = make_app("Print the paper's tables from metrics records.", epilog=EPILOG)


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


@app.command()
@cli_errors(TOOL)
def report(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Record files (default: stdin).")] = None,
    table: Annotated[str, typer.Option("--table", help=f"Which table: {', '.join(TABLES)}, all.")] = "comparison",
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")] = "markdown",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the tables to this file.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write PNG figures into this folder.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap samples for p-values.")] = 1000,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    numbered = (numbered_record_files(files) if files
                else [("<stdin>", n, r) for n, r in Session.read_stdin_numbered_records()])
    for source, line_no, record in numbered:
        check_record(record, source, line_no)
    records = [r for _, _, r in numbered]
    where = str(files[0]) if files and len(files) == 1 else ("<stdin>" if not files else None)
    try:
        tables, long_rows = build_tables(records, table, bootstrap, seed)
    except InputError as err:
        if err.path is None and where is not None:
            raise InputError(err.problem, where) from None
        raise
    text = render_tables(tables, fmt)
    if fmt in ("csv", "json") and table == "comparison":
        text = render_tables([Table("comparison", list(long_rows[0]) if long_rows else [], long_rows)], fmt)
    if out:
        with atomic_file(out, force=force, mode="w") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)
    if plot:
        plot.mkdir(parents=True, exist_ok=True)
        gain_figure(long_rows, plot / "gain.png")
        translation_figure(translation_table(records).rows, plot / "translation.png")


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
