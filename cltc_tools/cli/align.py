"""cltc-align: put embedding spaces into one multilingual space (Procrustes, multi-step, RCSLS, CCA, Attract-Repel),
refine, evaluate."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cltc_tools.align.extend import extend_space
from cltc_tools.align.pipeline import TOOL, AlignResult, align_spaces
from cltc_tools.align.registry import METHODS, method_options
from cltc_tools.cli._common import (
    DEVICE_DEFAULT,
    Debug,
    Device,
    Force,
    Quiet,
    Seed,
    Session,
    cli_errors,
    make_app,
    return_freed_matrices,
    run,
)
from cltc_tools.errors import InputError, NoInputError
from cltc_tools.io import records as rec
from cltc_tools.registry import Option, flag

HELP = ("Map embedding spaces into one multilingual space (Procrustes, multi-step, RCSLS, CCA, Attract-Repel) and "
        "evaluate it.")
EPILOG = """\b
Examples (dicts/ holds the MUSE dictionaries, constraints/ the Attract-Repel constraint files):
  cltc-align --method procrustes --space spaces/de --space spaces/en --pivot en \\
      --dict dicts/de-en.0-5000.txt --eval-dict dicts/de-en.5000-6500.txt \\
      --normalize unit,center,unit --out runs/de-en-procrustes
  cltc-align --method procrustes --preset paper --space=spaces/{de,fr,it,en} \\
      --dict=dicts/{de,fr,it}-en.0-5000.txt --eval-dict dicts --out runs/multi-exp-dict
  cltc-align --method procrustes --space=spaces/{de,fr,it,en} --dict identical \\
      --sv-threshold 1 --refine 5 --eval-dict dicts --out runs/multi-pseudo-dict-refined
  cltc-align --method cca --space=spaces/{de,fr,it,en} --dict=dicts/{de,fr,it}-en.0-5000.txt \\
      --normalize unit,center,unit --eval-dict dicts --out runs/multi-cca
  cltc-align --method attract-repel --space=spaces/{de,fr,it,en} --dict=dicts/{de,fr,it}-en.0-5000.txt \\
      --attract=constraints/omw-derived/synonyms.{de-en,en-fr,en-it}.txt.gz \\
      --attract constraints/counter-fitting/ppdb_synonyms.txt:en \\
      --repel=constraints/omw-derived/antonyms.{de-en,en-fr,en-it}.txt.gz \\
      --join regression --join-solver lstsq --eval-dict dicts --out runs/multi-sem
  cltc-align --method identity --space runs/biskip --eval-dict dicts --out runs/biskip-eval

\b
Methods:
  procrustes     orthogonal map of each language onto the pivot (Smith et al. 2017); --sv-threshold T keeps
                 the singular directions of X'Y above T (paper, Appendix A: T = 1). --dict identical: pairs of
                 identical strings, by source frequency, at most --identical-max (as MUSE).
  cca            CCA on the dictionary pairs (Faruqui & Dyer 2014), English as pivot as multiCCA (Ammar et al.
                 2016): --cca-space pivot (each language into English's space by A_m B_m^-1) or cca (all in
                 the CCA space of the first pair); --cca-ratio, --cca-ridge.
  attract-repel  semantic specialisation (Mrksic et al. 2017) with --attract/--repel constraint files
                 (FILE of prefixed words en_dog de_hund, or FILE:LANG) and the --dict pairs as attract
                 constraints; one bilingual space per language joined on English by regression (paper,
                 Appendix B; --join-solver lstsq or sgd), or --join none for one multilingual run.
  identity       no map: a space trained multilingual already (cltc-embed train --method biskip or
                 sent-align, cltc-train --export-space), to evaluate, normalise or refine as it is.
  multistep      whitening, orthogonal map, re-weighting, de-whitening (Artetxe et al. 2018, AAAI);
                 --preset vecmap-supervised is VecMap's --supervised.
  rcsls          the relaxed CSLS loss (Joulin et al. 2018) from the multistep map (--preset joulin:
                 from Procrustes).
Every method: --refine N rounds of self-learning (Artetxe et al. 2018, ACL): pairs induced by CSLS in
both directions among the --refine-vocab most frequent words, added to the gold pairs, and the method
fitted again; the rounds kept are those that raise CSLS P@1 on held-out gold pairs (the rarest fifth).
--refine-method muse: MUSE's Procrustes on mutual CSLS neighbours. --preset paper gives the paper's
settings; explicit options override it.

\b
Input spaces are monolingual (one per language) or multilingual; they may also come as `space` records on
stdin (--space takes precedence). --eval-dict FILE scores one dictionary; --eval-dict DIR scores every
MUSE test file (xx-yy.5000-6500.txt) of two languages of the space. Prints one `space` record, then one
`translation-metrics` record per evaluated dictionary, on stdout; P@k lines (NN, CSLS) go to stderr.

