"""One explicit test per bug that the reliability work found (most first found by the fuzz targets)."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.errors import InputError
from cltc_tools.io import atomic
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import read_fasttext_bin, read_vec, read_vectors
from cltc_tools.training.checkpoint import load_checkpoint
from cltc_tools.training.evaluate import check_shapes

runner = CliRunner()


def copy_with(model: Path, tmp_path: Path, **changes) -> Path:
    crafted = tmp_path / "model"
    shutil.copytree(model, crafted)
    config = json.loads((crafted / "config.json").read_text())
    config.update(changes)
    (crafted / "config.json").write_text(json.dumps(config))
    return crafted


# --- word-vector files ---------------------------------------------------------------------------------------------

def test_header_with_unicode_digits_is_an_input_error(tmp_path):
    """'²'.isdigit() is True but int('²') raises ValueError: the header check used isdigit()."""
    (tmp_path / "v.vec").write_text("\u00b2 3\na 1 2 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"v.vec:1: expected a header 'N D'"):
        read_vec(tmp_path / "v.vec")


def test_header_dimension_smaller_than_the_rows(tmp_path):
    """With header 'N 2' and rows of 3 values, the first value used to become part of every token, silently."""
    (tmp_path / "v.vec").write_text("2 2\na 1 2 3\nb 4 5 6\n")
    with pytest.raises(InputError, match=r"v.vec:2: the header says dimension 2 but the first vector has 3 values"):
        read_vec(tmp_path / "v.vec")


def test_bad_value_is_reported_on_its_own_line(tmp_path):
    """numpy refuses '1_0' and Arabic-Indic digits that Python's float() accepts: the error named the wrong line."""
    (tmp_path / "v.vec").write_text("3 2\na 1 2\nb 3 1_0\nc 5 6\n")
    with pytest.raises(InputError, match=r"v.vec:3: not a number: '1_0'"):
        read_vec(tmp_path / "v.vec")


def test_word2vec_word_with_a_line_break_inside(tmp_path):
    """A damaged binary file gave a token with a line break, refused later by the space writer without a file name
    (found by the long command-line fuzz run)."""
    blob = b"2 1\nab" + np.float32(1).tobytes() + b"\nc\nd " + np.float32(2).tobytes()
    (tmp_path / "v.bin").write_bytes(blob.replace(b"ab" + np.float32(1).tobytes(), b"ab " + np.float32(1).tobytes()))
    with pytest.raises(InputError, match=r"v.bin: word 2 contains a line break"):
        read_vectors(tmp_path / "v.bin", "word2vec")


def _fasttext(words: tuple[bytes, bytes] = (b"a", b"b"), **fields) -> bytes:
    args = {"dim": 2, "ws": 5, "epoch": 1, "min_count": 1, "neg": 5, "ngrams": 1, "loss": 2, "model": 2,
            "bucket": 4, "minn": 2, "maxn": 3, "lr_rate": 100, "t": 1e-4, **fields}
    head = struct.pack("<2i", 793712314, 12) + struct.pack("<12id", *args.values())
    head += struct.pack("<3iqq", 2, 2, 0, 10, -1) + b"".join(w + b"\x00" + struct.pack("<qb", 5, 0) for w in words)
    rows_in = 2 + args["bucket"]
    head += b"\x00" + struct.pack("<qq", rows_in, 2) + b"\x00" * (4 * rows_in * 2)
    head += b"\x00" + struct.pack("<qq", 2, 2) + b"\x00" * 16
    return head


def test_fasttext_layout_is_checked_before_the_cpp_loader(tmp_path):
    """The C++ loader loops forever on a truncated dictionary and divides by zero with bucket 0."""
    path = tmp_path / "m.bin"
    path.write_bytes(_fasttext())
    assert read_fasttext_bin(path).words == ["a", "b"]
    cases = {
        "bucket 0": (_fasttext(bucket=0), "invalid bucket count 0"),
        "truncated dictionary": (_fasttext()[:100], "truncated fastText model"),
        "trailing bytes": (_fasttext() + b"\x00", "1 unexpected bytes after its matrices"),
        "huge dim": (_fasttext(dim=10 ** 9), "implausible dimension"),
        "unknown loss": (_fasttext(loss=9), "unknown loss 9"),
    }
    for name, (blob, message) in cases.items():
        path.write_bytes(blob)
        with pytest.raises(InputError, match=message):
            read_fasttext_bin(path)
    path.write_bytes(_fasttext(words=(b"a", b"a")))  # a repeated word: the first is kept, as in .vec files
    read = read_fasttext_bin(path)
    assert read.words == ["a"] and read.duplicates == 1
    blob = bytearray(_fasttext())
    blob[8 + 56 + 28 + 2 * 11] = 1  # the input matrix's "quantized" flag, after header, args and dictionary
    path.write_bytes(bytes(blob))
    with pytest.raises(InputError, match="quantized fastText models"):
        read_vectors(path)


