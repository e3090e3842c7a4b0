"""Word-vector files: .vec text, word2vec binary, fastText .bin; gzip; malformed input."""

from __future__ import annotations

import gzip
import random
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io import vectors as vio
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import _is_number as is_number  # what a reader takes for a value
from cltc_tools.io.vectors import (
    detect_format,
    read_fasttext_bin,
    read_vec,
    read_vectors,
    read_word2vec_bin,
    write_vec,
    write_vectors,
    write_word2vec_bin,
)

TOKENS = ["haus", "ein haus", "\u3000", "\u00a0", "a\u00a0b", "straße", "日本語", "naïve", "😀", "-", "x y z",
          "\u2028", "\x85", "tab\there", " lead"]


def random_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-6, 6, size=(n, 1))).astype(np.float32)


def write_text_vec(path: Path, words, vectors, header: str | None = None, newline: str = "\n") -> Path:
    """A .vec file written independently of the writer under test (9 significant digits: exact float32)."""
    lines = [header or f"{len(words)} {vectors.shape[1]}"]
    lines += [w + " " + " ".join(f"{x:.9g}" for x in row) for w, row in zip(words, vectors.tolist())]
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


# --- .vec text -----------------------------------------------------------------------------------------

def test_vec_space_vec_round_trip_is_exact(tmp_path):
    vectors = random_vectors(len(TOKENS), 7)
    src = write_text_vec(tmp_path / "in.vec", TOKENS, vectors)
    read = read_vec(src)
    assert read.words == TOKENS
    assert read.vectors.dtype == np.float32
    assert np.array_equal(read.vectors, vectors)

    write_space(tmp_path / "space", [LangBlock("de", read.words, read.vectors)])
    space = open_space(tmp_path / "space")
    assert space.words("de") == TOKENS
    write_vec(tmp_path / "out.vec", space.words("de"), space.lang_vectors("de"))
    back = read_vec(tmp_path / "out.vec")
    assert back.words == TOKENS
    assert np.array_equal(back.vectors, vectors)
    assert back.duplicates == 0


def test_vec_round_trip_keeps_special_floats_exact(tmp_path):
    special = np.array([[0.0, -0.0, 1e-45, 3.4028235e38, -1.1754944e-38, 0.1]], dtype=np.float32)
    write_vec(tmp_path / "s.vec", ["w"], special)
    back = read_vec(tmp_path / "s.vec").vectors
    assert np.array_equal(back, special)
    assert np.signbit(back[0, 1])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=6)
                .filter(lambda w: not w.endswith(" ") and not (" " in w and is_number(w.rsplit(" ", 1)[1]))),
                min_size=1, max_size=8, unique=True))
def test_vec_round_trip_any_token(tmp_path, words):
    vectors = random_vectors(len(words), 3, seed=len(words))
    path = tmp_path / "h.vec"
    write_vec(path, words, vectors, force=True)
    back = read_vec(path)
    assert back.words == words
    assert np.array_equal(back.vectors, vectors)


def test_write_vec_rejects_unrepresentable_tokens(tmp_path):
    vectors = random_vectors(1, 2)
    for bad in ["ends with space ", "line\nbreak", "carriage\rreturn", "ends with a number 0", " 1"]:
        with pytest.raises(InputError):
            write_vec(tmp_path / "bad.vec", [bad], vectors)
    assert list(tmp_path.iterdir()) == []


