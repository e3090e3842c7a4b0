"""Documents JSONL, MUSE dictionaries, parallel sentences and the record stream."""

from __future__ import annotations

import gzip
import hashlib
import io

import orjson
import pytest

from cltc_tools import __version__
from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import langs_from_name, read_dictionary
from cltc_tools.io.documents import Document, document_to_json, load_documents, read_documents, read_single_label
from cltc_tools.io.parallel import SentencePair, read_moses, read_parallel, read_parallel_jsonl
from cltc_tools.io.records import (
    dumps,
    file_sha256,
    make_record,
    of_kind,
    parse_records,
    read_record_files,
    require_path,
    write_record,
)


def jsonl(path, *objects, raw: list[str] | None = None, newline: str = "\n"):
    lines = [orjson.dumps(o).decode() for o in objects] + (raw or [])
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


# --- documents ------------------------------------------------------------------------------------------

def test_documents_stream_lazily(tmp_path):
    path = jsonl(tmp_path / "d.jsonl",
                 {"id": "a", "lang": "de", "text": "Die Türkei", "label": "geo"},
                 {"lang": "en", "text": "no id", "label": "x"},
                 raw=["", "{not json"])
    stream = read_documents(path)
    first = next(stream)  # the bad line later in the file is not read yet
    assert first == Document("a", "de", "Die Türkei", "geo", {})
    second = next(stream)
    assert second.id == "2"  # line number when there is no id
    with pytest.raises(InputError) as info:
        next(stream)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: invalid JSON")


@pytest.mark.parametrize("obj, message", [
    ({"text": "t", "label": "x"}, "missing field 'lang'"),
    ({"lang": "de", "label": "x"}, "missing field 'text'"),
    ({"lang": 3, "text": "t"}, "'lang' must be a string"),
    ({"lang": " ", "text": "t"}, "'lang' is empty"),
    ({"lang": "de", "text": "t", "id": [1]}, "'id'"),
    ({"lang": "de", "text": "t", "label": 5}, "'label'"),
    ({"lang": "de", "text": "t", "label": []}, "'label'"),
])
def test_bad_documents_name_file_and_line(tmp_path, obj, message):
    path = jsonl(tmp_path / "d.jsonl", {"lang": "de", "text": "ok", "label": "x"}, obj)
    with pytest.raises(InputError, match=message) as info:
        list(read_documents(path))
    assert str(info.value).startswith(f"{path}:2: ")


