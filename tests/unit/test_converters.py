"""Converters to documents JSONL on real-format samples (tests/fixtures), their errors, and the atomic writer."""

from __future__ import annotations

import zipfile
from pathlib import Path

import orjson
import pytest

from cltc_tools.datasets import CONVERTERS, RcvStats, read_mldoc, read_rcv, read_sib200, read_table, read_xlmt
from cltc_tools.datasets.common import (
    dataset_sha256,
    lang_from_name,
    parse_assignments,
    source_sha256,
    split_from_name,
    write_documents,
)
from cltc_tools.datasets.rcv import rcv_sources
from cltc_tools.datasets.textformats import TableColumns, parse_delimiter, repair_nested_quotes
from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.documents import Document, read_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RCV1 = FIXTURES / "rcv" / "rcv1"
RCV_ZIP = FIXTURES / "rcv" / "rcv2-german-19970305.zip"
MLDOC = FIXTURES / "mldoc" / "english.train.5"
SIB = FIXTURES / "sib200" / "deu_Latn" / "train.tsv"
XLMT_TEXT = FIXTURES / "xlmt" / "german" / "train_text.txt"
XLMT_LABELS = FIXTURES / "xlmt" / "german" / "train_labels.txt"
CSV = FIXTURES / "tsv" / "reviews.csv"


def _newsitem(itemid: str = "1", topics: tuple[str, ...] = ("GCAT",), lang: str | None = "en",
              body: str = "<p>Some text.</p>") -> bytes:
    codes = "".join(f'<code code="{c}"/>' for c in topics)
    lang_attr = f' xml:lang="{lang}"' if lang else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<newsitem itemid="{itemid}"{lang_attr}>'
            f"<title>T {itemid}</title><text>{body}</text>"
            f'<metadata><codes class="bip:topics:1.0">{codes}</codes></metadata></newsitem>\n').encode()


def _error(excinfo: pytest.ExceptionInfo[InputError]) -> str:
    return excinfo.value.render()


# --------------------------------------------------------------------------------------------------
# RCV


def test_rcv_klementiev_rule_on_files_and_zip():
    stats = RcvStats()
    docs = list(read_rcv([RCV1, RCV_ZIP], stats=stats))
    assert [(d.id, d.lang, d.label) for d in docs] == [
        ("2286", "en", "ECAT"), ("2289", "en", "MCAT"), ("15000", "de", "CCAT"), ("15001", "de", "GCAT")]
    assert stats.read == 7 and stats.kept == 4
    assert stats.dropped == {"several-top-topics": 2, "no-top-topic": 1}
    first = docs[0].text.split("\n")
    assert first[0] == "ATLANTIS: Widget prices climb for a third month.", "the title comes first"
    assert first[2] == 'Analysts had expected a rise of 0.3 percent & said the "core" rate was steady.'
    assert len(first) == 3, "title + one line per paragraph"
    assert "Müller AG" in docs[2].text and "Überschuss" in docs[2].text, "ISO-8859-1 decoded"
    assert "Straßen" in docs[3].text, "UTF-8 decoded"


def test_rcv_lang_option_overrides_xml_lang_and_single_file_input():
    docs = list(read_rcv([RCV1 / "19960820" / "2286newsML.xml"], lang="fr"))
    assert [(d.id, d.lang) for d in docs] == [("2286", "fr")]


def test_rcv_sources_name_zip_members():
    names = [s.name for s in rcv_sources([RCV_ZIP])]
    assert names == [f"{RCV_ZIP}/19970305/{n}newsML.xml" for n in (15000, 15001, 15002)]


def test_rcv_bad_xml_names_file_and_line():
    bad = FIXTURES / "rcv" / "bad" / "3000newsML.xml"
    with pytest.raises(InputError) as excinfo:
        list(read_rcv([bad]))
    assert _error(excinfo) == f"{bad}:8: invalid XML (mismatched tag)"


def test_rcv_bad_member_of_zip(tmp_path):
    archive = tmp_path / "day.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("day/1newsML.xml", _newsitem("1"))
        z.writestr("day/2newsML.xml", b"<newsitem itemid='2'><title>x</newsitem>")
    with pytest.raises(InputError) as excinfo:
        list(read_rcv([archive]))
    assert _error(excinfo).startswith(f"{archive}/day/2newsML.xml:1: invalid XML")


