"""cltc-data: datasets for the other commands.

``demo`` writes a small synthetic multilingual world; ``rcv``, ``mldoc``, ``sib200``, ``xlmt`` and ``tsv`` convert
source formats to documents JSONL; ``split`` and ``sample`` make stratified splits and per-language subsets.
The work is done by :mod:`cltc_tools.datasets.demo` and :mod:`cltc_tools.datasets`; this module only parses options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.errors import InputError

TOOL = "cltc-data"

EPILOG = """Example:

  cltc-data demo --out demo --seed 0 > demo.jsonl

writes demo/spaces/{en,de,fr,it}, demo/dictionaries, demo/parallel, demo/docs and demo/README.md,
and prints one record per space, dictionary, parallel corpus and the document dataset. A fifth language,
es, is held out of training: its vectors (demo/heldout/es.vec.gz, demo/spaces/es), dictionaries
(demo/dictionaries/es-en.*) and dev/test documents (demo/heldout/es/) are written without records, for
zero-shot evaluation (see demo/heldout/README.md and examples/new-language.sh).
"""

MAIN_EPILOG = """\b
Examples:
  cltc-data demo --out demo --seed 0 > demo.jsonl
  cltc-data rcv rcv1/ --lang en --out rcv
  cltc-data sib200 sib-200/data/annotated/deu_Latn/train.tsv --lang de --split train --out sib200
  cltc-data split docs.jsonl --out data --dev 0.1 --test 0.2 --seed 0
  cltc-data sample data --out data-paper --shares paper --seed 0
Run 'cltc-data COMMAND --help' for the options of each command.
"""

OUT_HELP = ("Dataset folder (writes <out>/<lang>/<split>.jsonl, other files in it are kept) or one file "
            "ending in .jsonl.")
LANG_HELP = "Language of the documents (ISO 639-1 code or BCP-47 tag)."
SPLIT_HELP = "Split name of the documents (default: from the file name, train/dev/val/test, else train)."

Out = Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)]
Lang = Annotated[Optional[str], typer.Option("--lang", "-l", help=LANG_HELP)]
Split = Annotated[Optional[str], typer.Option("--split", help=SPLIT_HELP)]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Dataset folder to write (<lang>/<split>.jsonl).")]

app = make_app("Make datasets for the cltc commands.", epilog=MAIN_EPILOG)


def command(epilog: str, name: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A ``cltc-data`` subcommand with its epilog, whose errors become one line and exit status 2."""
    return lambda function: app.command(name, epilog=epilog)(cli_errors(TOOL)(function))


@app.callback()
def _main() -> None:
    """Make datasets for the cltc commands."""


@command(EPILOG)
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to create (refused if it exists, see --force).")],
    seed: Seed = 0,
    dim: Annotated[int, typer.Option("--dim", help="Dimension of the word vectors (at least 8).")] = 64,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write a synthetic multilingual world: monolingual spaces (en, de, fr, it), MUSE dictionaries,
    parallel sentences and labelled documents with few Italian training documents, and a held-out fifth
    language (es) for zero-shot evaluation.

    The same --seed gives byte-identical files.
    """
    from cltc_tools.datasets.demo import DemoConfig, write_demo
    from cltc_tools.io.atomic import check_writable

    session = Session(TOOL, quiet=quiet, read_stdin=False)
    config = DemoConfig(seed=seed, dim=dim)
    check_writable(out, force)
    session.log(f"{TOOL}: building the synthetic world (seed {seed}, dim {dim}) in {out}")
    result = write_demo(out, config, force=force)
    for artifact in result.artifacts:
        session.record(artifact.kind, path=str(out / artifact.path), **artifact.fields)
    session.log(f"{TOOL}: wrote {out} ({len(result.artifacts)} artifacts; see {out / 'README.md'})")
    if result.heldout:
        session.log(f"{TOOL}: held out of training (no records): {', '.join(config.heldout)} in "
                    f"{out / 'heldout'} (see {out / 'heldout' / 'README.md'})")


# --------------------------------------------------------------------------------------------------
# Converters


def _convert(
    session: Session, name: str, docs: Iterable[Any], out: Path, split: str, force: bool, inputs: list[Path],
    params: dict[str, Any], empty_reason: str | Callable[[], str] | None = None,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> None:
    from cltc_tools.datasets.common import check_out, source_sha256, write_documents

    check_out(out)
    summary = write_documents(docs, out, split, force=force, empty_reason=empty_reason)
    fields = {"name": name, **summary.record_fields(), "sha256": summary.sha256,
              "inputs": [source_sha256(p) for p in inputs], "params": params}
    if extra is not None:
        fields.update(extra())
    session.record("dataset", path=str(out), **fields)
    _log_counts(session, out, summary.counts, summary.labels)


def converter_session(quiet: bool, lang: str | None) -> Session:
    """A converter's session (converters read files, never stdin), after checking a --lang given as an option."""
    from cltc_tools.datasets.common import check_lang

    if lang:
        check_lang(lang)
    return Session(TOOL, quiet=quiet, read_stdin=False)


