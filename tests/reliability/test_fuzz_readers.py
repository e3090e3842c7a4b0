"""Property-based fuzzing of every reader: on any (mutated) input, a valid parse or a located InputError.

Each target starts from valid files (seeds), applies random byte edits (or replaces JSON values), calls the library
reader directly and checks: the result is well formed, or the reader raised InputError rendered as
``file:line: problem`` (``file: problem`` where the format has no lines). Any other exception fails.
Example counts: see ``_fuzz.py`` (500 per target by default, 10,000 with HYPOTHESIS_PROFILE=long).
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from reliability._fuzz import FUZZ, check_located, fuzz_bytes, mutated, mutated_json, run_reader
from typer.testing import CliRunner

from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import read_dictionary
from cltc_tools.io.documents import read_documents, read_single_label
from cltc_tools.io.parallel import read_parallel
from cltc_tools.io.records import parse_records
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import read_fasttext_bin, read_vec, read_vectors, read_word2vec_bin
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training.checkpoint import load_checkpoint, load_config
from cltc_tools.training.evaluate import check_shapes

SCRATCH = Path(tempfile.mkdtemp(prefix="cltc-fuzz-"))


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    shutil.rmtree(SCRATCH, ignore_errors=True)


def scratch(name: str) -> Path:
    folder = SCRATCH / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- documents JSONL ------------------------------------------------------------------------------------------

DOC_SEEDS = [
    b'{"id": "d1", "lang": "en", "text": "the house is big", "label": "alpha"}\n'
    b'{"lang": "de", "text": "das Haus\xe3\x80\x80ist gro\xc3\x9f", "label": ["beta"], "source": "x"}\n\n'
    b'{"id": 3, "lang": "en", "text": "", "label": "gamma"}\n',
    b'\xef\xbb\xbf{"lang": "fr", "text": "une maison", "label": "alpha"}\r\n{"lang": "fr", "text": "x", '
    b'"label": ["a", "b"]}\r\n',
    b'{"lang": "it", "text": "casa\\u00a0grande", "label": null, "id": "x"}\n{"lang": "it", "text": "c"}\n',
]


def _check_docs(docs) -> None:
    for doc in docs:
        assert isinstance(doc.lang, str) and doc.lang.strip() and isinstance(doc.text, str) and isinstance(doc.id, str)


@FUZZ
@given(data=fuzz_bytes(DOC_SEEDS), gz=st.booleans())
def test_documents_reader(data, gz):
    path = scratch("docs") / ("d.jsonl.gz" if gz else "d.jsonl")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    for reader in (read_documents, read_single_label):
        docs = run_reader(reader, path)
        if docs is not None:
            _check_docs(docs)
    labelled = run_reader(lambda p: read_documents(p, require_label=True), path)
    if labelled is not None:
        assert all(d.label is not None for d in labelled)


# --- word vectors: .vec text, word2vec binary, fastText .bin ------------------------------------------------------

VEC_SEEDS = [
    b"3 4\nhaus 0.1 0.2 0.3 0.4\n\xe3\x80\x80 1 2 3 4\nein haus -1e-3 2.5e3 0 1\n",
    b"\xef\xbb\xbf2 2\r\nx 1.5 -2\r\n\xc2\xa0 3 4\r\n",
    b"2 3\nhaus 1 2 3\nhaus 4 5 6\n",
    b"1000000000000 2\na 1 2\n",
]


def _w2v(words: list[bytes], dim: int, header: bytes | None = None) -> bytes:
    rng = np.random.default_rng(len(words))
    body = b"".join(w + b" " + rng.standard_normal(dim).astype("<f4").tobytes() + b"\n" for w in words)
    return (header or f"{len(words)} {dim}\n".encode()) + body


W2V_SEEDS = [_w2v([b"haus", b"\xe3\x80\x80", b"x"], 3), _w2v([b"a", b"b"], 2, b"1000000000000 2\n"),
             _w2v([b"dup", b"dup", b"z"], 4)]


def _check_vectors(result) -> None:
    assert result.vectors.dtype == np.float32 and result.vectors.ndim == 2
    assert len(result.words) == result.vectors.shape[0] == len(set(result.words))
    assert np.isfinite(result.vectors).all()


@FUZZ
@given(data=fuzz_bytes(VEC_SEEDS))
def test_vec_text_reader(data):
    path = scratch("vec") / "v.vec"
    path.write_bytes(data)
    for reader in (read_vec, read_vectors):
        result = run_reader(reader, path)
        if result is not None:
            _check_vectors(result)


@FUZZ
@given(data=fuzz_bytes([gzip.compress(s, mtime=0) for s in VEC_SEEDS] + VEC_SEEDS))
def test_vec_gzip_reader(data):
    path = scratch("vecgz") / "v.vec.gz"
    path.write_bytes(data)
    result = run_reader(read_vec, path)
    if result is not None:
        _check_vectors(result)
    other = scratch("vecgz") / "v.vec"  # gzip is recognised by content, not by name
    other.write_bytes(data)
    result = run_reader(read_vectors, other)
    if result is not None:
        _check_vectors(result)


@FUZZ
@given(data=fuzz_bytes(W2V_SEEDS + [gzip.compress(W2V_SEEDS[0], mtime=0)]))
def test_word2vec_binary_reader(data):
    path = scratch("w2v") / "v.bin"
    path.write_bytes(data)
    for reader in (read_word2vec_bin, read_vectors):
        result = run_reader(reader, path)
        if result is not None:
            _check_vectors(result)


@pytest.fixture(scope="module")
def fasttext_seed() -> bytes:
    fasttext = pytest.importorskip("fasttext")
    root = scratch("ft-seed")
    corpus = root / "corpus.txt"
    words = [f"w{i}" for i in range(12)] + ["häuser", "日本"]
    rng = np.random.default_rng(0)
    corpus.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(30)), encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), dim=3, bucket=20, epoch=1, minCount=1, thread=1, minn=2,
                                        maxn=3, verbose=0)
    model.save_model(str(root / "m.bin"))
    return (root / "m.bin").read_bytes()


@FUZZ
@given(data=st.data())
def test_fasttext_bin_reader(fasttext_seed, data):
    """Mutations go mostly into the header and dictionary (the first ~400 bytes): the C++ loader trusts them."""
    head, tail = fasttext_seed[:400], fasttext_seed[400:]
    blob = data.draw(st.one_of(mutated([head]).map(lambda h: h + tail), mutated([fasttext_seed]),
                               st.binary(max_size=64).map(lambda b: fasttext_seed[:8] + b)))
    path = scratch("ft") / "m.bin"
    path.write_bytes(blob)
    result = run_reader(read_fasttext_bin, path)
    if result is not None:
        _check_vectors(result)


# --- dictionaries -----------------------------------------------------------------------------------------------

DICT_SEEDS = [
    b"haus house\nHaus House\nnew york\tnueva york\n\xe3\x80\x80 x\n\r\n",
    b"\xef\xbb\xbfkatze\tcat\r\nhund dog\r\n\r\nbaum  tree extra\n",
    b"a b\n",
]


@FUZZ
@given(data=fuzz_bytes(DICT_SEEDS))
def test_dictionary_reader(data):
    path = scratch("dict") / "de-en.0-5000.txt"
    path.write_bytes(data)
    result = run_reader(read_dictionary, path)
    if result is not None:
        assert result.pairs and (result.src_lang, result.tgt_lang) == ("de", "en")
        for src, tgt in result.pairs:
            assert src and tgt and "\n" not in src + tgt and "\t" not in src + tgt


# --- parallel sentences: JSONL and Moses file pairs ---------------------------------------------------------------

PARALLEL_SEEDS = [
    b'{"src_lang": "de", "src": "das haus", "tgt_lang": "en", "tgt": "the house"}\n'
    b'{"src_lang": "fr", "src": "", "tgt_lang": "en", "tgt": "x"}\n\n',
    b'\xef\xbb\xbf{"src_lang": "de", "src": "a\\u3000b", "tgt_lang": "en", "tgt": "c"}\r\n',
]
MOSES_SEEDS = [b"das haus\nder baum\n", b"the house\r\nthe tree\r\n", b"\xef\xbb\xbfeins\n\nzwei\n"]


@FUZZ
@given(data=fuzz_bytes(PARALLEL_SEEDS))
def test_parallel_jsonl_reader(data):
    path = scratch("par") / "de-en.jsonl"
    path.write_bytes(data)
    pairs = run_reader(read_parallel, path)
    for pair in pairs or []:
        assert all(isinstance(x, str) for x in (pair.src_lang, pair.src, pair.tgt_lang, pair.tgt))


@FUZZ
@given(src=fuzz_bytes(MOSES_SEEDS), tgt=fuzz_bytes(MOSES_SEEDS))
def test_moses_pair_reader(src, tgt):
    folder = scratch("moses")
    (folder / "corpus.de").write_bytes(src)
    (folder / "corpus.en").write_bytes(tgt)
    pairs = run_reader(read_parallel, folder / "corpus.de-en", folder)
    for pair in pairs or []:
        assert (pair.src_lang, pair.tgt_lang) == ("de", "en")


# --- records on stdin -------------------------------------------------------------------------------------------

RECORD_SEEDS = [
    b'{"kind": "space", "schema": 1, "path": "runs/space", "sha256": "ab", "inputs": []}\n'
    b'{"kind": "metrics", "macro_f1": 0.5, "arch": "mlp"}\n\n',
    b'{"kind": "model", "path": "m", "tool": "cltc-train"}\r\n',
]


@FUZZ
@given(data=fuzz_bytes(RECORD_SEEDS))
def test_record_stream_reader(data):
    try:
        records = parse_records(data.splitlines())
    except InputError as err:
        check_located(err, Path("<stdin>"))
        event("InputError")
        return
    event("valid parse")
    assert all(isinstance(r, dict) and isinstance(r["kind"], str) for r in records)


# --- space directories ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def space_seed() -> Path:
    rng = np.random.default_rng(0)
    blocks = [LangBlock("en", ["house", "\u3000", "tree"], rng.standard_normal((3, 4)).astype(np.float32)),
              LangBlock("de", ["haus", "baum"], rng.standard_normal((2, 4)).astype(np.float32))]
    path = scratch("space-seed") / "space"
    if not path.exists():
        write_space(path, blocks, provenance=[{"tool": "test"}])
    return path


def _read_space(path: Path):
    space = open_space(path)
    for lang in space.langs:
        assert len(space.words(lang)) == len(space.lang_vectors(lang))
        space.index(lang)
    if len(space):
        np.asarray(space.vectors[-1])
    return space


@FUZZ
@given(data=st.data())
def test_space_reader(space_seed, data):
    """space.json (bytes or JSON values), words.txt or the .npy header of vectors.npy is damaged."""
    path = scratch("space") / "space"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(space_seed, path)
    target = data.draw(st.sampled_from(["space.json", "space.json", "space.json", "words.txt", "vectors.npy"]))
    original = (space_seed / target).read_bytes()
    if target == "space.json":
        blob = data.draw(st.one_of(mutated_json(orjson.loads(original)), mutated([original])))
    elif target == "words.txt":
        blob = data.draw(mutated([original]))
    else:
        blob = data.draw(mutated([original[:128]]).map(lambda h: h + original[128:]) | mutated([original]))
    (path / target).write_bytes(blob)
    run_reader(_read_space, path, path)


# --- model checkpoints ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_seed(tiny_world) -> Path:
    from cltc_tools.cli.train import app

    out = scratch("ckpt-seed")
    shutil.rmtree(out, ignore_errors=True)
    result = CliRunner().invoke(app, ["--arch", "mlp", "--space", str(tiny_world / "space"), "--data",
                                      str(tiny_world / "docs"), "--out", str(out), "--epochs", "1", "-q"])
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout.splitlines()[-1])["path"])


def _read_checkpoint(path: Path):
    ckpt = load_checkpoint(path)
    check_shapes(ckpt)
    Tokenizer.from_json(ckpt.config.get("tokenizer", {}))
    return ckpt


@FUZZ
@given(data=st.data())
def test_checkpoint_config_reader(checkpoint_seed, data):
    """config.json damaged (JSON values or bytes), or vocab.txt or the weights header."""
    path = scratch("ckpt") / "model"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(checkpoint_seed, path)
    target = data.draw(st.sampled_from(["config.json"] * 4 + ["vocab.txt", "weights.safetensors"]))
    original = (checkpoint_seed / target).read_bytes()
    if target == "config.json":
        blob = data.draw(st.one_of(mutated_json(orjson.loads(original)), mutated_json(orjson.loads(original)),
                                   mutated([original])))
    elif target == "vocab.txt":
        blob = data.draw(mutated([original]))
    else:
        size = int.from_bytes(original[:8], "little") + 8
        blob = data.draw(mutated([original[:size]]).map(lambda h: h + original[size:]) | mutated([original]))
    (path / target).write_bytes(blob)
    if run_reader(load_config, path, path) is not None:
        run_reader(_read_checkpoint, path, path)