@pytest.mark.parametrize("data, problem", [
    (b"<html><body/></html>", "not a Reuters newsitem (root element <html>)"),
    (b'<newsitem xml:lang="en"><title>x</title></newsitem>', "newsitem without an itemid attribute"),
    (_newsitem(lang=None), "newsitem without xml:lang: give --lang"),
    (_newsitem(lang="e n"), "not a language code: 'e n'"),
])
def test_rcv_malformed_items(tmp_path, data, problem):
    path = tmp_path / "x.xml"
    path.write_bytes(data)
    with pytest.raises(InputError) as excinfo:
        list(read_rcv([path]))
    assert problem in _error(excinfo) and str(path) in _error(excinfo)


def test_rcv_not_a_zip_and_missing_input(tmp_path):
    fake = tmp_path / "day.zip"
    fake.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip file"):
        list(read_rcv([fake]))
    with pytest.raises(InputError, match="no such file or folder"):
        list(read_rcv([tmp_path / "missing"]))


def test_rcv_repeated_itemid_and_empty_text_are_dropped(tmp_path):
    (tmp_path / "a.xml").write_bytes(_newsitem("7"))
    (tmp_path / "b.xml").write_bytes(_newsitem("7"))
    (tmp_path / "c.xml").write_bytes(_newsitem("8", body=""))
    stats = RcvStats()
    docs = list(read_rcv([tmp_path], stats=stats))
    assert [d.id for d in docs] == ["7", "8"], "a title alone is text"
    assert stats.dropped == {"repeated-itemid": 1}
    (tmp_path / "d.xml").write_bytes(_newsitem("9", body="").replace(b"<title>T 9</title>", b"<title/>"))
    stats = RcvStats()
    list(read_rcv([tmp_path / "d.xml"], stats=stats))
    assert stats.dropped == {"no-text": 1}


def test_rcv_no_kept_document_is_an_error_and_writes_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_bytes(_newsitem("1", topics=("CCAT", "ECAT")))
    stats = RcvStats()
    out = tmp_path / "out"
    with pytest.raises(InputError) as excinfo:
        write_documents(read_rcv([tmp_path / "in"], stats=stats), out, "train", empty_reason=stats.why_empty)
    assert "no document has exactly one of the topics CCAT, ECAT, GCAT, MCAT" in _error(excinfo)
    assert "1 with several top-level topics" in _error(excinfo)
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    stats = RcvStats()
    with pytest.raises(InputError, match="no newsitem XML"):
        write_documents(read_rcv([empty], stats=stats), out, "train", empty_reason=stats.why_empty)


# --------------------------------------------------------------------------------------------------
# MLDoc


def test_mldoc_bytes_literals_and_plain_text():
    docs = list(read_mldoc(MLDOC, "en", "train"))
    assert [d.label for d in docs] == ["CCAT", "ECAT", "GCAT", "MCAT", "CCAT"]
    assert [d.id for d in docs] == ["en-train-0", "en-train-1", "en-train-3", "en-train-4", "en-train-5"]
    assert docs[1].text == "Atlantis' inflation rate rose to 2.1 percent, the central bank's report said."
    assert docs[2].text == 'The minister said: "We\'ll see." Talks continue on Friday.', "escaped quotes"
    assert docs[3].text == "Gold fell to \u20ac300 an ounce in Z\u00fcrich trading.", "\\xNN escapes are UTF-8"
    assert docs[4].text == 'Plain text from an older run: Z\u00fcrich-based "Widget AG" cut jobs.'


