"""Regenerate the man pages in man/ from the commands' own options and the descriptions below.

Usage: python scripts/gen_man.py [--check]
The OPTIONS and EXAMPLES sections come from each command's typer definition (help texts and epilog), so a new
option shows up after a rerun; tests/cli/test_man.py fails when a page lacks an option that --help shows.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import typer

from cltc_tools import __version__

MAN = Path(__file__).resolve().parents[1] / "man"
DATE = "2026-11"
COMMANDS = ("align", "embed", "train", "eval", "report", "data")

DESCRIPTIONS = {
    "align": """Maps monolingual embedding spaces into one multilingual space in which every language shares the
coordinates of the pivot (English by default), and evaluates word translation on bilingual dictionaries.
Input spaces come from --space or from the space records on standard input; the output is one space directory
holding every language, each in its own contiguous rows, and a space record on standard output, followed by one
translation-metrics record per --eval-dict. The space.json keeps the recipe (pivot, pivot fingerprint,
normalisation, method, hyper-parameters); --extend SPACE adds the --space languages to an aligned space with it,
copying every existing row unchanged. procrustes and cca --cca-space pivot extend exactly as aligning the new
language from scratch with the pivot would; cca --cca-space cca, attract-repel and identity refuse.
.PP
Word translation is measured as precision at 1, 5 and 10 with nearest-neighbour (cosine) retrieval and with CSLS
(Conneau et al. 2018, k=10), under two conventions: test words without vectors ignored (MUSE, VecMap) and counted
as misses (fastText). The neighbourhood terms are computed blockwise in torch with bounded memory, on the GPU when
--device allows it.
.PP
During the fit every language's matrix is kept in a private folder under TMPDIR (one .npy file per language and
fit, removed when the command ends), so that the process holds the pivot and one language at a time; TMPDIR needs
room for about twice the input matrices.""",
    "embed": """Imports word vectors into space directories and exports them again, and trains embeddings from