def file_session(quiet: bool, lang: str | None, split: str | None, file: Path) -> tuple[Session, str, str]:
    """A converter's session, and the language and split of ``file``: as given, else from its name."""
    from cltc_tools.datasets.common import resolve_lang, resolve_split

    return Session(TOOL, quiet=quiet, read_stdin=False), resolve_lang(lang, file), resolve_split(split, file)


def sampler_session(quiet: bool, inputs: list[Path] | None, out: Path) -> Session:
    """A sampler's session (records on stdin when no input is given), after checking the output folder."""
    session = Session(TOOL, quiet=quiet, read_stdin=not inputs)
    _require_out(out)
    return session


def _log_counts(session: Session, out: Path, counts: dict[str, dict[str, int]], labels: list[str]) -> None:
    parts = [f"{lang} {split} {n}" for lang, per in counts.items() for split, n in per.items()]
    session.log(f"{TOOL}: wrote {out}: {', '.join(parts)} documents; {len(labels)} labels")


RCV_EPILOG = """\b
Examples:
  cltc-data rcv rcv1/ --lang en --out rcv > rcv-en.jsonl
  cltc-data rcv RCV2/german/*.zip --lang de --split train --out rcv
  cltc-data rcv 19960820.zip --out rcv-day.jsonl

Inputs: newsitem XML files, folders of them (searched recursively) and zip files of them. A document
is kept when its bip:topics:1.0 codes hold exactly one of CCAT, ECAT, GCAT, MCAT (Klementiev et al.
2012); that code is its label, its text is the title and the paragraphs (one per line), its id the
itemid. Without --lang each document's xml:lang is used. Prints one 'dataset' record, with the
number of newsitems read and dropped (and why).
"""