@pytest.mark.parametrize("line, problem", [
    ("CCAT only a label and no tab", "expected LABEL<TAB>TEXT, found no tab"),
    ("XCAT\tsome text", "unknown MLDoc label 'XCAT' (expected CCAT, ECAT, GCAT, MCAT)"),
    ("ECAT\tb'unterminated \\' literal'x'", "malformed bytes literal"),
    ("ECAT\tb'\\xff\\xfe'", "the text's bytes literal is not UTF-8"),
    ("GCAT\t   ", "empty text"),
])
def test_mldoc_errors(tmp_path, line, problem):
    path = tmp_path / "english.dev"
    path.write_text("CCAT\tfine\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_mldoc(path, "en", "dev"))
    assert _error(excinfo).startswith(f"{path}:2: {problem}")


# --------------------------------------------------------------------------------------------------
# SIB-200


def test_sib200_quoting_and_repair():
    docs = list(read_sib200(SIB, "de", "train"))
    assert [d.id for d in docs] == [f"de-train-{i}" for i in range(101, 107)]
    assert docs[1].text == 'Der Fluss ist 300 km lang; man nennt ihn "den Langen".'
    assert docs[2].text == 'Der Senator sagte, das Urteil sei "geltendes Recht des Landes" und bleibe.'
    assert docs[4].text == "Ein Arzt empfahl\tviel Wasser, sagte die Klinik.", "a tab inside quotes"
    assert [d.label for d in docs].count("science/technology") == 2
    raw = list(read_sib200(SIB, "de", "train", repair_quotes=False))
    assert raw[2].text == '"Der Senator sagte, das Urteil sei ""geltendes Recht des Landes"" und bleibe."'
    assert raw[1].text == docs[1].text


def test_repair_nested_quotes_rule():
    assert repair_nested_quotes('"a ""b"" c"') == 'a "b" c'
    assert repair_nested_quotes('"a b"') == '"a b"', "no doubled quote inside: left alone"
    assert repair_nested_quotes('"a ""b"" "c"') == '"a ""b"" "c"', "a single quote inside: left alone"
    assert repair_nested_quotes('a ""b""') == 'a ""b""'


@pytest.mark.parametrize("content, line, problem", [
    ("id\tcategory\ttext\n1\thealth\tx\n", 1, "expected the header index_id<TAB>category<TAB>text"),
    ("index_id\tcategory\ttext\n1\thealth\tx\n2\thealth\n", 3, "expected 3 tab-separated fields, found 2"),
    ("index_id\tcategory\ttext\n1\thealth\tx\n1\thealth\ty\n", 3, "index_id 1 repeated"),
    ("index_id\tcategory\ttext\n1\thealth\tx\n2\t\ty\n", 3, "empty category"),
    ('index_id\tcategory\ttext\n1\thealth\tx\n2\thealth\t"open\n3\thealth\tz\n', 3, "malformed CSV"),
    ('index_id\tcategory\ttext\n1\thealth\t"x"y\n', 2, "malformed CSV"),
])
def test_sib200_errors(tmp_path, content, line, problem):
    path = tmp_path / "train.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_sib200(path, "de", "train"))
    assert _error(excinfo).startswith(f"{path}:{line}: {problem}")


def test_sib200_header_only_gives_no_document(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("index_id\tcategory\ttext\n", encoding="utf-8")
    assert list(read_sib200(path, "de", "dev")) == []
    empty = tmp_path / "test.tsv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty file"):
        list(read_sib200(empty, "de", "test"))


# --------------------------------------------------------------------------------------------------
# xlm-t


def test_xlmt_pairs():
    docs = list(read_xlmt(XLMT_TEXT, XLMT_LABELS, "de", "train"))
    assert [(d.id, d.label) for d in docs] == [
        ("de-train-0", "negative"), ("de-train-1", "neutral"), ("de-train-2", "positive"),
        ("de-train-3", "positive"), ("de-train-4", "negative")]
    assert docs[1].text == "Heute ist Montag.", "surrounding white space stripped"
    assert docs[4].text.endswith("&amp; keiner sagt was"), "no other change"
    named = list(read_xlmt(XLMT_TEXT, XLMT_LABELS, "de", "train", ["neg", "neu", "pos"]))
    assert [d.label for d in named] == ["neg", "neu", "pos", "pos", "neg"]


def test_xlmt_label_file_shorter_or_longer(tmp_path):
    text, labels = tmp_path / "t.txt", tmp_path / "l.txt"
    text.write_text("a\nb\nc\n", encoding="utf-8")
    labels.write_text("0\n1\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_xlmt(text, labels, "en", "train"))
    assert _error(excinfo).startswith(f"{labels}:3: label file ends here")
    labels.write_text("0\n1\n2\n0\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_xlmt(text, labels, "en", "train"))
    assert _error(excinfo).startswith(f"{labels}:4: more labels than the 3 lines of {text}")


@pytest.mark.parametrize("labels, where, problem", [
    ("0\nx\n", "labels:2", "expected a label id 0..2, found 'x'"),
    ("0\n3\n", "labels:2", "label id 3 out of range 0..2"),
])
def test_xlmt_bad_labels(tmp_path, labels, where, problem):
    text, label_file = tmp_path / "text", tmp_path / "labels"
    text.write_text("a\nb\n", encoding="utf-8")
    label_file.write_text(labels, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_xlmt(text, label_file, "en", "train"))
    assert _error(excinfo).startswith(f"{tmp_path / where}: {problem}")


def test_xlmt_empty_text_and_u_escapes(tmp_path):
    text, labels = tmp_path / "text", tmp_path / "labels"
    text.write_text("it\\u2019s fine\\u002c really \n", encoding="utf-8")
    labels.write_text("2\n", encoding="utf-8")
    assert [d.text for d in read_xlmt(text, labels, "en", "dev")] == ["it\\u2019s fine\\u002c really"]
    assert [d.text for d in read_xlmt(text, labels, "en", "dev", u_escapes=True)] == ["it\u2019s fine, really"]
    text.write_text("ok\n  \n", encoding="utf-8")
    labels.write_text("1\n1\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{text}:2: empty text"):
        list(read_xlmt(text, labels, "en", "dev"))


# --------------------------------------------------------------------------------------------------
# Generic TSV/CSV


def test_csv_with_header_and_quoted_commas():
    docs = list(read_table(CSV, "en", "train", TableColumns(text="review", label="stars", id="review_id")))
    assert [d.id for d in docs] == ["r1", "r2", "r3", "r4", "r5"]
    assert docs[0].text == "Great kettle, boils fast, looks good."
    assert docs[1].text == 'It broke after a week; the "warranty" was useless.'
    assert docs[3].text == "Two lines:\nfirst, then second."
    assert [d.label for d in docs] == ["5", "1", "3", "5", "1"]
    by_number = list(read_table(CSV, "en", "train", TableColumns(text="3", label="2")))
    assert [d.text for d in by_number] == [d.text for d in docs]
    assert [d.id for d in by_number] == [f"en-train-{i}" for i in range(5)]
    by_lang = list(read_table(CSV, None, "train", TableColumns(text="review", lang="country")))
    assert [d.lang for d in by_lang] == ["gb", "ie", "gb", "us", "us"] and by_lang[0].label is None


def test_tsv_defaults_and_no_header(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("id\tlang\ttext\tlabel\n7\tde\tHallo Welt\tgreeting\n8\tfr\tBonjour\tgreeting\n", encoding="utf-8")
    docs = list(read_table(path, None, "test"))
    assert [(d.id, d.lang, d.text, d.label) for d in docs] == [
        ("7", "de", "Hallo Welt", "greeting"), ("8", "fr", "Bonjour", "greeting")]
    plain = tmp_path / "plain.txt"
    plain.write_text("pos\tgood film\nneg\tbad film\n", encoding="utf-8")
    docs = list(read_table(plain, "en", "train", TableColumns(text="2", label="1"), header=False))
    assert [(d.label, d.text) for d in docs] == [("pos", "good film"), ("neg", "bad film")]
    with pytest.raises(InputError, match="--text-col is required for a file without a header"):
        list(read_table(plain, "en", "train", header=False))
    with pytest.raises(InputError, match="a column name needs a header"):
        list(read_table(plain, "en", "train", TableColumns(text="text"), header=False))


@pytest.mark.parametrize("content, columns, problem", [
    ("text,label\na,b\nc,d,e\n", TableColumns(), "3: expected 2 fields (as in the header), found 3"),
    ("text,label\na,b\n,d\n", TableColumns(), "3: empty text"),
    ("text,label\na,b\nc,\n", TableColumns(), "3: empty label"),
    ("text,label\na,b\n", TableColumns(label="stars"), "1: --label-col: no column 'stars' in the header"),
    ("text,label\na,b\n", TableColumns(text="5"), "1: --text-col 5: the header has 2 columns"),
    ("body,label\na,b\n", TableColumns(), "no 'text' column in the header: give --text-col"),
    ('text,label\n"a,b\n', TableColumns(), "2: malformed CSV"),
])
def test_csv_errors(tmp_path, content, columns, problem):
    path = tmp_path / "x.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        list(read_table(path, "en", "train", columns))
    assert problem in _error(excinfo) and _error(excinfo).startswith(str(path))


def test_csv_needs_a_language(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(InputError, match="give --lang or --lang-col"):
        list(read_table(path, None, "train"))


def test_parse_delimiter():
    assert parse_delimiter(None, Path("a.csv")) == "," and parse_delimiter(None, Path("a.csv.gz")) == ","
    assert parse_delimiter(None, Path("a.tsv")) == "\t" and parse_delimiter(None, Path("a.txt")) == "\t"
    assert parse_delimiter("\\t", Path("a.csv")) == "\t" and parse_delimiter("tab", Path("a")) == "\t"
    assert parse_delimiter(";", Path("a")) == ";"
    with pytest.raises(InputError):
        parse_delimiter("ab", Path("a"))


# --------------------------------------------------------------------------------------------------
# Names, registry, writer


def test_names_from_files():
    assert lang_from_name(MLDOC) == "en" and split_from_name(MLDOC) == "train"
    assert lang_from_name(SIB) == "de" and split_from_name(SIB) == "train"
    assert lang_from_name(XLMT_TEXT) == "de" and split_from_name(Path("val_text.txt")) == "dev"
    assert lang_from_name(Path("spanish-latam.dev")) == "es"
    assert lang_from_name(Path("notes.txt")) is None and split_from_name(Path("notes.txt")) is None
    assert parse_assignments("en=418_566, de=50387", "--cap") == {"en": 418566, "de": 50387}
    for bad in ("en", "en=x", "en=0", "en=1,en=2"):
        with pytest.raises(InputError, match="--cap"):
            parse_assignments(bad, "--cap")


def test_registry():
    assert CONVERTERS.names() == ["mldoc", "rcv", "sib200", "tsv", "xlmt"]
    assert CONVERTERS.get("sib200").read is read_sib200
    with pytest.raises(InputError, match="unknown converter 'x'"):
        CONVERTERS.get("x")


def _docs(lang: str, n: int) -> list[Document]:
    return [Document(f"{lang}-{i}", lang, f"text {i} ü", "a" if i % 2 else "b") for i in range(n)]


def test_writer_folder_merges_and_refuses_without_force(tmp_path):
    out = tmp_path / "data"
    first = write_documents(_docs("en", 3), out, "train")
    assert first.counts == {"en": {"train": 3}} and first.labels == ["a", "b"]
    assert first.sha256 == dataset_sha256(out)
    line = (out / "en" / "train.jsonl").read_bytes().splitlines()[0]
    assert line == '{"id":"en-0","lang":"en","text":"text 0 ü","label":"b"}'.encode(), "UTF-8, not \\u escapes"
    write_documents(_docs("de", 2), out, "train")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jsonl")) == ["de/train.jsonl", "en/train.jsonl"]
    before = (out / "en" / "train.jsonl").read_bytes()
    with pytest.raises(OutputExistsError):
        write_documents(_docs("en", 5) + _docs("it", 1), out, "train")
    assert (out / "en" / "train.jsonl").read_bytes() == before
    assert not (out / "it").exists(), "nothing written when refused"
    write_documents(_docs("en", 5), out, "train", force=True)
    assert len(list(read_documents(out / "en" / "train.jsonl"))) == 5
    assert not [p for p in tmp_path.rglob(".*tmp*")], "no temporary file left"


def test_writer_failure_leaves_nothing(tmp_path):
    def broken():
        yield from _docs("en", 2)
        raise InputError("boom", "in.txt", 3)

    out = tmp_path / "deep" / "data"
    with pytest.raises(InputError, match="in.txt:3: boom"):
        write_documents(broken(), out, "train")
    assert not (tmp_path / "deep").exists()
    single = tmp_path / "one.jsonl"
    with pytest.raises(InputError):
        write_documents(broken(), single, "train")
    assert list(tmp_path.iterdir()) == []


def test_writer_single_file(tmp_path):
    out = tmp_path / "all.jsonl"
    summary = write_documents(_docs("en", 2) + _docs("de", 1), out, "dev")
    assert summary.counts == {"de": {"dev": 1}, "en": {"dev": 2}}
    assert summary.sha256 == source_sha256(out)
    assert [orjson.loads(x)["lang"] for x in out.read_bytes().splitlines()] == ["en", "en", "de"]
    with pytest.raises(InputError, match="compressed output"):
        write_documents(_docs("en", 1), tmp_path / "x.jsonl.gz", "dev")
