"""cltc-data: datasets for the other commands (``demo``: a small synthetic multilingual world)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run

TOOL = "cltc-data"

EPILOG = """Example:

  cltc-data demo --out demo --seed 0 > demo.jsonl

writes demo/spaces/{en,de,fr,it}, demo/dictionaries, demo/parallel, demo/docs and demo/README.md,
and prints one record per space, dictionary, parallel corpus and the document dataset.
"""

app = make_app("Make datasets for the cltc commands.", epilog=EPILOG)


@app.callback()
def _main() -> None:
    """Make datasets for the cltc commands."""


@app.command(epilog=EPILOG)
@cli_errors(TOOL)
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to create (refused if it exists, see --force).")],
    seed: Seed = 0,
    dim: Annotated[int, typer.Option("--dim", help="Dimension of the word vectors (at least 8).")] = 64,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write a synthetic multilingual world: monolingual spaces (en, de, fr, it), MUSE dictionaries,
    parallel sentences and labelled documents with few Italian training documents.

    The same --seed gives byte-identical files.
    """
    from cltc_tools.demo import DemoConfig, write_demo
    from cltc_tools.io.atomic import check_writable

    session = Session(TOOL, quiet=quiet)
    config = DemoConfig(seed=seed, dim=dim)
    check_writable(out, force)
    session.log(f"{TOOL}: building the synthetic world (seed {seed}, dim {dim}) in {out}")
    result = write_demo(out, config, force=force)
    for artifact in result.artifacts:
        session.record(artifact.kind, path=str(out / artifact.path), **artifact.fields)
    session.log(f"{TOOL}: wrote {out} ({len(result.artifacts)} artifacts; see {out / 'README.md'})")


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
