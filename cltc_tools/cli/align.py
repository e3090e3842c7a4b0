"""cltc-align: map embedding spaces onto a pivot language and evaluate word translation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cltc_tools.align.pipeline import TOOL, AlignResult, align_spaces
from cltc_tools.align.registry import METHODS
from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.errors import InputError
from cltc_tools.io import records as rec

HELP = "Align embedding spaces onto a pivot language (Procrustes) and evaluate word translation."
EPILOG = """Example:

\b
  cltc-align --method procrustes --space spaces/de --space spaces/en --pivot en \\
      --dict dictionaries/de-en.0-5000.txt --eval-dict dictionaries/de-en.5000-6500.txt \\
      --normalize unit,center,unit --out runs/de-en-procrustes

Input spaces are monolingual (one per language) or one multilingual space; they may also come as
`space` records on stdin, but --space takes precedence. Every language is mapped onto the pivot.
Prints one `space` record, then one `translation-metrics` record per --eval-dict, on stdout;
the P@k lines (NN and CSLS) go to stderr."""

Out = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output space directory.")]
Dicts = Annotated[list[str], typer.Option(
    "--dict", metavar="FILE|identical",
    help="Training dictionary, a MUSE file named like de-en.0-5000.txt, or 'identical'. Repeatable.")]
Method = Annotated[str, typer.Option("--method", metavar="NAME", help="Alignment method.")]
Spaces = Annotated[list[Path] | None, typer.Option("--space", metavar="DIR", help="Input space. Repeatable.")]
Pivot = Annotated[str, typer.Option("--pivot", metavar="LANG", help="Language the others are mapped onto.")]
EvalDicts = Annotated[list[Path] | None, typer.Option(
    "--eval-dict", metavar="FILE", help="Test dictionary (word translation P@1/5/10). Repeatable.")]
Normalize = Annotated[str, typer.Option(
    "--normalize", metavar="STEPS", help="Steps among unit, center, unitdim, in order, e.g. unit,center,unit.")]
Name = Annotated[str | None, typer.Option(
    "--name", metavar="NAME", help="Display name of the space [default: the method, or procrustes-identical].")]
IdenticalMax = Annotated[int, typer.Option(
    "--identical-max", metavar="N", min=0, help="Most pairs per language from --dict identical (0: all).")]
CslsK = Annotated[int, typer.Option("--csls-k", metavar="K", min=1, help="Neighbours in the CSLS penalty.")]
CslsVocab = Annotated[int | None, typer.Option(
    "--csls-vocab", metavar="N", min=1, help="Evaluate within the N most frequent words of each language.")]
BatchSize = Annotated[int | None, typer.Option(
    "--batch-size", metavar="N", min=1, help="Rows per similarity block [default: as many as fit 256 MB].")]
Device = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Where to compute similarities.")]

app = make_app(HELP, epilog=EPILOG)


@app.command(help=HELP, epilog=EPILOG)
@cli_errors(TOOL)
def align(
    out: Out,
    dicts: Dicts,
    method: Method = "procrustes",
    spaces: Spaces = None,
    pivot: Pivot = "en",
    eval_dicts: EvalDicts = None,
    normalize: Normalize = "none",
    name: Name = None,
    identical_max: IdenticalMax = 15000,
    csls_k: CslsK = 10,
    csls_vocab: CslsVocab = None,
    batch_size: BatchSize = None,
    device: Device = "auto",
    force: Force = False,
    seed: Seed = 0,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    session = Session(TOOL, quiet=quiet)
    METHODS.get(method)
    inputs = spaces or [rec.require_path(r) for r in session.of_kind("space")]
    if not inputs:
        raise InputError("no input space: give --space DIR or pipe space records on stdin")
    result = align_spaces(
        inputs, out, pivot=pivot, dicts=dicts, method=method, normalize_steps=normalize, name=name,
        eval_dicts=eval_dicts or [], identical_max=identical_max or None, csls_k=csls_k, csls_vocab=csls_vocab,
        batch_size=batch_size, device=device, force=force, seed=seed, progress=session.progress,
    )
    report(session, result)


def report(session: Session, result: AlignResult) -> None:
    """Dictionary use and P@k lines on stderr; the space record, then one record per evaluation, on stdout."""
    for pairs in result.dictionaries:
        lost = f", {pairs.missing} with a word missing from the spaces" if pairs.missing else ""
        session.log(f"{pairs.source}: {len(pairs)} {pairs.src_lang}-{pairs.tgt_lang} pairs of {pairs.pairs}{lost}")
    session.record("space", **result.record_fields())
    for ev in result.evaluations:
        session.log(ev.scores.line(ev.src_lang, ev.tgt_lang))
        session.record("translation-metrics", space=str(result.path), name=result.name, method=result.method,
                       src_lang=ev.src_lang, tgt_lang=ev.tgt_lang, dictionary=ev.dictionary,
                       **ev.scores.fields(), inputs=[result.sha256, ev.sha256])


def main() -> None:
    run(app)