@command(RCV_EPILOG)
def rcv(
    inputs: Annotated[list[Path], typer.Argument(help="XML files, folders of them, zip files of them.",
                                                 show_default=False)],
    out: Out,
    lang: Lang = None,
    split: Annotated[str, typer.Option("--split", help="Split name of the documents.")] = "train",
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert Reuters RCV1/RCV2 newsitem XML to documents JSONL (one of four top-level topics)."""
    from cltc_tools.datasets.common import check_split
    from cltc_tools.datasets.rcv import RcvStats, rcv_sources, read_rcv

    session = converter_session(quiet, lang)
    check_split(split)
    sources = rcv_sources(inputs)
    stats = RcvStats()
    with session.progress("newsitems", len(sources)) as advance:
        docs = read_rcv(inputs, lang=lang, stats=stats, advance=advance, sources=sources)
        _convert(session, "rcv", docs, out, split, force, inputs, {"lang": lang, "split": split},
                 empty_reason=lambda: f"{', '.join(map(str, inputs))}: {stats.why_empty()}",
                 extra=lambda: {"read": stats.read, "dropped": dict(sorted(stats.dropped.items()))})
    if stats.dropped:
        session.log(f"{TOOL}: read {stats.read} newsitems, kept {stats.kept}, dropped {stats.describe_dropped()}")


def file_converter(converter: Any) -> Callable[..., None]:
    """The ``cltc-data NAME FILE --out DIR`` command of a registered converter without options of its own."""

    def command(
        file: Annotated[Path, typer.Argument(help="Input file (gzip is fine).", show_default=False)],
        out: Out,
        lang: Lang = None,
        split: Split = None,
        force: Force = False,
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        session, lang, split = file_session(quiet, lang, split, file)
        _convert(session, converter.name, converter.read(file, lang, split), out, split, force, [file],
                 {"lang": lang, "split": split}, empty_reason=f"{file}: {converter.empty}")

    command.__doc__ = f"Convert {converter.summary} to documents JSONL."
    return cli_errors(TOOL)(command)


def add_converter_commands() -> None:
    """One command per registered converter that needs no options of its own (``Converter.generic``)."""
    from cltc_tools.datasets.registry import CONVERTERS

    for name in CONVERTERS:
        converter = CONVERTERS.get(name)
        if converter.generic:
            app.command(name, epilog=converter.help or None)(file_converter(converter))


add_converter_commands()


SIB200_EPILOG = """\b
Examples:
  cltc-data sib200 sib-200/data/annotated/deu_Latn/train.tsv --lang de --split train --out sib200
  cltc-data sib200 sib-200/data/annotated/eng_Latn/dev.tsv --out sib200

A SIB-200 file: tab-separated, CSV quoting, header 'index_id<TAB>category<TAB>text'. Ids are
<lang>-<split>-<index_id> (the FLORES sentence id). Sentences quoted twice upstream are repaired
(outer quotes dropped, "" -> "; see --no-repair-quotes). Language and split default to the path
(deu_Latn/dev.tsv: de, dev).
"""


@command(SIB200_EPILOG)
def sib200(
    file: Annotated[Path, typer.Argument(help="SIB-200 TSV file.", show_default=False)],
    out: Out,
    lang: Lang = None, split: Split = None,
    repair_quotes: Annotated[bool, typer.Option("--repair-quotes/--no-repair-quotes",
                                                help="Undo SIB-200's double CSV quoting of a few sentences.")] = True,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert a SIB-200 TSV file (index_id, category, text) to documents JSONL."""
    from cltc_tools.datasets.textformats import read_sib200

    session, lang, split = file_session(quiet, lang, split, file)
    _convert(session, "sib200", read_sib200(file, lang, split, repair_quotes), out, split, force, [file],
             {"lang": lang, "split": split, "repair_quotes": repair_quotes},
             empty_reason=f"{file}: no documents (only the header)")


XLMT_EPILOG = """\b
Examples:
  cltc-data xlmt xlm-t/data/sentiment/german/train_text.txt xlm-t/data/sentiment/german/train_labels.txt \\
      --lang de --split train --out tweets
  cltc-data xlmt val_text.txt val_labels.txt --lang en --split dev --label-names neg,neu,pos --out tweets

cardiffnlp/xlm-t files: one tweet per line, and in the label file the label id (0, 1, 2, ...) of
the same line; ids name --label-names in order (default negative,neutral,positive). Surrounding
white space is stripped; ids are <lang>-<split>-<n>, n the 0-based line number.
"""


@command(XLMT_EPILOG)
def xlmt(
    text_file: Annotated[Path, typer.Argument(help="Text file, one text per line.", show_default=False)],
    label_file: Annotated[Path, typer.Argument(help="Label file, one label id per line.", show_default=False)],
    out: Out,
    lang: Lang = None, split: Split = None,
    label_names: Annotated[str, typer.Option("--label-names", help="Names of label ids 0, 1, ... (comma-separated).")]
    = "negative,neutral,positive",
    u_escapes: Annotated[bool, typer.Option("--decode-u-escapes",
                                            help=r"Decode literal \uXXXX sequences (English xlm-t tweets).")] = False,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert cardiffnlp/xlm-t text and label files to documents JSONL."""
    from cltc_tools.datasets.textformats import read_xlmt

    session, lang, split = file_session(quiet, lang, split, text_file)
    names = [x.strip() for x in label_names.split(",")]
    _convert(session, "xlmt", read_xlmt(text_file, label_file, lang, split, names, u_escapes), out, split, force,
             [text_file, label_file], {"lang": lang, "split": split, "label_names": names, "u_escapes": u_escapes},
             empty_reason=f"{text_file}: no documents (empty file)")


TSV_EPILOG = """\b
Examples:
  cltc-data tsv reviews.csv --lang en --text-col review --label-col stars --out reviews
  cltc-data tsv data.tsv --no-header --text-col 2 --label-col 1 --lang de --split test --out data
  cltc-data tsv mixed.tsv --lang-col language --out mixed.jsonl

Read with Python's csv module: quoted fields may hold delimiters, doubled quotes and newlines.
Columns are header names or numbers counting from 1. With a header the columns named text,
label, id and lang are used when no option names them; --text-col is needed without one.
The delimiter defaults to ',' for a .csv file and a tab otherwise. Ids default to
<lang>-<split>-<n>, n the 0-based row number.
"""


@command(TSV_EPILOG)
def tsv(
    file: Annotated[Path, typer.Argument(help="TSV or CSV file (gzip is fine).", show_default=False)],
    out: Out,
    lang: Lang = None, split: Split = None,
    text_col: Annotated[Optional[str], typer.Option("--text-col", help="Text column (number or name).")] = None,
    label_col: Annotated[Optional[str], typer.Option("--label-col", help="Label column (number or name).")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id-col", help="Id column (number or name).")] = None,
    lang_col: Annotated[Optional[str], typer.Option("--lang-col", help="Language column (overrides --lang).")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", "-d",
                                                     help=r"Field delimiter: ',' or '\t' (or tab, ';', '|').")] = None,
    header: Annotated[bool, typer.Option("--header/--no-header", help="The first row names the columns.")] = True,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert a generic TSV/CSV file to documents JSONL."""
    from cltc_tools.datasets.common import resolve_split
    from cltc_tools.datasets.textformats import TableColumns, read_table

    session = converter_session(quiet, lang)
    split = resolve_split(split, file)
    columns = TableColumns(text_col, label_col, id_col, lang_col)
    params = {"lang": lang, "split": split, "text_col": text_col, "label_col": label_col, "id_col": id_col,
              "lang_col": lang_col, "delimiter": delimiter, "header": header}
    _convert(session, "tsv", read_table(file, lang, split, columns, delimiter, header), out, split, force, [file],
             params, empty_reason=f"{file}: no documents (no data rows)")


# --------------------------------------------------------------------------------------------------
# Samplers


def _dataset_inputs(session: Session, inputs: list[Path] | None) -> list[Path]:
    """Inputs named on the command line, else the paths of the dataset records on stdin."""
    if inputs:
        return list(inputs)
    from cltc_tools.io.records import require_path

    paths = [require_path(r) for r in session.of_kind("dataset")]
    if not paths:
        raise InputError("no input: name documents files or dataset folders, or pipe in a 'dataset' record")
    return paths


def _emit_sampled(session: Session, name: str, groups: dict, out: Path, force: bool, inputs: list[Path],
                  params: dict[str, Any]) -> None:
    from cltc_tools.datasets.common import dataset_sha256, write_lines
    from cltc_tools.datasets.samplers import labels_of, raw_groups

    input_shas = [dataset_sha256(p) for p in inputs]
    summary = write_lines(raw_groups(groups), out, force=force, labels=labels_of(groups))
    session.record("dataset", path=str(out), name=name, **summary.record_fields(), sha256=summary.sha256,
                   inputs=input_shas, params=params)
    _log_counts(session, out, summary.counts, summary.labels)


SPLIT_EPILOG = """\b
Examples:
  cltc-data split docs.jsonl --out data --dev 0.1 --test 0.2 --seed 0
  cltc-data demo --out demo && cltc-data split demo/docs/it/train.jsonl --out it-resplit --seed 1
  cltc-data tsv reviews.csv --lang en --out reviews.jsonl | cltc-data split --out reviews --seed 1

Pools the documents of every input (documents files, or dataset folders: all their splits) and
splits each language into DIR/<lang>/{train,dev,test}.jsonl, stratified by label: a label's share
of every split is its share of the language, within one document. Lines are copied unchanged and
in input order. Without inputs, the dataset records on stdin name them.
"""


@command(SPLIT_EPILOG, name="split")
def split_cmd(
    out: OutDir,
    inputs: Annotated[Optional[list[Path]], typer.Argument(help="Documents JSONL files or dataset folders.",
                                                           show_default=False)] = None,
    seed: Seed = 0,
    dev: Annotated[float, typer.Option("--dev", help="Share of each language for dev.")] = 0.1,
    test: Annotated[float, typer.Option("--test", help="Share of each language for test.")] = 0.2,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Split documents into stratified train/dev/test sets per language."""
    from cltc_tools.datasets.samplers import read_documents_pool, stratified_split

    session = sampler_session(quiet, inputs, out)
    paths = _dataset_inputs(session, inputs)
    lines = read_documents_pool(paths)
    groups = stratified_split(lines, dev, test, seed)
    _emit_sampled(session, "split", groups, out, force, paths, {"dev": dev, "test": test, "seed": seed})


SAMPLE_EPILOG = """\b
Examples:
  cltc-data sample data --out data-paper --shares paper --seed 0
  cltc-data sample data --out data-low --max-docs 100 --seed 0
  cltc-data demo --out demo && cltc-data sample demo/docs --out demo-low --max-docs 20 --seed 0
  cltc-data sample data/*/train.jsonl data/*/test.jsonl --out data-capped --cap en=5000,de=1000 --seed 0

Caps the documents of one split (--split, default train) per language, stratified by label, and
copies the other splits unchanged into DIR/<lang>/<split>.jsonl. A language's cap is the smallest of
--cap, its --shares cap and --max-docs. '--shares paper' is the paper's RCV training imbalance
(en 418,566, de 50,387, fr 40,470, it 12,566), scaled so that the language with the largest share
keeps all its documents, or so that the languages together keep --total documents; LANG=N,... gives
other shares. --max-docs N is the low-data regime: at most N documents per language. Inputs: dataset
folders, or documents files whose name gives the split (train.jsonl, dev.jsonl, ...; else --split).
"""


@command(SAMPLE_EPILOG)
def sample(
    out: OutDir,
    inputs: Annotated[Optional[list[Path]], typer.Argument(help="Dataset folders or documents JSONL files.",
                                                           show_default=False)] = None,
    split: Annotated[str, typer.Option("--split", help="The split to sample; the others are copied.")] = "train",
    cap: Annotated[Optional[str], typer.Option("--cap", help="Per-language caps: en=418566,de=50387,...")] = None,
    shares: Annotated[Optional[str], typer.Option("--shares", help="'paper' or LANG=N,...: caps in proportion.")]
    = None,
    total: Annotated[Optional[int], typer.Option("--total", help="With --shares: documents of all languages.")]
    = None,
    max_docs: Annotated[Optional[int], typer.Option("--max-docs", help="At most N documents per language.")] = None,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Cap one split per language (the paper's imbalance, the low-data regime), stratified by label."""
    from cltc_tools.datasets.common import check_split, parse_assignments
    from cltc_tools.datasets.registry import SHARES
    from cltc_tools.datasets.samplers import plan_caps, read_pool, sample_pool

    session = sampler_session(quiet, inputs, out)
    check_split(split)
    caps = parse_assignments(cap, "--cap")
    share_table = None
    if shares:
        share_table = SHARES.get(shares) if "=" not in shares else parse_assignments(shares, "--shares")
    if not (caps or share_table or max_docs is not None):
        raise InputError("nothing to sample: give --cap, --shares or --max-docs")
    paths = _dataset_inputs(session, inputs)
    pool = read_pool(paths, default_split=split)
    available = {lang: len(pool.lines(lang, split)) for lang in pool.langs() if pool.lines(lang, split)}
    if not available:
        raise InputError(f"no {split} documents in the input (splits: "
                         f"{', '.join(sorted({s for _, s in pool.groups}))})")
    plan = plan_caps(available, caps, share_table, total, max_docs)
    for lang, n in plan.short.items():
        session.warn(f"{lang} has {n} {split} documents, fewer than its cap {plan.caps[lang]}: all kept")
    groups = sample_pool(pool, split, plan, seed)
    params = {"split": split, "caps": plan.caps, "cap": caps or None, "shares": shares, "total": total,
              "max_docs": max_docs, "seed": seed}
    _emit_sampled(session, "sample", groups, out, force, paths, params)


def _require_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