text. Import reads the fastText/word2vec text format (.vec; a token may contain spaces, since the last D fields
of a line are the vector), fastText .bin models (raw vectors: the mean of the word's subword rows) and word2vec
binary files, gzip-compressed or not. A space directory holds vectors.npy (float32, memory-mapped), words.txt
(lang TAB token) and space.json.""",
    "train": """Trains text classifiers on documents JSONL in an embedding space. In mono mode one model is trained
per language on that language's documents; in multi mode one model is trained on all languages at once, which
lets a language with little labelled data borrow from the others through the shared space. The loss is
cross-entropy weighted by class, w_c = ln(sum_k max(n_k,1) / max(n_c,1)) + 1 (M'hamdi et al. 2019, eq. 5);
training stops early when dev macro-F1 has not improved for --patience epochs, and the best weights are saved.
.PP
Architectures: mlp (FT-MLP: averaged word vectors, dense 512 ReLU, dropout 0.7), cnn (multi-filter CNN, kernels
3/4/5 x 200), gru-att (bi-GRU with attention, 150 units) and han (hierarchical attention network over words and
sentences); --preset paper selects the paper's settings. --embeddings says what training may change in the word
vectors: frozen (the default; --freeze) keeps the alignment of the space; tuned (--fine-tune, the paper's setting
and --preset paper) updates the rows seen in a batch with lazy Adam at --emb-lr; regularized tunes them with a
penalty of --emb-reg times their squared distance from the aligned vectors; mapped trains one linear map shared by
every language over frozen rows. Frozen and mapped models transfer to languages they never saw (zero-shot); tuned
rows no longer match the untuned rows of a new language (see cltc-eval(1)).
.PP
A checkpoint directory holds config.json, weights.safetensors and vocab.txt; a snapshot .NAME.progress beside
it after every epoch lets --resume continue an interrupted run to the same result.""",
    "eval": """Evaluates model checkpoints on documents JSONL and prints one metrics record per (model, test
language): macro F1, macro precision, macro recall, accuracy, per-label scores, the confusion matrix, and the
gold and predicted label of every document (for paired significance tests). Words come from the model's tuned
vocabulary first, then from the space; --space gives another space in the same coordinate system, which
evaluates languages the model never saw (zero-shot). A --space whose pivot, pivot rows or normalisation differ
from those of the model's space is refused, naming both (--force evaluates anyway).
.PP
A language that no space holds yet is evaluated in one command: --vectors LANG=PATH and --dict FILE (or
identical) import its vectors into --out DIR/import, map it into the model's space by the space's recipe (the
same normalisation, method and refinement against the same pivot rows, as cltc-align --extend) into
--out DIR/space, and evaluate there; the space, translation-metrics and metrics records of every step are
printed. When the space holds the language already, nothing is aligned.
.PP
Which models transfer: with frozen embeddings (the default of cltc-train) the classifier reads every language through
the shared space, so a language mapped into it later is read the same way. Fine-tuning moves only the rows of
the training languages' words; a new language keeps its untuned rows, which the tuned classifier never saw, and
a warning says so. On the demo world (examples/new-language.sh, seed 0) a multi MLP scores 76.0 macro-F1 on the
held-out es frozen (76.8-82.9 on its training languages) and 70.4 fine-tuned (78.4-92.1).""",
    "report": """Reduces metrics records (and the translation-metrics records of cltc-align) into the paper's
tables: mono versus best and average multilingual training with the gain per language and architecture (Tables 2
and 3), every embedding space (Tables 6 and 7), a zero-shot matrix (train languages x test language of mono and
multi models, zero-shot cells marked, with the gap to the mono model of the test language), and a
word-translation table. A (model, language) pair whose language the model was not trained on is zero-shot and
appears in the zero-shot table only. Several seeds are
shown as mean and standard deviation; the gain carries the p-value of a paired bootstrap over the test documents.""",
    "data": """Generates the synthetic demo world, converts public data sets to documents JSONL (Reuters RCV1/RCV2,
MLDoc, SIB-200, the xlm-t tweet files, any TSV or CSV), and samples them (stratified splits, the paper's
language imbalance, the low-data regime). Every subcommand prints a dataset record.""",
}

EXIT = """.SH EXIT STATUS
.TP
.B 0
success
.TP
.B 1
any other failure
.TP
.B 2
bad usage or bad input; the message on standard error names the file and line (\\fIfile\\fR:\\fIline\\fR: problem)
"""

COMMON = """.SH RECORD STREAM
Standard output carries JSON records only, one per line; messages and progress go to standard error. Standard
input is read only when it is not a terminal and some input the command consumes is not given by a flag (so a
command with all its inputs on the command line runs inside a while read loop); records read are passed through
first, unchanged and in order, and the command's own records follow. See \\fBcltc-records\\fR(5).
.SH FILES AND CONVENTIONS
Outputs are written under a temporary name and renamed into place when complete; an existing output is kept
unless \\fB--force\\fR is given. \\fB--seed\\fR fixes every random choice. \\fB--quiet\\fR silences standard
error; \\fB--debug\\fR shows the traceback of an error.
"""


def escape(text: str) -> str:
    lines = []
    for line in text.replace("\\", "\\\\").split("\n"):
        line = line.replace("-", "\\-")
        if line.startswith((".", "'")) and not line.startswith((".PP", ".TP", ".B", ".SH", ".IP")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def option_lines(command) -> list[str]:
    """Each option as --help shows it (names, metavar, help text and default)."""
    ctx = typer.Context(command)
    out = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            out += [".TP", f".I {escape(param.name.upper())}", escape(getattr(param, "help", "") or "input")]
            continue
        record = param.get_help_record(ctx)
        if record:
            out += [".TP", f".B {escape(record[0])}", escape(record[1])]
    return out


def synopsis(tool: str, command, sub: str | None) -> str:
    name = f"{tool} {sub}" if sub else tool
    args = " ".join(f"[{p.name.upper()}...]" for p in command.params if p.param_type_name == "argument")
    return f".B {escape(name)}\n[\\fIOPTIONS\\fR] {escape(args)}"


def example_lines(command, fallback: str | None = None) -> list[str]:
    epilog = (command.epilog or fallback or "").strip()
    return [".nf", escape(epilog), ".fi"] if epilog else []


def page(name: str) -> str:
    module = importlib.import_module(f"cltc_tools.cli.{name}")
    tool = f"cltc-{name}"
    root = typer.main.get_command(module.app)
    subs = sorted(root.commands.items()) if hasattr(root, "commands") else [(None, root)]
    title = (module.app.info.help or root.help or "").strip().split("\n")[0].rstrip(".")
    out = [f'.TH {tool.upper()} 1 "{DATE}" "cltc-tools {__version__}" "cltc-tools manual"', ".SH NAME",
           f"{escape(tool)} \\- {escape(title)}", ".SH SYNOPSIS"]
    for sub, command in subs:
        out += [synopsis(tool, command, sub), ".br"]
    out += [".SH DESCRIPTION", escape(DESCRIPTIONS[name]).replace("\\&.PP", ".PP").replace("\n\\-", "\n-")]
    for sub, command in subs:
        out += [f".SH OPTIONS{' (' + sub + ')' if sub else ''}"]
        if sub and command.help:
            out += [escape(command.help.strip().split("\n")[0])]
        out += option_lines(command)
        examples = example_lines(command, None if sub else module.app.info.epilog)
        if examples:
            out += [f".SH EXAMPLES{' (' + sub + ')' if sub else ''}", *examples]
    out += [EXIT.strip(), COMMON.strip(), ".SH SEE ALSO",
            ", ".join(f"\\fBcltc-{c}\\fR(1)" for c in COMMANDS if c != name) + ", \\fBcltc-records\\fR(5), "
            "\\fBcltc-tools\\fR(7)"]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if a page is out of date")
    args = parser.parse_args()
    stale = []
    for name in COMMANDS:
        path = MAN / f"cltc-{name}.1"
        text = page(name)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
