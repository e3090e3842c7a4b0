"""cltc-report: reduce metrics records into the paper's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Session, cli_errors, make_app, run
from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.records import read_record_files
from cltc_tools.report import FORMATS, cells_from_records, comparison_table, render

TOOL = "cltc-report"
EPILOG = """Examples:

  ... | cltc-eval --data demo/docs | cltc-report
  cat runs/*.jsonl | cltc-report --format csv
  cltc-report runs/sib200.jsonl --format markdown --out report.md

cltc-report ends a pipeline: it prints the table on stdout (or writes it to --out) instead of records.
"""

app = make_app("Print the paper's Table 2/3 layout (mono, best multi, avg multi, gain) from metrics records.",
               epilog=EPILOG)


@app.command()
@cli_errors(TOOL)
def report(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Record files (default: stdin).")] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")] = "markdown",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the table to this file.")] = None,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    records = read_record_files(files) if files else Session.read_stdin_records()
    cells = cells_from_records(records)
    if not cells:
        raise InputError("no metrics records to report (pipe cltc-eval output or give record files)")
    text = render(comparison_table(cells), fmt)
    if out:
        with atomic_file(out, force=force, mode="w") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
