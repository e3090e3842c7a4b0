"""Empty results are errors: a command that read zero documents, pairs, vectors or records exits 2 and says why.

A run that processed nothing must never look like a success (exit 0 and an empty model, space, table or dataset).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.align import app as align_app
from cltc_tools.cli.data import app as data_app
from cltc_tools.cli.embed import app as embed_app
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.io.space import LangBlock, write_space

runner = CliRunner()


def refused(app, args, why: str, out: Path | None = None, stdin: str | None = None) -> None:
    result = runner.invoke(app, [str(a) for a in args], input=stdin)
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and why in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    if out is not None:
        assert not out.exists()


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff\r\n"])
def test_train_on_zero_documents(tiny_world, tmp_path, content):
    train = tmp_path / "train.jsonl"
    train.write_text(content, encoding="utf-8")
    refused(train_app, ["--space", tiny_world / "space", "--train", train, "--out", tmp_path / "m"],
            f"{train}: no train documents", tmp_path / "m")


def test_train_with_languages_that_select_nothing(tiny_world, tmp_path):
    refused(train_app, ["--space", tiny_world / "space", "--data", tiny_world / "docs", "--langs", "sw", "--out",
                        tmp_path / "m"], "no train files (<lang>/train.jsonl) for sw", tmp_path / "m")
    train = tmp_path / "train.jsonl"
    train.write_text('{"lang": "en", "text": "enw1", "label": "alpha"}\n')
    refused(train_app, ["--space", tiny_world / "space", "--train", train, "--langs", "de", "--out",
                        tmp_path / "m"], f"{train}: no train documents in languages de", tmp_path / "m")


def test_eval_on_zero_documents(model, tmp_path):
    test = tmp_path / "test.jsonl"
    test.write_text("\n")
    pred = tmp_path / "pred.jsonl"
    refused(eval_app, ["--model", model, "--test", test, "--predictions", pred], f"{test}: no test documents", pred)


def test_eval_with_no_document_in_the_models_languages(model, tmp_path):
    test = tmp_path / "test.jsonl"
    test.write_text('{"lang": "fr", "text": "x", "label": "alpha"}\n')
    refused(eval_app, ["--model", model, "--test", test, "--langs", "de"],
            f"{test}: no test documents in language(s) de")


def test_eval_with_records_but_no_model_record(tiny_world):
    stdin = json.dumps({"kind": "space", "schema": 1, "path": str(tiny_world / "space")}) + "\n"
    refused(eval_app, ["--data", tiny_world / "docs"], "<stdin>: none of the 1 records is a model record",
            stdin=stdin)


@pytest.fixture
def spaces(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    write_space(tmp_path / "en", [LangBlock("en", ["house", "tree"], rng.standard_normal((2, 4)).astype("f4"))])
    write_space(tmp_path / "de", [LangBlock("de", ["haus", "baum"], rng.standard_normal((2, 4)).astype("f4"))])
    return tmp_path


@pytest.mark.parametrize("content", ["", "\n \n", "only-one-field\nthree fields here\n"])
def test_align_with_an_empty_dictionary(spaces, content):
    dictionary = spaces / "de-en.0-5000.txt"
    dictionary.write_text(content)
    refused(align_app, ["--space", spaces / "de", "--space", spaces / "en", "--dict", dictionary, "--device", "cpu",
                        "--out", spaces / "out"], f"{dictionary}: no dictionary pairs found", spaces / "out")


@pytest.mark.parametrize("stdin", ["", "\n",
                                   json.dumps({"kind": "space", "schema": 1, "path": "x"}) + "\n",
                                   json.dumps({"kind": "model", "schema": 1, "path": "m"}) + "\n"])
def test_report_with_no_metrics(stdin, tmp_path):
    refused(report_app, ["--out", tmp_path / "r.md"], "<stdin>: no metrics records to report", tmp_path / "r.md",
            stdin=stdin)


def test_report_of_translation_table_without_translation_metrics(tmp_path):
    records = tmp_path / "run.jsonl"
    records.write_text(json.dumps({"kind": "metrics", "schema": 1, "arch": "mlp", "mode": "multi",
                                   "test_lang": "en", "macro_f1": 0.5, "macro_precision": 0.5,
                                   "macro_recall": 0.5}) + "\n")
    refused(report_app, [records, "--table", "translation"], f"{records}: no translation-metrics records")


@pytest.mark.parametrize("name,content,why", [
    ("header.vec", b"200000 300\n", "no word vectors in file"),
    ("blank.vec", b"3 2\n\n\n", "no word vectors in file"),
    ("empty.vec", b"", "empty file, expected a header 'N D'"),
    ("zero.bin", b"0 3\n", "no word vectors in file"),
])
def test_embed_import_of_a_file_without_vectors(tmp_path, name, content, why):
    path = tmp_path / name
    path.write_bytes(content)
    refused(embed_app, ["import", path, "--lang", "de", "--out", tmp_path / "space"], f"{path}: {why}",
            tmp_path / "space")


@pytest.mark.parametrize("command,files,why", [
    ("mldoc", {"english.train.1000": ""}, "no documents (empty file)"),
    ("tsv", {"reviews.tsv": "text\tlabel\n"}, "no documents (no data rows)"),
    ("tsv", {"reviews.tsv": ""}, "empty file"),
    ("sib200", {"train.tsv": "index_id\tcategory\ttext\n"}, "no documents (only the header)"),
    ("xlmt", {"train_text.txt": "", "train_labels.txt": ""}, "no documents (empty file)"),
    ("split", {"docs.jsonl": "\n"}, "no documents"),
    ("sample", {"docs.jsonl": ""}, "no documents"),
])
def test_data_converters_on_empty_input(tmp_path, command, files, why):
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    extra = {"split": [], "sample": ["--max-docs", "3"]}.get(command, ["--lang", "en"])
    refused(data_app, [command, *paths, *extra, "--out", tmp_path / "out"], f"{paths[0]}: {why}", tmp_path / "out")


def test_rcv_converter_on_an_empty_folder(tmp_path):
    (tmp_path / "rcv").mkdir()
    refused(data_app, ["rcv", tmp_path / "rcv", "--lang", "en", "--out", tmp_path / "out"],
            f"{tmp_path / 'rcv'}: no newsitem XML", tmp_path / "out")
