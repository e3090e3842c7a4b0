"""cltc-report: reduce metrics and translation-metrics records into the paper's tables and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.records import read_record_files
from cltc_tools.plots import gain_figure, translation_figure
from cltc_tools.render import FORMATS, render_tables
from cltc_tools.report import (TABLES, Table, cells_from_records, comparison_table, spaces_table, translation_table,
                               wide_comparison, zero_shot_tables)

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
    records = read_record_files(files) if files else Session.read_stdin_records()
    tables, long_rows = build_tables(records, table, bootstrap, seed)
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
