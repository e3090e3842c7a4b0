"""Specific hostile inputs that users of MUSE, VecMap and fastText files meet, one test each.

Huge header counts, truncated and fake-gzip files, BOM and CRLF, NaN/Inf, duplicate words, empty documents, labels
the model never saw, dictionaries that miss the vocabulary, are cased or tab-separated, tokens that are Unicode
spaces, and spaces whose words.txt and vectors.npy disagree.
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.align import app as align_app
from cltc_tools.cli.embed import app as embed_app
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import read_dictionary
from cltc_tools.io.documents import read_documents
from cltc_tools.io.parallel import read_parallel
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import read_fasttext_bin, read_vec, read_vectors, read_word2vec_bin
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training import loop as train_module
from cltc_tools.training.loop import Encoded

runner = CliRunner()
UNICODE_SPACES = ["\u3000", "\u00a0", "\u2009", "\u2028", "\u0085", "\u200b"]


def invoke(app, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def peak_memory(func):
    tracemalloc.start()
    try:
        result = func()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def w2v(words: list[str], vectors: np.ndarray, header: str | None = None) -> bytes:
    body = b"".join(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n" for w, v in zip(words, vectors))
    return (header or f"{len(words)} {vectors.shape[1]}").encode() + b"\n" + body


# --- sizes claimed by headers -----------------------------------------------------------------------------------

def test_header_claiming_a_trillion_words_allocates_nothing_big(tmp_path):
    vec = tmp_path / "huge.vec"
    vec.write_text(f"{10 ** 12} 3\na 1 2 3\nb 4 5 6\n")
    result, peak = peak_memory(lambda: read_vec(vec))
    assert result.words == ["a", "b"] and peak < 5 * 2 ** 20
    binary = tmp_path / "huge.bin"
    binary.write_bytes(w2v(["a", "b"], np.ones((2, 3)), header=f"{10 ** 12} 3"))
    with pytest.raises(InputError, match=r"huge.bin: truncated file: word 3 is incomplete"):
        peak_memory(lambda: read_word2vec_bin(binary))
    # a dimension of 10^12 would make the reader ask for 4 TB per row: refused before reading
    wide = tmp_path / "wide.bin"
    wide.write_bytes(b"1 1000000000000\na " + b"\x00" * 16)
    _, peak = peak_memory(lambda: _raises(read_word2vec_bin, wide, "wide.bin:1: dimension 1000000000000 in header "
                                                                   "is implausible"))
    assert peak < 5 * 2 ** 20


def _raises(func, path, match):
    with pytest.raises(InputError, match=match):
        func(path)


def test_fasttext_header_claiming_two_billion_words_is_refused_before_loading(tmp_path):
    args = struct.pack("<12id", 3, 5, 1, 1, 5, 1, 2, 2, 20, 2, 3, 100, 1e-4)
    header = struct.pack("<2i", 793712314, 12) + args + struct.pack("<3iqq", 2 ** 31 - 1, 2 ** 31 - 1, 0, 10, -1)
    path = tmp_path / "claims.bin"
    path.write_bytes(header + b"a\x00" + b"\x00" * 9)
    _, peak = peak_memory(lambda: _raises(read_fasttext_bin, path, "cannot fit"))
    assert peak < 5 * 2 ** 20


def test_max_vocab_reads_only_the_words_it_keeps(tmp_path):
    """A 2M-word file imported with --max-vocab N costs the memory and time of N words, not 2M."""
    path = tmp_path / "big.vec"
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        handle.write("200000 8\n")
        for i in range(200_000):
            handle.write(f"w{i} " + " ".join("%.4f" % x for x in rng.standard_normal(8)) + "\n")
    result, peak = peak_memory(lambda: read_vec(path, max_vocab=1000))
    assert len(result.words) == 1000 and peak < 10 * 2 ** 20


# --- truncated, fake-gzip, damaged compressed files -----------------------------------------------------------------

def test_truncated_vec_word2vec_and_gzip_files(tmp_path):
    vec = b"4 4\nalpha 0.125 0.25 0.5 1.0\nbeta 1 2 3 4\ngamma 5 6 7 8.75\ndelta 1 1 1 1\n"
    vec = vec[:vec.index(b"delta")]  # as if a download stopped in the middle of the 4th row ...
    cut = tmp_path / "cut.vec"
    cut.write_bytes(vec[:-3])  # ... of the 3rd: the last value lost digits, "8." would be read as 8.0
    with pytest.raises(InputError, match=r"cut.vec:4: truncated file"):
        read_vec(cut)
    cut.write_bytes(vec[:-12])  # mid-row: too few values
    with pytest.raises(InputError, match=r"cut.vec:4: expected a token and 4 values"):
        read_vec(cut)
    head = tmp_path / "head.vec"  # `head -n 3 wiki.vec`: complete lines, header count not updated: fine
    head.write_bytes(b"".join(vec.splitlines(keepends=True)[:3]))
    assert read_vec(head).words == ["alpha", "beta"]

    binary = w2v(["alpha", "beta"], np.ones((2, 4)))
    for n in (len(binary) - 2, len(binary) - 17, 12):  # (the final line end is optional)
        (tmp_path / "cut.bin").write_bytes(binary[:n])
        with pytest.raises(InputError, match="cut.bin: truncated file"):
            read_word2vec_bin(tmp_path / "cut.bin")

    packed = gzip.compress(vec, mtime=0)
    for n in (len(packed) - 4, len(packed) // 2, 12):
        (tmp_path / "cut.vec.gz").write_bytes(packed[:n])
        with pytest.raises(InputError, match=r"cut.vec.gz(:\d+)?: truncated or corrupt compressed data"):
            read_vectors(tmp_path / "cut.vec.gz")


def test_gzip_input_that_is_not_gzip(tmp_path):
    fake = tmp_path / "fake.vec.gz"
    fake.write_bytes(b"1 2\na 1 2\n")
    with pytest.raises(InputError, match=r"fake.vec.gz: named .gz but not gzip data"):
        read_vec(fake)
    magic_only = tmp_path / "magic.vec"
    magic_only.write_bytes(b"\x1f\x8b" + b"garbage that is not deflate")
    with pytest.raises(InputError, match=r"magic.vec(:\d+)?: truncated or corrupt compressed data"):
        read_vectors(magic_only)
    damaged = bytearray(gzip.compress(b"1 2\n" + b"".join(b"w%d 1 2\n" % i for i in range(500)), mtime=0))
    damaged[30:40] = b"\xff" * 10  # the deflate stream itself (zlib.error, not an OSError)
    (tmp_path / "damaged.vec.gz").write_bytes(bytes(damaged))
    with pytest.raises(InputError, match="damaged.vec.gz(:\\d+)?: truncated or corrupt compressed data"):
        read_vectors(tmp_path / "damaged.vec.gz")
    docs = tmp_path / "docs.jsonl.gz"
    docs.write_bytes(b'{"lang": "en", "text": "x"}\n')
    with pytest.raises(InputError, match="named .gz but not gzip data"):
        list(read_documents(docs))


def test_gzip_damage_through_the_command_line(tmp_path):
    damaged = bytearray(gzip.compress(b"1 2\n" + b"".join(b"w%d 1 2\n" % i for i in range(500)), mtime=0))
    damaged[30:40] = b"\xff" * 10
    (tmp_path / "de.vec.gz").write_bytes(bytes(damaged))
    result = invoke(embed_app, "import", tmp_path / "de.vec.gz", "--lang", "de", "--out", tmp_path / "space")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "de.vec.gz" in result.stderr and "corrupt compressed data" in result.stderr
    assert not (tmp_path / "space").exists()


# --- BOM and CRLF --------------------------------------------------------------------------------------------------

def test_bom_and_crlf_are_read_like_plain_lf_files(tmp_path):
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.vec").write_bytes(bom + b"2 2\r\nhaus 1 2\r\nbaum 3 4\r\n")
    read = read_vec(tmp_path / "a.vec")
    assert read.words == ["haus", "baum"] and read.vectors.tolist() == [[1, 2], [3, 4]]
    (tmp_path / "d.jsonl").write_bytes(bom + b'{"lang": "de", "text": "x", "label": "a"}\r\n\r\n'
                                             b'{"lang": "de", "text": "y\\r\\n", "label": "b"}\r\n')
    docs = list(read_documents(tmp_path / "d.jsonl"))
    assert [d.text for d in docs] == ["x", "y\r\n"] and docs[1].id == "3"
    (tmp_path / "de-en.txt").write_bytes(bom + b"haus house\r\nbaum\ttree\r\n")
    assert read_dictionary(tmp_path / "de-en.txt").pairs == [("haus", "house"), ("baum", "tree")]
    (tmp_path / "p.jsonl").write_bytes(bom + b'{"src_lang": "de", "src": "a", "tgt_lang": "en", "tgt": "b"}\r\n')
    assert [p.tgt for p in read_parallel(tmp_path / "p.jsonl")] == ["b"]
    (tmp_path / "c.de").write_bytes(bom + b"eins\r\nzwei\r\n")
    (tmp_path / "c.en").write_bytes(b"one\ntwo\n")
    assert [(p.src, p.tgt) for p in read_parallel(tmp_path / "c.de-en")] == [("eins", "one"), ("zwei", "two")]


def test_bom_and_crlf_on_stdin_records(tiny_world):
    record = {"kind": "metrics", "schema": 1, "arch": "mlp", "mode": "multi", "test_lang": "en",
              "train_langs": ["en"], "macro_f1": 0.5, "macro_precision": 0.5, "macro_recall": 0.5, "n": 2}
    stdin = b"\xef\xbb\xbf" + orjson.dumps(record) + b"\r\n\r\n"
    result = runner.invoke(report_app, [], input=stdin)
    assert result.exit_code == 0, result.stderr
    assert "50.00" in result.stdout


# --- NaN, Inf, duplicates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e39", "-3.5e38"])
def test_nan_or_inf_in_a_vec_file_names_its_line(tmp_path, value):
    path = tmp_path / "v.vec"
    path.write_text(f"3 2\na 1 2\nb 3 {value}\nc 5 6\n")
    with pytest.raises(InputError, match=r"v.vec:3: vector contains NaN or Inf"):
        read_vec(path)


def test_nan_or_inf_in_a_word2vec_file_names_its_word(tmp_path):
    vectors = np.array([[1, 2], [3, np.inf], [np.nan, 0]], dtype=np.float32)
    (tmp_path / "v.bin").write_bytes(w2v(["a", "b", "c"], vectors))
    with pytest.raises(InputError, match=r"v.bin: vector of word 2 contains NaN or Inf"):
        read_word2vec_bin(tmp_path / "v.bin")


def test_duplicate_words_keep_the_first_vector_and_are_counted(tmp_path):
    (tmp_path / "de.vec").write_text("4 2\nhaus 1 2\nbaum 3 4\nhaus 9 9\nhaus 8 8\n")
    read = read_vec(tmp_path / "de.vec")
    assert read.words == ["haus", "baum"] and read.vectors[0].tolist() == [1, 2] and read.duplicates == 2
    result = invoke(embed_app, "import", tmp_path / "de.vec", "--lang", "de", "--out", tmp_path / "space")
    assert result.exit_code == 0, result.stderr
    assert "2 duplicate(s) skipped" in result.stderr
    space = open_space(tmp_path / "space")
    assert space.words("de") == ["haus", "baum"] and space.vectors[0].tolist() == [1, 2]
    assert space.provenance[0]["duplicates"] == 2


# --- documents and labels -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["mlp", "cnn", "gru-att", "han"])
def test_empty_documents_train_and_evaluate(tiny_world, tmp_path, arch):
    lines = [json.loads(x) for x in (tiny_world / "docs" / "en" / "train.jsonl").read_text().splitlines()[:30]]
    for i in range(0, 30, 3):
        lines[i]["text"] = "" if i % 2 else "\u3000 \u00a0"  # nothing to look up: an all-padding document
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(x) + "\n" for x in lines))
    test = tmp_path / "test.jsonl"
    test.write_text('{"lang": "en", "text": "", "label": "alpha"}\n{"lang": "en", "text": "enw1", "label": "beta"}\n')
    result = invoke(train_app, "--arch", arch, "--space", tiny_world / "space", "--train", train, "--dev", train,
                    "--out", tmp_path / "m", "--epochs", "1", "-q")
    assert result.exit_code == 0, result.stderr
    model = json.loads(result.stdout)["path"]
    result = invoke(eval_app, "--model", model, "--test", test, "--predictions", tmp_path / "p.jsonl", "-q")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout.splitlines()[0])
    assert metrics["n"] == 2 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 2


def test_labels_the_model_never_saw_count_as_errors(tiny_world, tmp_path):
    result = invoke(train_app, "--space", tiny_world / "space", "--data", tiny_world / "docs", "--out", tmp_path,
                    "--epochs", "2", "-q")
    model = json.loads(result.stdout)["path"]
    test = tmp_path / "t.jsonl"
    test.write_text('{"lang": "en", "text": "enw1 enw2", "label": "omega"}\n'
                    '{"lang": "en", "text": "enw3", "label": "alpha"}\n')
    result = invoke(eval_app, "--model", model, "--test", test)
    assert result.exit_code == 0, result.stderr
    assert "labels never seen in training: omega" in result.stderr
    metrics = json.loads(result.stdout)
    assert "omega" in metrics["confusion"]["labels"]
    assert metrics["per_label"]["omega"]["recall"] == 0.0 and metrics["accuracy"] <= 0.5


def test_different_label_sets_in_train_and_dev(tiny_world, tmp_path):
    dev = [json.loads(x) for x in (tiny_world / "docs" / "en" / "dev.jsonl").read_text().splitlines()]
    for doc in dev[::3]:
        doc["label"] = "zeta"  # in dev only
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dev))
    train = [json.loads(x) for x in (tiny_world / "docs" / "en" / "train.jsonl").read_text().splitlines()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(d) + "\n" for d in train if d["label"] != "gamma"))
    result = invoke(train_app, "--space", tiny_world / "space", "--train", tmp_path / "train.jsonl", "--dev",
                    tmp_path / "dev.jsonl", "--out", tmp_path / "m", "--epochs", "2")
    assert result.exit_code == 0, result.stderr
    assert "dev labels not in the training data" in result.stderr and "gamma, zeta" in result.stderr
    config = json.loads((Path(json.loads(result.stdout)["path"]) / "config.json").read_text())
    assert config["labels"] == ["alpha", "beta"]


def test_dev_score_counts_unseen_dev_labels_as_a_class_of_their_own(monkeypatch):
    """Before the fix an unseen dev label (-1) was silently counted as the last known label."""
    monkeypatch.setattr(train_module, "predict", lambda *a, **k: np.array([0, 1, 0]))
    dev = Encoded(docs=[[np.array([1])]] * 3, labels=np.array([0, 1, -1]))
    score = train_module.dev_score(None, dev, 2, False, 8, None, 0.0)
    f1 = [2 * 0.5 * 1 / 1.5, 1.0, 0.0]  # label 0: P 1/2 R 1; label 1: perfect; the unseen label: never predicted
    assert score == pytest.approx(sum(f1) / 3)


# --- dictionaries: no word in the vocabulary, cased, tab-separated, Unicode-space tokens --------------------------

@pytest.fixture
def two_spaces(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    en = rng.standard_normal((40, 6)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    de = (en @ q.T).astype(np.float32)
    de_words = [f"d{i}" for i in range(37)] + ["new york", "\u3000", "\u00a0"]
    en_words = [f"e{i}" for i in range(37)] + ["nueva york", "ideographic-space", "nbsp"]
    write_space(tmp_path / "de", [LangBlock("de", de_words, de)])
    write_space(tmp_path / "en", [LangBlock("en", en_words, en)])
    return tmp_path


def align(spaces: Path, dictionary: Path, out: str = "out"):
    return invoke(align_app, "--space", spaces / "de", "--space", spaces / "en", "--dict", dictionary,
                  "--device", "cpu", "--out", spaces / out)


def test_dictionary_with_no_word_in_the_vocabulary_exits_2(two_spaces):
    dictionary = two_spaces / "de-en.0-5000.txt"
    dictionary.write_text("haus house\nbaum tree\n")
    result = align(two_spaces, dictionary)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"cltc-align: {dictionary}: none of the 2 de-en pairs has both words "
                                     "in the spaces")
    assert not (two_spaces / "out").exists() and result.stdout == ""


def test_cased_dictionary(two_spaces):
    cased = two_spaces / "de-en.cased.txt"
    cased.write_text("".join(f"D{i} E{i}\n" for i in range(30)))
    result = align(two_spaces, cased)
    assert result.exit_code == 2 and "none of the 30 de-en pairs" in result.stderr
    mixed = two_spaces / "de-en.mixed.txt"
    mixed.write_text("".join(f"d{i} e{i}\n" for i in range(30)) + "".join(f"D{i} E{i}\n" for i in range(5)))
    result = align(two_spaces, mixed)
    assert result.exit_code == 0, result.stderr
    assert "30 de-en pairs of 35, 5 with a word missing from the spaces" in result.stderr
    assert read_dictionary(cased, lowercase=True).pairs[0] == ("d0", "e0")  # MUSE's lower-casing, when asked


def test_tab_separated_dictionary_keeps_multi_word_entries(two_spaces):
    tabs = two_spaces / "de-en.tabs.txt"
    tabs.write_text("".join(f"d{i}\te{i}\n" for i in range(30)) + "new york\tnueva york\n")
    assert read_dictionary(tabs).pairs[-1] == ("new york", "nueva york")
    spaced = two_spaces / "de-en.spaced.txt"
    spaced.write_text("".join(f"d{i} e{i}\n" for i in range(30)) + "new york\tnueva york\n")
    a, b = align(two_spaces, tabs, "a"), align(two_spaces, spaced, "b")
    assert a.exit_code == 0 and b.exit_code == 0, a.stderr + b.stderr
    assert "31 de-en pairs of 31" in a.stderr
    assert json.loads(a.stdout.splitlines()[0])["sha256"] == json.loads(b.stdout.splitlines()[0])["sha256"]


def test_tokens_that_are_unicode_spaces(two_spaces, tmp_path):
    dictionary = two_spaces / "de-en.uni.txt"
    dictionary.write_text("\u3000 ideographic-space\n\u00a0\tnbsp\n")
    assert read_dictionary(dictionary).pairs == [("\u3000", "ideographic-space"), ("\u00a0", "nbsp")]
    # .vec: every Unicode space (and the line separators that are not line ends in .vec) survives import/export
    words = UNICODE_SPACES + ["a\u00a0b", "x"]
    vectors = np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2)
    vec = tmp_path / "uni.vec"
    vec.write_text(f"{len(words)} 2\n" + "".join(f"{w} {v[0]} {v[1]}\n" for w, v in zip(words, vectors)),
                   encoding="utf-8")
    assert read_vec(vec).words == words
    result = invoke(embed_app, "import", vec, "--lang", "de", "--out", tmp_path / "space")
    assert result.exit_code == 0, result.stderr
    assert open_space(tmp_path / "space").words("de") == words
    result = invoke(embed_app, "export", tmp_path / "space", "--out", tmp_path / "back.vec")
    assert result.exit_code == 0, result.stderr
    back = read_vec(tmp_path / "back.vec")
    assert back.words == words and np.array_equal(back.vectors, vectors)
    # documents: text made of Unicode spaces has no tokens (and is not an error)
    assert Tokenizer()("\u3000\u00a0\u2009") == [] and Tokenizer("eltec")("\u3000 \u00a0") == []


# --- spaces whose files disagree ------------------------------------------------------------------------------------

def test_space_whose_words_and_vectors_disagree_in_length(tiny_world, tmp_path):
    space = tmp_path / "space"
    shutil.copytree(tiny_world / "space", space)
    words = (space / "words.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    (space / "words.txt").write_text("".join(words[:-5]), encoding="utf-8")
    with pytest.raises(InputError, match=r"words.txt: words.txt has 395 lines but vectors.npy has 400 rows"):
        open_space(space)  # found when the space is opened, before any work
    result = invoke(train_app, "--space", space, "--data", tiny_world / "docs", "--out", tmp_path / "m")
    assert result.exit_code == 2 and result.stderr.startswith(f"cltc-train: {space / 'words.txt'}: ")
    assert not (tmp_path / "m").exists()
    (space / "words.txt").write_text("".join(words + ["de\textra\n"]), encoding="utf-8")
    with pytest.raises(InputError, match=r"words.txt:401: words.txt has more lines than vectors.npy has rows"):
        open_space(space)
