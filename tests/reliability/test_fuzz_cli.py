"""Fuzzing through the commands (CliRunner): damaged input never gives a traceback or a partial output.

For each command and each input it reads, random edits of a valid input must end in either success (exit 0 and a
complete output) or exit status 2 with exactly one stderr line ``cltc-x: file[:line]: problem``, no traceback,
nothing on stdout and no output written (not even a temporary file). Fewer examples than the reader targets
(100 by default, 1,000 in the long run): every example runs a whole command.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability._fuzz import CLI_FUZZ, check_cli_error, fuzz_bytes, mutated, mutated_json, succeeded
from typer.testing import CliRunner

from cltc_tools.cli.align import app as align_app
from cltc_tools.cli.data import app as data_app
from cltc_tools.cli.embed import app as embed_app
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.training.checkpoint import load_checkpoint

runner = CliRunner()
SCRATCH = Path(tempfile.mkdtemp(prefix="cltc-clifuzz-"))


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    shutil.rmtree(SCRATCH, ignore_errors=True)


def fresh(name: str) -> Path:
    """An empty folder for one example."""
    folder = SCRATCH / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def nothing_written(out: Path) -> None:
    assert not out.exists(), f"{out} was written by a failed command"
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def invoke(app, args, stdin=None):
    result = runner.invoke(app, [str(a) for a in args], input=stdin)
    if result.exit_code == 2:
        assert result.stdout == "", "a failed command printed records"
    return result


def docs_bytes(world: Path, lang: str, split: str, n: int) -> bytes:
    return b"".join((world / "docs" / lang / f"{split}.jsonl").read_bytes().splitlines(keepends=True)[:n])


# --- cltc-train: training documents, space records on stdin, the space directory ---------------------------------

@pytest.fixture(scope="module")
def train_seeds(tiny_world) -> list[bytes]:
    return [docs_bytes(tiny_world, "en", "train", 6) + docs_bytes(tiny_world, "de", "train", 3),
            b"\xef\xbb\xbf" + docs_bytes(tiny_world, "de", "train", 6).replace(b"\n", b"\r\n")]


@CLI_FUZZ
@given(data=st.data())
def test_train_on_damaged_documents(tiny_world, train_seeds, data):
    folder = fresh("train-docs")
    train = folder / "train.jsonl"
    train.write_bytes(data.draw(fuzz_bytes(train_seeds)))
    out = folder / "models"
    result = invoke(train_app, ["--space", tiny_world / "space", "--train", train, "--dev",
                                tiny_world / "docs" / "en" / "dev.jsonl", "--out", out, "--epochs", "1", "-q"])
    if succeeded(result):
        for record in map(json.loads, result.stdout.splitlines()):
            load_checkpoint(record["path"])
    else:
        check_cli_error(result, train, tiny_world / "space")
        nothing_written(out)


@CLI_FUZZ
@given(data=st.data())
def test_train_on_damaged_stdin_records(tiny_world, data):
    folder = fresh("train-records")
    seed = (json.dumps({"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "sha256": "x",
                        "method": "tiny"}) + "\n").encode()
    stdin = data.draw(st.one_of(fuzz_bytes([seed]), mutated_json(json.loads(seed)).map(lambda b: b + b"\n")))
    out = folder / "models"
    result = invoke(train_app, ["--data", tiny_world / "docs", "--langs", "de", "--out", out, "--epochs", "1",
                                "-q"], stdin=stdin)
    if not succeeded(result):
        # no record at all (a UTF-8 byte-order mark is an encoding mark, not content): a usage error
        if not any(line.strip() for line in stdin.removeprefix(b"\xef\xbb\xbf").splitlines()):
            assert result.exit_code == 2 and result.stderr.startswith("cltc-train: no space given")
        else:
            check_cli_error(result, Path("<stdin>"), mentioned=stdin)  # or the folder a damaged record names
        nothing_written(out)


@pytest.fixture(scope="module")
def space_copy_seed(tiny_world) -> Path:
    return tiny_world / "space"


@CLI_FUZZ
@given(data=st.data())
def test_train_on_damaged_space(tiny_world, space_copy_seed, data):
    folder = fresh("train-space")
    space = folder / "space"
    shutil.copytree(space_copy_seed, space)
    target = data.draw(st.sampled_from(["space.json", "space.json", "words.txt", "vectors.npy"]))
    original = (space_copy_seed / target).read_bytes()
    if target == "space.json":
        blob = data.draw(st.one_of(mutated_json(orjson.loads(original)), mutated([original])))
    elif target == "words.txt":
        blob = data.draw(mutated([original[:400]]).map(lambda h: h + original[400:]))
    else:
        blob = data.draw(mutated([original[:128]]).map(lambda h: h + original[128:]))
    (space / target).write_bytes(blob)
    out = folder / "models"
    result = invoke(train_app, ["--space", space, "--data", tiny_world / "docs", "--langs", "de", "--out", out,
                                "--epochs", "1", "-q"])
    if not succeeded(result):
        check_cli_error(result, space)
        nothing_written(out)


# --- cltc-eval: test documents, the checkpoint ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(tiny_world) -> Path:
    out = SCRATCH / "model-seed"
    shutil.rmtree(out, ignore_errors=True)
    result = invoke(train_app, ["--space", tiny_world / "space", "--data", tiny_world / "docs", "--out", out,
                                "--epochs", "2", "-q"])
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout.splitlines()[-1])["path"])


@CLI_FUZZ
@given(data=st.data())
def test_eval_on_damaged_documents(tiny_world, model_dir, data):
    folder = fresh("eval-docs")
    test = folder / "test.jsonl"
    seeds = [docs_bytes(tiny_world, "en", "test", 4) + docs_bytes(tiny_world, "de", "test", 4),
             b'{"lang": "en", "text": "", "label": "omega"}\n{"lang": "de", "text": "dew1", "label": "alpha"}\n']
    test.write_bytes(data.draw(fuzz_bytes(seeds)))
    predictions = folder / "pred.jsonl"
    result = invoke(eval_app, ["--model", model_dir, "--test", test, "--predictions", predictions, "-q"])
    if succeeded(result):
        rows = [orjson.loads(line) for line in predictions.read_bytes().splitlines()]
        assert rows and all("pred" in row for row in rows)
    else:
        check_cli_error(result, test, model_dir, tiny_world / "space")  # (the space lacks a document's language)
        nothing_written(predictions)


@CLI_FUZZ
@given(data=st.data())
def test_eval_on_damaged_checkpoint(tiny_world, model_dir, data):
    folder = fresh("eval-model")
    model = folder / "model"
    shutil.copytree(model_dir, model)
    target = data.draw(st.sampled_from(["config.json"] * 3 + ["vocab.txt", "weights.safetensors"]))
    original = (model_dir / target).read_bytes()
    if target == "config.json":
        blob = data.draw(st.one_of(mutated_json(orjson.loads(original)), mutated([original])))
    elif target == "vocab.txt":
        blob = data.draw(mutated([original[:300]]).map(lambda h: h + original[300:]))
    else:
        size = int.from_bytes(original[:8], "little") + 8
        blob = data.draw(mutated([original[:size]]).map(lambda h: h + original[size:]))
    (model / target).write_bytes(blob)
    predictions = folder / "pred.jsonl"
    result = invoke(eval_app, ["--model", model, "--test", tiny_world / "docs" / "de" / "test.jsonl",
                               "--predictions", predictions, "-q"])
    if not succeeded(result):
        check_cli_error(result, model, mentioned=(model / "config.json").read_bytes())  # or its space path
        nothing_written(predictions)


# --- cltc-embed import, cltc-align --dict ---------------------------------------------------------------------------

VEC_SEEDS = [b"3 4\nhaus 0.1 0.2 0.3 0.4\n\xe3\x80\x80 1 2 3 4\nein haus -1e-3 2.5e3 0 1\n",
             b"\xef\xbb\xbf2 2\r\nx 1.5 -2\r\nx 3 4\r\n"]


@CLI_FUZZ
@given(data=fuzz_bytes(VEC_SEEDS))
def test_embed_import_of_damaged_vectors(data):
    folder = fresh("embed")
    vec = folder / "de.vec"
    vec.write_bytes(data)
    out = folder / "space"
    result = invoke(embed_app, ["import", vec, "--lang", "de", "--out", out, "-q"])
    if succeeded(result):
        assert open_space(out).words("de")
    else:
        check_cli_error(result, vec)
        nothing_written(out)


@pytest.fixture(scope="module")
def align_spaces() -> Path:
    root = SCRATCH / "align-seed"
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(0)
    en = rng.standard_normal((30, 6)).astype(np.float32)
    write_space(root / "en", [LangBlock("en", [f"e{i}" for i in range(30)] + [], en)])
    write_space(root / "de", [LangBlock("de", [f"d{i}" for i in range(29)] + ["\u3000"], en[::-1].copy())])
    return root


@CLI_FUZZ
@given(data=fuzz_bytes([b"".join(f"d{i} e{i}\n".encode() for i in range(12)) + b"\xe3\x80\x80\te29\r\nD1 E1\n"]))
def test_align_on_damaged_dictionary(align_spaces, data):
    folder = fresh("align")
    dictionary = folder / "de-en.0-5000.txt"
    dictionary.write_bytes(data)
    out = folder / "aligned"
    result = invoke(align_app, ["--space", align_spaces / "de", "--space", align_spaces / "en", "--dict", dictionary,
                                "--device", "cpu", "--out", out, "-q"])
    if succeeded(result):
        assert open_space(out).langs.keys() == {"de", "en"}
    else:
        check_cli_error(result, dictionary)
        nothing_written(out)


# --- cltc-report: metrics records on stdin --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def metrics_stream(tiny_world, model_dir) -> bytes:
    result = invoke(eval_app, ["--model", model_dir, "--data", tiny_world / "docs", "-q"])
    assert result.exit_code == 0, result.output
    translation = {"kind": "translation-metrics", "schema": 1, "name": "tiny", "src_lang": "de", "tgt_lang": "en",
                   "nn": {"p@1": 50.0}, "csls": {"p@1": 60.0}, "nn_all": {"p@1": 40.0}, "csls_all": {"p@1": 45.0},
                   "covered_words": 9, "src_words": 10}
    return result.stdout.encode() + orjson.dumps(translation) + b"\n"


@CLI_FUZZ
@given(data=st.data())
def test_report_on_damaged_records(metrics_stream, data):
    lines = metrics_stream.splitlines()
    pick = data.draw(st.integers(0, len(lines) - 1))
    damaged = data.draw(st.one_of(mutated_json(orjson.loads(lines[pick])), mutated([lines[pick]])))
    stdin = b"\n".join(lines[:pick] + [damaged] + lines[pick + 1:]) + b"\n"
    table = data.draw(st.sampled_from(["comparison", "all", "translation", "zero-shot"]))
    fmt = data.draw(st.sampled_from(["markdown", "csv", "json", "latex"]))
    folder = fresh("report")
    out = folder / "report.txt"
    result = invoke(report_app, ["--table", table, "--format", fmt, "--bootstrap", "20", "--out", out], stdin=stdin)
    if not succeeded(result):
        check_cli_error(result, Path("<stdin>"))
        nothing_written(out)


# --- cltc-data converters ---------------------------------------------------------------------------------------

@CLI_FUZZ
@given(data=st.data())
def test_data_converters_on_damaged_input(data):
    kind, name, seed = data.draw(st.sampled_from([
        ("tsv", "reviews.tsv", b"text\tlabel\tid\ngood film\tpos\t1\n\"bad\tfilm\"\tneg\t2\n"),
        ("mldoc", "english.train.1000", b"CCAT\tb'Some text \\xc3\\xa9'\nECAT\tplain text\n"),
        ("sib200", "train.tsv", b"index_id\tcategory\ttext\n1\tscience\t\"a \"\"quoted\"\" text\"\n2\thealth\tb\n"),
    ]))
    folder = fresh("data")
    source = folder / name
    source.write_bytes(data.draw(fuzz_bytes([seed])))
    out = folder / "docs"
    result = invoke(data_app, [kind, source, "--lang", "en", "--out", out, "-q"])
    if not succeeded(result):
        check_cli_error(result, source)
        nothing_written(out)
