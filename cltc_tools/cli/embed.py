"""cltc-embed: word-vector files in and out of embedding-space directories, and training them from text.

One typer app with one function per subcommand (``import``, ``export``, ``train``); a new subcommand is one more
``@app.command("name")`` + ``@cli_errors(TOOL)`` function calling into the library (``cltc_tools.embeddings.vector_files``,
``cltc_tools.embeddings``).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, run
from cltc_tools.embeddings import METHODS, TrainJob, train_embeddings
from cltc_tools.embeddings.vector_files import TOOL, ImportedLang, export_space, import_vectors, pair_sources
from cltc_tools.errors import InputError
from cltc_tools.io.records import require_path
from cltc_tools.text.tokenize import STYLES, Tokenizer

EPILOG = """\b
Examples:
  cltc-embed import wiki.de.vec.gz --lang de --max-vocab 200000 --out spaces/de
  cltc-embed export spaces/de --out de.vec
  cltc-embed train --method biskip --parallel de-en.jsonl.gz --parallel fr-en.jsonl.gz --out spaces/biskip
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
    skip_bad_rows: Annotated[bool, typer.Option(
        "--skip-bad-rows", help="Skip and count .vec rows without exactly D values (default: file:line error).")]
    = False,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Read word vectors (one file per language) and write them as one space directory."""
    session = Session(TOOL, quiet, read_stdin=False)
    sources = pair_sources(files, lang or [])

    def report(info: ImportedLang, dim: int) -> None:
        dups = f", {info.duplicates} duplicate(s) skipped" if info.duplicates else ", no duplicates"
        session.log(f"{TOOL}: {info.lang}: {info.words} words, dim {dim}{dups} ({info.format}: {info.source})")
        if info.bad_rows:
            session.warn(f"{info.source}: {info.bad_rows} row(s) without {dim} values skipped "
                         f"(first at line {info.first_bad_line})")

    result = import_vectors(sources, out, fmt.value, max_vocab, force, on_lang=report, skip_bad_rows=skip_bad_rows)
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
    session = Session(TOOL, quiet, read_stdin=space is None)
    if space is None:
        records = session.of_kind("space")
        if len(records) != 1:
            raise InputError("no SPACE_DIR given and " + ("no space record on stdin" if not records else
                             f"{len(records)} space records on stdin: name the space to export"))
        space = require_path(records[0])
    result = export_space(space, out, lang, fmt.value if fmt else None, force)
    session.log(f"{TOOL}: wrote {result.path} ({result.lang}: {result.words} words, dim {result.dim}, "
                f"{result.format})")


TRAIN_EPILOG = """\b
Examples (synthetic demo world from 'cltc-data demo --out demo'):
  cltc-embed train --method fasttext --input demo/docs/en/train.jsonl --lang en \\
      --min-count 1 --bucket 20000 --threads 1 --out runs/ft-en
  cltc-embed train --method biskip --parallel demo/parallel/de-en.jsonl \\
      --parallel demo/parallel/fr-en.jsonl --min-count 1 --epoch 10 --out runs/biskip
  cltc-embed train --method sent-align demo/parallel/de-en.jsonl demo/parallel/fr-en.jsonl \\
      --init-space demo/spaces/en --init-space demo/spaces/de --init-space demo/spaces/fr \\
      --epoch 5 --tokenizer unicode --out runs/sent-ali
  cltc-embed train --method biskip demo/parallel/*.jsonl --min-count 1 --epoch 10 --out runs/bs \\
      | cltc-train --arch mlp --mode multi --data demo/docs --out runs/models

\b
Methods:
  fasttext    monolingual fastText (Bojanowski et al. 2017) on plain text (one sentence or paragraph per
              line) or documents JSONL (the 'text' of the documents of --lang); gzip ok. Raw word vectors,
              most frequent first. --save-bin keeps the fastText model.
  biskip      multilingual skip-gram of Luong et al. (2015) on parallel files (JSONL or Moses PREFIX.xx-yy):
              each word predicts its own context and that of its monotone-aligned word; all xx-en files
              train one model, English is the hub. fastText skip-gram on a pseudo-bilingual corpus.
  sent-align  the paper's sentence alignment (Appendix C): source vectors P from their monolingual
              initial spaces, English Q, L1 distance of bag-of-words sentence vectors, normalised steps.
              Initial spaces: --init-space DIR (one or more; every language of the pairs), or the space
              records on stdin. --preset paper: Table 4 (mu 1e-9, mu_s = mu_t = 1e-11, 50 epochs, eta 1,
              eps 1e-12, batch 64, learning rate 1e-2, dim 300); the defaults differ in the learning
              rate only (1: the step of eqs. 11-12 alone; 1e-2 aligns far more slowly).
Positional FILES are the --input (fasttext) or --parallel files (biskip, sent-align).

\b
Reproducibility: --seed fixes every random choice. fastText (fasttext, biskip) trains with lock-free
threads, so identical vectors need --threads 1 (the initialisation also depends on the thread count);
sent-align is reproducible for a given seed and machine. Prints one 'space' record on stdout.
"""


class FastTextModel(str, Enum):
    skipgram = "skipgram"
    cbow = "cbow"


def _opt(*names: str, help: str, **kwargs) -> Any:
    return typer.Option(*names, help=help, show_default=False, **kwargs)


@app.command("train", epilog=TRAIN_EPILOG)
@cli_errors(TOOL)
def train_command(
    files: Annotated[Optional[list[Path]], typer.Argument(
        help="Input files: text/documents (fasttext) or parallel (biskip, sent-align).", metavar="FILES",
        show_default=False)] = None,
    method: Annotated[str, _opt("--method", "-m", help=f"Training method: {', '.join(METHODS.names())}.")] = "",
    out: Annotated[Path, _opt("--out", "-o", help="Space directory to write.")] = ...,  # type: ignore[assignment]
    inputs: Annotated[Optional[list[Path]], _opt(
        "--input", "-i", metavar="FILE", help="Plain text or documents JSONL (repeat).")] = None,
    parallel: Annotated[Optional[list[Path]], _opt(
        "--parallel", metavar="FILE", help="Parallel sentences JSONL (repeat).")] = None,
    init_space: Annotated[Optional[list[Path]], _opt(
        "--init-space", metavar="DIR",
        help="sent-align: monolingual initial space(s) (repeat) [default: space records on stdin].")] = None,
    lang: Annotated[Optional[str], _opt("--lang", "-l", help="fasttext: language of the text.")] = None,
    preset: Annotated[Optional[str], _opt("--preset", help="'paper': the paper's settings.")] = None,
    name: Annotated[Optional[str], _opt("--name", help="Display name of the space [default: the method].")] = None,
    tokenizer: Annotated[Optional[str], _opt(
        "--tokenizer", help=f"{' or '.join(STYLES)} [default: eltec for sent-align (the shared vectors), "
                            "unicode otherwise].")] = None,
    model: Annotated[Optional[FastTextModel], _opt("--model", help="fasttext: skipgram or cbow [skipgram].")] = None,
    dim: Annotated[Optional[int], _opt(
        "--dim", help="Dimension [100; sent-align: that of the initial spaces].")] = None,
    epoch: Annotated[Optional[int], _opt("--epochs", "--epoch", help="Passes over the data [5; sent-align 50].")] = None,
    min_count: Annotated[Optional[int], _opt(
        "--min-count", help="Keep words seen this often [5; sent-align 1, 0 = every initial word].")] = None,
    minn: Annotated[Optional[int], _opt("--minn", help="fasttext: shortest character n-gram [3].")] = None,
    maxn: Annotated[Optional[int], _opt("--maxn", help="fasttext: longest character n-gram, 0 = none [6].")] = None,
    bucket: Annotated[Optional[int], _opt("--bucket", help="fasttext: n-gram hash buckets [2000000].")] = None,
    threads: Annotated[Optional[int], _opt(
        "--threads", help="Threads [fastText: all cores, 1 for reproducible vectors; sent-align: torch's "
                          "(OMP_NUM_THREADS); its small batches gain nothing from more than 1].")] = None,
    lr: Annotated[Optional[float], _opt("--lr", help="Learning rate [0.05; sent-align 1].")] = None,
    ws: Annotated[Optional[int], _opt("--ws", help="fasttext/biskip: context window [5].")] = None,
    neg: Annotated[Optional[int], _opt("--neg", help="fasttext/biskip: negative samples [5].")] = None,
    max_pairs: Annotated[Optional[int], _opt("--max-pairs", help="biskip/sent-align: pairs per file [all].")] = None,
    mu: Annotated[Optional[float], _opt("--mu", help="sent-align: weight of the L1 alignment term [1e-9].")] = None,
    mu_s: Annotated[Optional[float], _opt("--mu-s", help="sent-align: L2 decay of P [1e-11].")] = None,
    mu_t: Annotated[Optional[float], _opt("--mu-t", help="sent-align: L2 decay of Q [1e-11].")] = None,
    eta: Annotated[Optional[float], _opt("--eta", help="sent-align: normalised step eta [1].")] = None,
    eps: Annotated[Optional[float], _opt("--eps", help="sent-align: step epsilon [1e-12].")] = None,
    batch_size: Annotated[Optional[int], _opt("--batch-size", help="sent-align: pairs per step [64].")] = None,
    save_bin: Annotated[Optional[Path], _opt(
        "--save-bin", help="fasttext/biskip: also save the fastText .bin.")] = None,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Train word embeddings from text: monolingual fastText, multilingual BiSkip or sentence alignment."""
    session = Session(TOOL, quiet, read_stdin=method == "sent-align" and not init_space)
    if not method:
        raise InputError(f"no --method given (known: {', '.join(METHODS.names())})")
    spec = METHODS.get(method)
    files = list(files or [])
    texts = list(inputs or []) + (files if spec.inputs == "text" else [])
    pairs = list(parallel or []) + (files if spec.inputs == "parallel" else [])
    spaces = list(init_space or [])
    if method == "sent-align" and not spaces:
        spaces = [require_path(r) for r in session.of_kind("space")]
    style = tokenizer or ("eltec" if method == "sent-align" else "unicode")
    job = TrainJob(method, out, {}, texts=texts, parallel=pairs, init_spaces=spaces, lang=lang,
                   tokenizer=Tokenizer(style), seed=seed, force=force, save_bin=save_bin, name=name,
                   verbose=not quiet and sys.stderr.isatty(), progress=session.progress,
                   log=lambda m: session.log(f"{TOOL}: {m}"))
    overrides = {"model": model.value if model else None, "dim": dim, "epoch": epoch, "min_count": min_count,
                 "minn": minn, "maxn": maxn, "bucket": bucket, "threads": threads, "lr": lr, "ws": ws, "neg": neg,
                 "max_pairs": max_pairs, "mu": mu, "mu_s": mu_s, "mu_t": mu_t, "eta": eta, "eps": eps,
                 "batch_size": batch_size}
    result = train_embeddings(job, preset, overrides)
    sizes = ", ".join(f"{k} {v}" for k, v in result.words.items())
    session.log(f"{TOOL}: wrote space {result.path} ({sizes} words)")
    session.record("space", **result.record_fields())


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
