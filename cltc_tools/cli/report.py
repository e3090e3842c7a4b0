"""cltc-report: reduce metrics and translation-metrics records into the paper's tables and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.errors import NoInputError
from cltc_tools.io.atomic import atomic_file, check_output_file
from cltc_tools.io.records import numbered_record_files, write_record
from cltc_tools.report.build import report_text
from cltc_tools.report.plots import gain_figure, translation_figure
from cltc_tools.report.render import FORMATS
from cltc_tools.report.tables import TABLES, translation_table

TOOL = "cltc-report"
EPILOG = """\b
Examples:
  ... | cltc-eval --data demo/docs | cltc-report --tee runs/run.jsonl
  cat runs/*.jsonl | cltc-report --format csv
  cltc-report runs/*.jsonl --table all --format latex --out report.tex --plot figures/

Tables: comparison (the paper's Table 2/3: mono, best multi with its space, average multi, gain with the p-value of
a paired bootstrap over the test documents, average gain), spaces (Tables 6/7: every space), zero-shot (train
languages x test language of mono and multi models: a cell of a language the model was not trained on is marked
zero-shot, with its gap to the mono model of that language where there is one), translation (P@1 from
cltc-align's translation-metrics records), all. The comparison and spaces tables leave zero-shot results out.
Several seeds of a cell are shown as mean ± standard deviation. cltc-report ends a pipeline: it prints the tables
on stdout (or writes them to --out) instead of records; with record files as arguments it reads no stdin.
"""

HELP = "Print the paper's tables from metrics records."

app = make_app(HELP, epilog=EPILOG)


@app.command(help=HELP, epilog=EPILOG)  # one command: typer shows the command's own texts
@cli_errors(TOOL)
def report(
    files: Annotated[Optional[list[Path]], typer.Argument(
        metavar="FILE", help="Record files (default: stdin).")] = None,
    table: Annotated[str, typer.Option(
        "--table", metavar="NAME", help=f"Which table: {', '.join(TABLES)}, all.")] = "comparison",
    fmt: Annotated[str, typer.Option(
        "--format", metavar="NAME", help=f"Output format: {', '.join(FORMATS)}.")] = "markdown",
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", metavar="FILE", help="Write the tables to this file.")] = None,
    tee: Annotated[Optional[Path], typer.Option(
        "--tee", metavar="FILE", help="Also keep the records read in FILE, like tee(1) but atomic and never "
        "replacing FILE without --force.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", metavar="DIR", help="Write PNG figures into this folder.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap samples for p-values.")] = 1000,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    figures = [plot / "gain.png", plot / "translation.png"] if plot else []
    for target in [t for t in (tee, out) if t] + figures:  # before the work; replaced only with --force
        check_output_file(target, force)
    numbered = (numbered_record_files(files) if files
                else [("<stdin>", n, r) for n, r in Session.read_stdin_numbered_records()])
    if not numbered and not files:
        raise NoInputError("no metrics records to report (pipe cltc-eval or cltc-align output, or give record files)",
                           "<stdin>")
    if tee:
        with atomic_file(tee, force=force, mode="wb") as handle:
            for _, _, record in numbered:
                write_record(record, handle)
    where = str(files[0]) if files and len(files) == 1 else ("<stdin>" if not files else None)
    records, text, long_rows = report_text(numbered, table, fmt, bootstrap, seed, where)
    if out:
        with atomic_file(out, force=force, mode="w") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)
    if plot:
        plot.mkdir(parents=True, exist_ok=True)
        gain_figure(long_rows, figures[0])
        translation_figure(translation_table(records).rows, figures[1])


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