\b
Adding a language to an aligned space (its space.json keeps the recipe: pivot and its fingerprint,
normalisation, method and hyper-parameters):
  cltc-embed import es.vec.gz --lang es --out spaces/es
  cltc-align --extend runs/space --space spaces/es --dict dicts/es-en.0-5000.txt --out runs/space-es
The new language is normalised the same way and mapped onto the space's pivot rows as they are by the same
method (and refinement); every existing row is copied unchanged and the new space's provenance extends the
old one's. procrustes and cca --cca-space pivot extend; cca --cca-space cca, multistep, rcsls, attract-repel
and identity refuse (their fit moves the pivot, or fits no map): align every language again instead."""


def _opt(*names: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, **kwargs)


Out = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output space directory.")]
Dicts = Annotated[list[str] | None, _opt(
    "--dict", metavar="FILE|identical",
    help="Training dictionary: a MUSE file named like de-en.0-5000.txt, SRC-TGT=FILE for other names, or "
         "'identical'. Repeatable.")]
Method = Annotated[str, typer.Option("--method", "-m", metavar="NAME",
                                     help=f"Alignment method: {', '.join(METHODS.names())}.")]
Preset = Annotated[str | None, _opt(
    "--preset", metavar="NAME", help="'paper': the paper's settings; multistep: 'vecmap-supervised'; rcsls: 'joulin'.")]
Spaces = Annotated[list[Path] | None, typer.Option("--space", metavar="DIR", help="Input space. Repeatable.")]
Pivot = Annotated[str, typer.Option("--pivot", metavar="LANG", help="Language the others are mapped onto.")]
EvalDicts = Annotated[list[Path] | None, typer.Option(
    "--eval-dict", metavar="FILE|DIR", help="Test dictionary, or a folder of MUSE test files. Repeatable.")]
Normalize = Annotated[str | None, _opt(
    "--normalize", metavar="STEPS",
    help="Steps among unit, center, unitdim, in order, e.g. unit,center,unit [none; paper preset: unit].")]
Name = Annotated[str | None, typer.Option(
    "--name", metavar="NAME", help="Display name of the space [default: the method, -identical, -refine].")]
IdenticalMax = Annotated[int, typer.Option(
    "--identical-max", metavar="N", min=0, help="Most pairs per language from --dict identical (0: all).")]
CslsK = Annotated[int, typer.Option("--csls-k", metavar="K", min=1, help="Neighbours in the CSLS penalty.")]
CslsVocab = Annotated[int | None, typer.Option(
    "--csls-vocab", metavar="N", min=1, help="Evaluate within the N most frequent words of each language.")]
BatchSize = Annotated[int | None, typer.Option(
    "--batch-size", metavar="N", min=1, help="Rows per similarity block [default: as many as fit 256 MB].")]
Threads = Annotated[int | None, typer.Option(
    "--threads", metavar="N", min=1, help="CPU threads for torch [torch's default: the machine's cores, or "
    "OMP_NUM_THREADS].")]
Extend = Annotated[Path | None, _opt(
    "--extend", metavar="SPACE",
    help="Add the --space languages to this aligned space with its own recipe (pivot, normalisation, method, "
         "hyper-parameters from its space.json); its rows are copied unchanged.")]
# What a space's recipe fixes: with --extend these come from space.json and may not be given.
RECIPE_OPTIONS = ("method", "pivot", "preset", "normalize", "identical_max", "csls_k", "seed", "name",
                  *method_options())


def use_threads(threads: int) -> None:
    """``--threads``: for torch when it is loaded (it reads OMP_NUM_THREADS then), or now if it is loaded already."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def option_parameter(option: Option, methods: list[str]) -> inspect.Parameter:
    """The typer parameter of a method's hyper-parameter (None: the method's default or preset decides)."""
    name = flag(option.key)
    kind = list[str] if option.type is list else option.type
    info = typer.Option(f"{name}/--no-{name[2:]}" if option.type is bool else name,
                        metavar=option.metavar or None, show_default=False,
                        help=f"{', '.join(methods)}: {option.help}" if methods else option.help)
    return inspect.Parameter(option.key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                             annotation=Annotated[kind | None, info])