# --- spaces -------------------------------------------------------------------------------------------------------

@pytest.fixture
def space(tmp_path) -> Path:
    path = tmp_path / "space"
    write_space(path, [LangBlock("de", ["haus", "baum"], np.ones((2, 3), np.float32))])
    return path


def test_words_txt_that_is_not_utf8(space):
    (space / "words.txt").write_bytes(b"de\thaus\nde\tb\xffum\n")
    with pytest.raises(InputError, match=r"words.txt:2: not UTF-8 text"):
        open_space(space).words("de")


def test_provenance_entries_that_are_not_records(space):
    """cltc-train read the last provenance entry with .get(): '[true]' was an AttributeError (long CLI fuzz run)."""
    meta = orjson.loads((space / "space.json").read_bytes())
    (space / "space.json").write_bytes(orjson.dumps({**meta, "provenance": [True]}))
    with pytest.raises(InputError, match=r"space.json: field 'provenance' must be a list of records"):
        open_space(space)


def test_damaged_npy_headers(space):
    data = (space / "vectors.npy").read_bytes()
    for damaged in (data.replace(b"'descr'", b"'de\x00cr'"), data.replace(b"(2, 3)", b"(2, 3 "),
                    data.replace(b"False", b"Fals(")):
        (space / "vectors.npy").write_bytes(damaged)
        with pytest.raises(InputError, match=r"vectors.npy: unreadable .npy matrix"):
            open_space(space)
    np.savez(space / "vectors.npy", np.ones((2, 3), np.float32))  # a zip: np.load returns an NpzFile
    os.replace(space / "vectors.npy.npz", space / "vectors.npy")
    with pytest.raises(InputError, match=r"vectors.npy: not an .npy matrix"):
        open_space(space)


# --- checkpoints --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes,message", [
    ({"labels": "abc"}, "field 'labels' must be a non-empty list"),
    ({"labels": []}, "field 'labels' must be a non-empty list"),
    ({"hparams": []}, "field 'hparams' must be an object"),
    ({"space": 5}, "field 'space' must be an object"),
    ({"mode": "x"}, "field 'mode' must be 'mono' or 'multi'"),
    ({"train_langs": None}, "field 'train_langs'"),
    ({"tokenizer": {"style": None}}, "field 'tokenizer': unknown tokenizer"),
    ({"arch": "nope"}, "unknown architecture 'nope'"),
])
def test_damaged_config_fields_are_input_errors(model, tmp_path, changes, message):
    crafted = copy_with(model, tmp_path, **changes)
    with pytest.raises(InputError, match=message) as info:
        load_checkpoint(crafted)
    assert info.value.path == str(crafted / "config.json")


def test_hyper_parameters_that_do_not_fit_the_weights(model, tmp_path, tiny_world):
    """A hidden size of 10^9 used to allocate the network before load_state_dict noticed; now checked on 'meta'."""
    config = json.loads((model / "config.json").read_text())
    crafted = copy_with(model, tmp_path, hparams={**config["hparams"], "hidden": 10 ** 9})
    with pytest.raises(InputError, match="weights do not fit architecture 'mlp'"):
        check_shapes(load_checkpoint(crafted))
    result = runner.invoke(eval_app, ["--model", str(crafted), "--data", str(tiny_world / "docs")])
    assert result.exit_code == 2 and "weights do not fit" in result.stderr
    bad = copy_with(model, tmp_path / "b", hparams={**config["hparams"], "max_len": "x"})
    with pytest.raises(InputError, match="hyper-parameter 'max_len'"):
        load_checkpoint(bad)


