"""cltc-embed: word-vector files in and out of embedding-space directories.

One typer app with one function per subcommand (``import``, ``export``); a new subcommand is one more
``@app.command("name")`` + ``@cli_errors(TOOL)`` function calling into the library (``cltc_tools.embed``).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Session, cli_errors, make_app, run
from cltc_tools.embed import TOOL, ImportedLang, export_space, import_vectors, pair_sources
from cltc_tools.errors import InputError
from cltc_tools.io.records import require_path

EPILOG = """\b
Examples:
  cltc-embed import wiki.de.vec.gz --lang de --max-vocab 200000 --out spaces/de
  cltc-embed export spaces/de --out de.vec
Run 'cltc-embed COMMAND --help' for the options of each command.
"""

IMPORT_EPILOG = """\b
Examples:
  cltc-embed import wiki.de.vec --lang de --out spaces/de
  cltc-embed import cc.de.300.bin --lang de --max-vocab 200000 --out spaces/de-200k
  cltc-embed import wiki.de.vec.gz:de wiki.en.vec.gz:en --out spaces/de-en

Formats: .vec text ("N D" header, then "token v1 ... vD"; tokens may contain spaces), word2vec binary,
fastText .bin (raw word vectors: the mean of the word's subword rows). gzip is detected from the content.
With several files the space holds one language per file (not aligned: see cltc-align); the record's
params.format and params.source are then lists in file order. Prints one 'space' record on stdout.
"""

EXPORT_EPILOG = """\b
Examples:
  cltc-embed export spaces/de --out de.vec
  cltc-embed export runs/multi-procrustes --lang fr --out fr.aligned.vec.gz
  cltc-embed import wiki.de.vec --lang de --out spaces/de | cltc-embed export --out de.w2v.bin

Without SPACE_DIR the space comes from the one space record on stdin. The format defaults to word2vec
binary for a name ending in .bin(.gz), .vec text otherwise; a name ending in .gz is gzip-compressed.
Records on stdin are passed through; no new record is printed (a vector file is not a space).
"""


class ImportFormat(str, Enum):
    auto = "auto"
    vec = "vec"
    word2vec = "word2vec"
    bin = "bin"


class ExportFormat(str, Enum):
    vec = "vec"
    word2vec = "word2vec"


app = make_app("Import word-vector files into embedding spaces, and export them again.", epilog=EPILOG)


@app.command("import", epilog=IMPORT_EPILOG)
@cli_errors(TOOL)
def import_command(
    files: Annotated[list[str], typer.Argument(
        help="Vector files (.vec, word2vec .bin, fastText .bin; .gz ok), or FILE:LANG pairs.",
        metavar="FILE[:LANG]", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Space directory to write.", show_default=False)],
    lang: Annotated[Optional[list[str]], typer.Option(
        "--lang", "-l", help="Language of each FILE, in order (repeat, or de,en).")] = None,
    fmt: Annotated[ImportFormat, typer.Option("--format", help="Input format; auto detects it.")] = ImportFormat.auto,
    max_vocab: Annotated[Optional[int], typer.Option(
        "--max-vocab", min=1, help="Keep the first N distinct words of each file.")] = None,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Read word vectors (one file per language) and write them as one space directory."""
    session = Session(TOOL, quiet)
    sources = pair_sources(files, lang or [])

    def report(info: ImportedLang, dim: int) -> None:
        dups = f", {info.duplicates} duplicate(s) skipped" if info.duplicates else ", no duplicates"
        session.log(f"{TOOL}: {info.lang}: {info.words} words, dim {dim}{dups} ({info.format}: {info.source})")

    result = import_vectors(sources, out, fmt.value, max_vocab, force, on_lang=report)
    session.log(f"{TOOL}: wrote space {result.path} ({sum(x.words for x in result.langs)} rows, dim {result.dim})")
    session.record("space", **result.record_fields())


@app.command("export", epilog=EXPORT_EPILOG)
@cli_errors(TOOL)
def export_command(
    space: Annotated[Optional[Path], typer.Argument(
        help="Space directory (default: the space record on stdin).", metavar="SPACE_DIR",
        show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Vector file to write (.gz: compressed).",
                                      show_default=False)] = ...,  # type: ignore[assignment]
    lang: Annotated[Optional[str], typer.Option(
        "--lang", "-l", help="Language to export (required when the space holds several).")] = None,
    fmt: Annotated[Optional[ExportFormat], typer.Option(
        "--format", help="Output format [default: from the name]", show_default=False)] = None,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write one language of a space as a .vec text or word2vec binary file."""
    session = Session(TOOL, quiet)
    if space is None:
        records = session.of_kind("space")
        if len(records) != 1:
            raise InputError("no SPACE_DIR given and " + ("no space record on stdin" if not records else
                             f"{len(records)} space records on stdin: name the space to export"))
        space = require_path(records[0])
    result = export_space(space, out, lang, fmt.value if fmt else None, force)
    session.log(f"{TOOL}: wrote {result.path} ({result.lang}: {result.words} words, dim {result.dim}, "
                f"{result.format})")


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