def with_method_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` taking every registered method's options (before --extend), so that a new method's options
    need no change here; they reach ``command`` as keyword arguments."""
    signature = inspect.signature(command, eval_str=True)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = [p.name for p in fixed].index("extend")
    added = [option_parameter(option, methods) for option, methods in method_options().values()]
    command.__signature__ = signature.replace(parameters=fixed[:at] + added + fixed[at:])  # type: ignore[attr-defined]
    return command


app = make_app(HELP, epilog=EPILOG)


@cli_errors(TOOL)
def align(
    ctx: typer.Context,
    out: Out,
    method: Method = "procrustes", dicts: Dicts = None, spaces: Spaces = None, pivot: Pivot = "en",
    preset: Preset = None, eval_dicts: EvalDicts = None, normalize: Normalize = None, name: Name = None,
    identical_max: IdenticalMax = 15000,
    extend: Extend = None,
    csls_k: CslsK = 10, csls_vocab: CslsVocab = None, batch_size: BatchSize = None, threads: Threads = None,
    device: Device = DEVICE_DEFAULT, force: Force = False, seed: Seed = 0, quiet: Quiet = False, debug: Debug = False,
    **options: Any,
) -> None:
    """The method's options arrive in ``options`` (see ``with_method_options``)."""
    session = Session(TOOL, quiet=quiet, read_stdin=not spaces)
    METHODS.get(method)
    return_freed_matrices(os.environ)  # languages are read, mapped and dropped one after another
    if threads:
        use_threads(threads)
    inputs = spaces or [rec.require_path(r) for r in session.of_kind("space")]
    if not inputs:
        raise NoInputError("no input space: give --space DIR or pipe space records on stdin")
    if extend is not None:
        given = [name for name in RECIPE_OPTIONS
                 if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"]
        if given:
            raise InputError(f"--extend takes the recipe from the space's space.json: drop "
                             f"{', '.join('--' + n.replace('_', '-') for n in given)}")
        report(session, extend_space(extend, inputs, out, dicts=dicts or [], eval_dicts=eval_dicts or [],
                                     csls_vocab=csls_vocab, batch_size=batch_size, device=device, force=force,
                                     progress=session.progress))
        return
    result = align_spaces(
        inputs, out, pivot=pivot, dicts=dicts or [], method=method, preset=preset, options=options,
        normalize_steps=normalize, name=name, eval_dicts=eval_dicts or [], identical_max=identical_max or None,
        csls_k=csls_k, csls_vocab=csls_vocab, batch_size=batch_size, device=device, force=force, seed=seed,
        progress=session.progress,
    )
    report(session, result)


app.command(help=HELP, epilog=EPILOG)(with_method_options(align))


def fit_lines(result: AlignResult) -> list[str]:
    """What the fit found, one line per language or run (stderr)."""
    lines = []
    for lang, info in result.fit.get("method", {}).items():
        if isinstance(info, dict) and "kept_dims" in info:
            extra = f", canonical correlations {info['correlations']}" if "correlations" in info else ""
            lines.append(f"{lang}: {info['pairs']} pairs, {info['kept_dims']} dimensions kept{extra}")
    for run_name, counts in (result.fit.get("method", {}).get("runs") or {}).items():
        lines.append(f"attract-repel {run_name}: {counts['attract_rows']} attract pairs "
                     f"({counts['dictionary_pairs']} from dictionaries), {counts['repel_rows']} repel pairs")
    join = result.fit.get("method", {}).get("join")
    if join:
        lines.append(f"join into {join['base']} ({join['solver']}): relative residual {join['residual']}")
    refined = result.fit.get("refine", {})
    for lang, sizes in refined.get("pairs", {}).items():
        lines.append(f"refine {lang}: induced pairs per round {sizes}")
    if refined.get("method") == "self-learning":
        curve = refined.get("held_out_p1") or []
        judged = (f"held-out CSLS P@1 per round: {'; '.join(' '.join(f'{k} {v}' for k, v in c.items()) for c in curve)}"
                  if curve else "not judged: identical strings, or too few held-out gold words")
        lines.append(f"self-learning kept {refined.get('rounds')} round(s); {judged}")
    return lines


def report(session: Session, result: AlignResult) -> None:
    """Dictionary use, fit and P@k lines on stderr; the space record, then one record per evaluation, on stdout."""
    for pairs in result.dictionaries:
        lost = f", {pairs.missing} with a word missing from the spaces" if pairs.missing else ""
        if pairs.malformed:
            session.warn(f"{pairs.source}: {pairs.malformed} malformed line(s) skipped (not two fields)")
        session.log(f"{TOOL}: {pairs.source}: {len(pairs)} {pairs.src_lang}-{pairs.tgt_lang} pairs of "
                    f"{pairs.pairs}{lost}")
    for line in fit_lines(result):
        session.log(f"{TOOL}: {line}")
    session.record("space", **result.record_fields())
    for ev in result.evaluations:
        session.log(f"{TOOL}: {ev.scores.line(ev.src_lang, ev.tgt_lang)}")
        session.record("translation-metrics", space=str(result.path), name=result.name, method=result.method,
                       src_lang=ev.src_lang, tgt_lang=ev.tgt_lang, dictionary=ev.dictionary,
                       **ev.scores.fields(), inputs=[result.sha256, ev.sha256])


def main() -> None:
    run(app)