def test_crlf_and_bom_vec(tmp_path):
    vectors = random_vectors(3, 4)
    path = write_text_vec(tmp_path / "crlf.vec", ["a", "b c", "ü"], vectors, newline="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    read = read_vec(path)
    assert read.words == ["a", "b c", "ü"]
    assert np.array_equal(read.vectors, vectors)


def test_trailing_space_after_values_and_blank_lines(tmp_path):
    path = tmp_path / "t.vec"
    path.write_text("2 2\nfoo 1 2 \n\nbar 3 4\n\n", encoding="utf-8")
    read = read_vec(path)
    assert read.words == ["foo", "bar"]
    assert read.vectors.tolist() == [[1, 2], [3, 4]]


def test_max_vocab_keeps_first_distinct_words(tmp_path, monkeypatch):
    monkeypatch.setattr(vio, "CHUNK", 3)  # exercise chunk boundaries
    words = ["a", "b", "a", "c", "d", "b", "e", "f"]
    vectors = random_vectors(len(words), 2)
    path = write_text_vec(tmp_path / "m.vec", words, vectors)
    read = read_vec(path, max_vocab=4)
    assert read.words == ["a", "b", "c", "d"]
    assert np.array_equal(read.vectors, vectors[[0, 1, 3, 4]])
    assert read_vec(path, max_vocab=1).words == ["a"]
    assert read_vec(path, max_vocab=100).words == ["a", "b", "c", "d", "e", "f"]


def test_duplicates_first_kept_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(vio, "CHUNK", 2)
    words = ["x", "y", "x", "z", "y", "x"]
    vectors = random_vectors(len(words), 3)
    read = read_vec(write_text_vec(tmp_path / "d.vec", words, vectors))
    assert read.words == ["x", "y", "z"]
    assert read.duplicates == 3
    assert np.array_equal(read.vectors, vectors[[0, 1, 3]])


def test_gzip_is_transparent_whatever_the_name(tmp_path):
    vectors = random_vectors(4, 3)
    plain = write_text_vec(tmp_path / "p.vec", ["a", "b", "c", "d"], vectors)
    for name in ("p.vec.gz", "p-compressed.vec"):
        packed = tmp_path / name
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        read = read_vectors(packed)
        assert read.words == ["a", "b", "c", "d"]
        assert np.array_equal(read.vectors, vectors)


def test_gz_name_without_gzip_data_is_input_error(tmp_path):
    path = tmp_path / "fake.vec.gz"
    path.write_text("1 2\na 1 2\n")
    with pytest.raises(InputError, match="not gzip"):
        read_vectors(path)


def test_truncated_gzip_is_input_error(tmp_path):
    data = gzip.compress(("3000 3\n" + "".join(f"w{i} 1 2 3\n" for i in range(3000))).encode())
    path = tmp_path / "cut.vec.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_vec(path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_nan_or_inf_names_the_line(tmp_path, value):
    path = tmp_path / "n.vec"
    path.write_text(f"3 2\na 1 2\nb 3 4\nc 5 {value}\n")
    with pytest.raises(InputError) as info:
        read_vec(path)
    assert info.value.line == 4
    assert f"{path}:4:" in str(info.value)
    assert "NaN or Inf" in str(info.value)


@pytest.mark.parametrize("line", ["b 3", "b", "b 3 x", "b 3 1e5e"])
def test_bad_values_name_file_and_line(tmp_path, line):
    path = tmp_path / "bad.vec"
    path.write_text(f"2 2\na 1 2\n{line}\nc 5 6\n")
    with pytest.raises(InputError) as info:
        read_vec(path)
    assert str(info.value).startswith(f"{path}:3: ")


def test_bad_header_and_empty_file(tmp_path):
    empty = tmp_path / "empty.vec"
    empty.write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_vec(empty)
    no_header = tmp_path / "glove.txt"
    no_header.write_text("a 1 2\n")
    with pytest.raises(InputError) as info:
        read_vec(no_header)
    assert info.value.line == 1
    zero = tmp_path / "zero.vec"
    zero.write_text("1 0\n")
    with pytest.raises(InputError, match="positive"):
        read_vec(zero)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.vec"
    path.write_bytes(b"2 1\nok 1\nm\xfcll 2\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_vec(path)
    assert info.value.line == 3


def test_header_count_is_not_trusted(tmp_path):
    words = [f"w{i}" for i in range(50)]
    vectors = random_vectors(50, 5)
    path = write_text_vec(tmp_path / "huge.vec", words, vectors, header=f"{10**12} 5")
    tracemalloc.start()
    try:
        read = read_vec(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read.words == words
    assert np.array_equal(read.vectors, vectors)
    assert peak < 20 * 2**20
    short = write_text_vec(tmp_path / "small.vec", words, vectors, header="3 5")
    assert read_vec(short).words == words  # more rows than the header says: all are read


# --- word2vec binary --------------------------------------------------------------------------------------

W2V_TOKENS = ["haus", "straße", "日本語", "\u3000", "a\u00a0b", "tab\there", "😀"]


def test_word2vec_binary_round_trip(tmp_path):
    vectors = random_vectors(len(W2V_TOKENS), 6)
    path = tmp_path / "v.bin"
    write_word2vec_bin(path, W2V_TOKENS, vectors)
    assert path.read_bytes().startswith(f"{len(W2V_TOKENS)} 6\n".encode())
    assert detect_format(path) == "word2vec"
    read = read_word2vec_bin(path)
    assert read.words == W2V_TOKENS
    assert np.array_equal(read.vectors, vectors)
    assert read_vectors(path).words == W2V_TOKENS  # auto-detected
    assert read_word2vec_bin(path, max_vocab=2).words == W2V_TOKENS[:2]


def test_word2vec_binary_without_newlines_and_with_duplicates(tmp_path):
    vectors = random_vectors(3, 2)
    body = b"".join(w.encode() + b" " + v.astype("<f4").tobytes() for w, v in zip(["a", "b", "a"], vectors))
    path = tmp_path / "packed.bin"
    path.write_bytes(b"3 2\n" + body)
    read = read_word2vec_bin(path)
    assert read.words == ["a", "b"]
    assert read.duplicates == 1
    assert np.array_equal(read.vectors, vectors[:2])


def test_word2vec_binary_rejects_spaces_and_truncation(tmp_path):
    with pytest.raises(InputError, match="space"):
        write_word2vec_bin(tmp_path / "x.bin", ["a b"], random_vectors(1, 2))
    path = tmp_path / "t.bin"
    write_word2vec_bin(path, ["a", "b"], random_vectors(2, 4))
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(InputError, match="truncated"):
        read_word2vec_bin(path)
    nan = tmp_path / "nan.bin"
    nan.write_bytes(b"1 2\na " + np.array([1, np.nan], dtype="<f4").tobytes() + b"\n")
    with pytest.raises(InputError, match="NaN"):
        read_word2vec_bin(nan)


def test_writers_compress_when_name_ends_in_gz(tmp_path):
    vectors = random_vectors(len(W2V_TOKENS), 4)
    for fmt, name in (("vec", "o.vec.gz"), ("word2vec", "o.bin.gz")):
        path = tmp_path / name
        write_vectors(path, W2V_TOKENS, vectors, fmt)
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        assert detect_format(path) == fmt
        read = read_vectors(path)
        assert read.words == W2V_TOKENS
        assert np.array_equal(read.vectors, vectors)
        first = path.read_bytes()
        write_vectors(path, W2V_TOKENS, vectors, fmt, force=True)
        assert path.read_bytes() == first  # no timestamp or temp name inside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.bin.gz", "o.vec.gz"]


def test_writers_refuse_to_overwrite_without_force(tmp_path):
    path = tmp_path / "o.vec"
    write_vec(path, ["a"], random_vectors(1, 2))
    with pytest.raises(OutputExistsError):
        write_vec(path, ["b"], random_vectors(1, 2))
    assert read_vec(path).words == ["a"]
    with pytest.raises(InputError, match="cannot export"):
        write_vectors(tmp_path / "x", ["a"], random_vectors(1, 2), "bin")


def test_detect_format_and_unknown_format(tmp_path):
    vec = write_text_vec(tmp_path / "a.vec", ["ü"], random_vectors(1, 2))
    assert detect_format(vec) == "vec"
    with pytest.raises(InputError, match="no such file"):
        detect_format(tmp_path / "missing.vec")
    with pytest.raises(InputError):
        read_vectors(tmp_path)
    with pytest.raises(InputError, match="unknown vector format"):
        read_vectors(vec, "glove")


# --- fastText .bin ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fasttext_model(tmp_path_factory):
    fasttext = pytest.importorskip("fasttext")
    root = tmp_path_factory.mktemp("ft")
    rng = random.Random(0)
    vocab = [f"wort{i}" for i in range(40)] + ["häuser", "straße", "日本"]
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(vocab) for _ in range(15)) for _ in range(150)), encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), dim=10, bucket=1000, epoch=1, minCount=1, thread=1,
                                        verbose=0)
    path = root / "model.bin"
    model.save_model(str(path))
    return path, fasttext.load_model(str(path))


def test_fasttext_bin_import_rebuilds_raw_word_vectors(fasttext_model):
    path, model = fasttext_model
    assert detect_format(path) == "bin"
    read = read_vectors(path)
    assert read.words == list(model.get_words())
    assert read.vectors.shape == (len(read.words), 10)
    assert read.vectors.dtype == np.float32
    matrix = model.get_input_matrix()
    for word, vector in zip(read.words, read.vectors):
        _, ids = model.get_subwords(word)
        assert np.allclose(vector, matrix[ids].mean(axis=0), rtol=1e-6, atol=1e-7)
        reference = model.get_word_vector(word)
        cosine = vector @ reference / (np.linalg.norm(vector) * np.linalg.norm(reference))
        assert cosine == pytest.approx(1.0, abs=1e-5)
    assert any(len(model.get_subwords(w)[1]) > 1 for w in read.words)  # subwords really are averaged
    assert read_vectors(path, max_vocab=5).words == read.words[:5]


def test_fasttext_bin_bad_magic(tmp_path):
    path = tmp_path / "fake.bin"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="magic"):
        read_fasttext_bin(path)
    with pytest.raises(InputError, match="no such file"):
        read_fasttext_bin(tmp_path / "missing.bin")