def test_non_object_line(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", raw=['["lang", "text"]'])
    with pytest.raises(InputError, match="expected a JSON object, found list"):
        list(read_documents(path))


def test_missing_label_only_when_required(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", {"lang": "de", "text": "unlabelled"})
    assert next(read_documents(path)).label is None
    with pytest.raises(InputError, match="missing field 'label'") as info:
        list(read_documents(path, require_label=True))
    assert info.value.line == 1
    with pytest.raises(InputError, match="missing field 'label'"):
        list(read_single_label(path))


def test_multi_label_rejected_in_single_label_reading(tmp_path):
    path = jsonl(tmp_path / "d.jsonl",
                 {"lang": "de", "text": "a", "label": ["x"]},
                 {"lang": "de", "text": "b", "label": ["x", "y"]})
    assert next(read_documents(path)).label == ["x"]
    assert [d.label for d in read_documents(path)] == [["x"], ["x", "y"]]
    single = read_single_label(path)
    assert next(single).label == "x"  # a one-element list is a single label
    with pytest.raises(InputError, match="multi-label document") as info:
        next(single)
    assert info.value.line == 2


def test_bom_crlf_gzip_accepted(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", {"lang": "de", "text": "über", "label": "x"},
                 {"lang": "en", "text": "b", "label": "y"}, newline="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    docs = list(read_documents(path))
    assert [(d.lang, d.text) for d in docs] == [("de", "über"), ("en", "b")]
    packed = tmp_path / "d.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert list(read_documents(packed)) == docs


def test_unknown_fields_kept_and_written_back(tmp_path):
    obj = {"id": 7, "lang": "de", "text": "t", "label": "x", "source": "eltec", "meta": {"year": 1900}}
    path = jsonl(tmp_path / "d.jsonl", obj)
    doc = next(read_documents(path))
    assert doc.id == "7"
    assert doc.extra == {"source": "eltec", "meta": {"year": 1900}}
    assert document_to_json(doc) == {**obj, "id": "7"}


def test_load_documents_filters_languages(tmp_path):
    a = jsonl(tmp_path / "a.jsonl", {"lang": "de", "text": "a", "label": "x"},
              {"lang": "en", "text": "b", "label": "y"})
    b = jsonl(tmp_path / "b.jsonl", {"lang": "fr", "text": "c", "label": ["z"]})
    assert [d.lang for d in load_documents([a, b])] == ["de", "en", "fr"]
    assert [d.text for d in load_documents([a, b], langs=["fr", "de"])] == ["a", "c"]


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(read_documents(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="is a directory"):
        list(read_documents(tmp_path))
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"lang": "de", "text": "ok"}\n{"lang": "de", "text": "M\xfcll"}\n')
    with pytest.raises(InputError, match="not UTF-8") as info:
        list(read_documents(bad))
    assert info.value.line == 2


# --- dictionaries ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, langs", [
    ("de-en.0-5000.txt", ("de", "en")),
    ("de-en.5000-6500.txt", ("de", "en")),
    ("fr-it.txt", ("fr", "it")),
    ("en-de", ("en", "de")),
    ("dict.txt", None),
    ("train-de.txt", None),
])
def test_langs_from_muse_names(name, langs):
    assert langs_from_name(f"some/dir/{name}") == langs


def test_dictionary_space_and_tab_separated(tmp_path):
    path = tmp_path / "de-en.0-5000.txt"
    path.write_text("haus house\nkatze\tcat\n\nHund  Dog\nhaus home\n", encoding="utf-8")
    d = read_dictionary(path)
    assert (d.src_lang, d.tgt_lang) == ("de", "en")
    assert d.pairs == [("haus", "house"), ("katze", "cat"), ("Hund", "Dog"), ("haus", "home")]
    assert d.malformed == 0
    assert d.path == str(path)
    assert read_dictionary(path, lowercase=True).pairs[2] == ("hund", "dog")


def test_dictionary_malformed_lines_counted_and_skipped(tmp_path):
    path = tmp_path / "de-en.txt"
    path.write_text("haus house\nonly\nthree words here\nkatze cat\n", encoding="utf-8")
    d = read_dictionary(path)
    assert d.pairs == [("haus", "house"), ("katze", "cat")]
    assert d.malformed == 2


def test_dictionary_languages_from_flags(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("a b\n")
    with pytest.raises(InputError, match="cannot tell the languages"):
        read_dictionary(path)
    d = read_dictionary(path, "fr", "en")
    assert (d.src_lang, d.tgt_lang) == ("fr", "en")
    named = tmp_path / "de-en.txt"
    named.write_text("a b\n")
    assert read_dictionary(named, src_lang="nl").src_lang == "nl"  # flags win over the name
    assert read_dictionary(named, src_lang="nl").tgt_lang == "en"


def test_empty_dictionary_is_input_error(tmp_path):
    path = tmp_path / "de-en.txt"
    path.write_text("\n\nonly-one-field\n")
    with pytest.raises(InputError, match="no dictionary pairs"):
        read_dictionary(path)


# --- parallel sentences ---------------------------------------------------------------------------------

PAIRS = [{"src_lang": "de", "src": "Guten Tag", "tgt_lang": "en", "tgt": "Good day"},
         {"src_lang": "de", "src": "Haus", "tgt_lang": "en", "tgt": "house", "extra": 1}]


def test_parallel_jsonl_plain_and_gzip(tmp_path):
    plain = jsonl(tmp_path / "p.jsonl", *PAIRS)
    expected = [SentencePair("de", "Guten Tag", "en", "Good day"), SentencePair("de", "Haus", "en", "house")]
    assert list(read_parallel_jsonl(plain)) == expected
    packed = tmp_path / "p.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(read_parallel(packed)) == expected
    assert list(read_parallel(packed, max_pairs=1)) == expected[:1]


def test_parallel_jsonl_missing_field(tmp_path):
    path = jsonl(tmp_path / "p.jsonl", PAIRS[0], {"src_lang": "de", "src": "x", "tgt_lang": "en"})
    with pytest.raises(InputError, match="'tgt'") as info:
        list(read_parallel(path))
    assert info.value.line == 2


def test_moses_pairs(tmp_path):
    (tmp_path / "corpus.de").write_text("Guten Tag\nHaus\n", encoding="utf-8")
    (tmp_path / "corpus.en").write_text("Good day\nhouse\n", encoding="utf-8")
    expected = [SentencePair("de", "Guten Tag", "en", "Good day"), SentencePair("de", "Haus", "en", "house")]
    assert list(read_moses(tmp_path / "corpus.de", tmp_path / "corpus.en", "de", "en")) == expected
    assert list(read_parallel(tmp_path / "corpus.de-en")) == expected
    reverse = list(read_parallel(tmp_path / "corpus.en-de"))
    assert reverse[0] == SentencePair("en", "Good day", "de", "Guten Tag")


def test_moses_files_of_different_length(tmp_path):
    (tmp_path / "c.de").write_text("a\nb\nc\n")
    (tmp_path / "c.en").write_text("a\nb\n")
    with pytest.raises(InputError, match="has more lines than") as info:
        list(read_parallel(tmp_path / "c.de-en"))
    assert info.value.path == str(tmp_path / "c.de") and info.value.line == 3


# --- records --------------------------------------------------------------------------------------------

def test_make_record_order_and_no_timestamp():
    record = make_record("space", "cltc-test", path="p", sha256="s", langs=["de"])
    assert list(record) == ["kind", "schema", "path", "sha256", "langs", "tool", "version"]
    assert record["version"] == __version__ and record["schema"] == 1
    assert dumps(record) == dumps(make_record("space", "cltc-test", path="p", sha256="s", langs=["de"]))
    assert dumps(record).endswith(b"}\n") and dumps(record).count(b"\n") == 1
    with pytest.raises(ValueError, match="unknown record kind"):
        make_record("spaceship", "cltc-test")


def test_parse_records_and_pass_through_unchanged():
    lines = [b'{"kind":"space","path":"a","x":  1}', b"", b'{"kind":"model","path":"m"}\r']
    records = parse_records(lines)
    assert [r["kind"] for r in records] == ["space", "model"]
    assert of_kind(records, "model") == [{"kind": "model", "path": "m"}]
    assert require_path(records[0]).name == "a"
    with pytest.raises(InputError, match="without a 'path'"):
        require_path({"kind": "metrics"})


@pytest.mark.parametrize("line, message", [
    ("{broken", "invalid JSON record"),
    ("[1, 2]", "not a record"),
    ('{"no": "kind"}', "not a record"),
    ('{"kind": 3}', "not a record"),
])
def test_parse_records_errors_name_the_line(line, message):
    with pytest.raises(InputError, match=message) as info:
        parse_records(['{"kind": "space"}', line], source="<stdin>")
    assert str(info.value).startswith("<stdin>:2: ")


def test_record_files_and_write(tmp_path):
    out = io.BytesIO()
    write_record(make_record("metrics", "t", n=3), out)
    write_record(make_record("model", "t", path="m"), out)
    path = tmp_path / "run.jsonl"
    path.write_bytes(out.getvalue())
    packed = tmp_path / "run.jsonl.gz"
    packed.write_bytes(gzip.compress(out.getvalue()))
    records = read_record_files([path, packed])
    assert [r["kind"] for r in records] == ["metrics", "model", "metrics", "model"]
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