def test_vocab_txt_missing_not_utf8_or_of_the_wrong_length(model, tmp_path):
    crafted = copy_with(model, tmp_path)
    lines = (crafted / "vocab.txt").read_bytes()
    (crafted / "vocab.txt").unlink()
    with pytest.raises(InputError, match="checkpoint lacks vocab.txt"):
        load_checkpoint(crafted)
    (crafted / "vocab.txt").write_bytes(b"en\t\xff\n" + lines)
    with pytest.raises(InputError, match=r"vocab.txt:1: not UTF-8 text"):
        load_checkpoint(crafted)
    (crafted / "vocab.txt").write_bytes(lines + b"en\textra\n")
    with pytest.raises(InputError, match=r"vocab.txt: vocab.txt has \d+ lines but the embedding has \d+ word rows"):
        load_checkpoint(crafted)


def test_damaged_training_snapshot(tmp_path):
    """A state.json without its keys, or not an object, was a KeyError / AttributeError traceback on --resume."""
    import torch
    from safetensors.torch import save_file

    from cltc_tools.training.resume import load_snapshot

    progress = tmp_path / ".model.progress"
    progress.mkdir()
    save_file({"x": torch.zeros(1)}, str(progress / "state.safetensors"))
    (progress / "state.json").write_text(json.dumps({"fingerprint": "fp"}))
    with pytest.raises(InputError, match=r"\.model\.progress: damaged training snapshot \(KeyError"):
        load_snapshot(tmp_path / "model", "fp")
    (progress / "state.json").write_text("[]")
    with pytest.raises(InputError, match="snapshot of a run with other data or settings"):
        load_snapshot(tmp_path / "model", "fp")


# --- atomic outputs -----------------------------------------------------------------------------------------------

def test_ctrl_c_between_the_two_renames_of_a_swap_restores_the_previous_output(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("previous")
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new output is about to take the place of the old one
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_dir(target, force=True) as tmp:
            (tmp / "new.txt").write_text("new")
    monkeypatch.undo()
    assert (target / "old.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- the command-line layer ---------------------------------------------------------------------------------------

def test_failed_command_passes_no_record_through(tiny_world, tmp_path):
    """Records read on stdin used to be printed before the work: a failed step still fed the pipeline."""
    stdin = json.dumps({"kind": "space", "schema": 1, "path": str(tiny_world / "space")}) + "\n"
    bad = tmp_path / "train.jsonl"
    bad.write_text("{not json\n")
    result = runner.invoke(train_app, ["--train", str(bad), "--out", str(tmp_path / "m")], input=stdin)
    assert result.exit_code == 2 and result.stdout == ""
    good = runner.invoke(train_app, ["--data", str(tiny_world / "docs"), "--out", str(tmp_path / "m"), "--epochs",
                                     "1", "-q"], input=stdin)
    assert good.exit_code == 0 and good.stdout.splitlines()[0] == stdin.strip()


def test_unexpected_exception_is_one_line_exit_1_and_debug_shows_the_traceback(tiny_world, tmp_path, monkeypatch):
    import cltc_tools.training.loop as loop

    def broken(*args, **kwargs):
        raise TypeError("something the code did not expect")

    monkeypatch.setattr(loop, "train_models", broken)
    args = ["--space", str(tiny_world / "space"), "--data", str(tiny_world / "docs"), "--out", str(tmp_path / "m")]
    result = runner.invoke(train_app, args)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("cltc-train: internal error: TypeError: something the code did "
                                                     "not expect (rerun with --debug for the traceback)")
    debug = runner.invoke(train_app, [*args, "--debug"])
    assert debug.exit_code == 1 and "Traceback" in debug.stderr


def test_damaged_metrics_record_is_located(tmp_path):
    good = {"kind": "metrics", "schema": 1, "arch": "mlp", "mode": "multi", "test_lang": "en", "macro_f1": 0.5,
            "macro_precision": 0.5, "macro_recall": 0.5}
    records = tmp_path / "run.jsonl"
    records.write_bytes(orjson.dumps(good) + b"\n\n" + orjson.dumps({**good, "macro_f1": "high"}) + b"\n")
    result = runner.invoke(report_app, [str(records)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"cltc-report: {records}:3: metrics field 'macro_f1' must be a number"
    outcomes = {**good, "outcomes": {"gold": [0, 7], "pred": [0], "docs_sha256": "x"},
                "confusion": {"labels": ["a", "b"], "matrix": [[1, 0], [0, 0]]}}
    result = runner.invoke(report_app, [], input=orjson.dumps(outcomes).decode() + "\n")
    assert result.exit_code == 2 and result.stderr.startswith("cltc-report: <stdin>:1: metrics field 'outcomes'")
