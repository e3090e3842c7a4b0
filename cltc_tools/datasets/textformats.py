"""Line-based sources -> documents: MLDoc, SIB-200 TSV, xlm-t text and label files, generic TSV/CSV.

Every reader streams :class:`~cltc_tools.io.documents.Document` objects and raises ``InputError`` naming the
file and line of the first malformed line. Ids follow the shared data sets: ``<lang>-<split>-<n>`` with ``n``
the 0-based line (or row) number in the source, or the source's own id where it has one (SIB-200 ``index_id``).
"""

from __future__ import annotations

import ast
import csv
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cltc_tools.datasets.common import check_lang
from cltc_tools.datasets.rcv import TOP_TOPICS
from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document
from cltc_tools.io.textfile import iter_lines

MLDOC_LABELS = TOP_TOPICS
SIB200_HEADER = ("index_id", "category", "text")
XLMT_LABELS = ("negative", "neutral", "positive")

_BYTES_LITERAL = re.compile(r"""^b(['"]).*\1$""", re.DOTALL)
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, expected a file", path)


# --------------------------------------------------------------------------------------------------
# MLDoc


def mldoc_text(raw: str, path: Path, line_no: int) -> str:
    """The text of an MLDoc line: MLDoc's generator wrote Python bytes literals (``b'...'``, with escaped
    quotes and ``\\xNN`` escapes); those are decoded, other text is taken as it is."""
    raw = raw.strip()
    if _BYTES_LITERAL.match(raw):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, RecursionError, MemoryError):  # a deep expression exhausts the parser
            raise InputError("malformed bytes literal b'...' in the text", path, line_no) from None
        if not isinstance(value, bytes):  # pragma: no cover - the pattern only matches bytes literals
            raise InputError("malformed bytes literal b'...' in the text", path, line_no)
        try:
            raw = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the text's bytes literal is not UTF-8", path, line_no) from None
    return raw.strip()


def read_mldoc(path: str | Path, lang: str, split: str, labels: Sequence[str] = MLDOC_LABELS) -> Iterator[Document]:
    """``LABEL<TAB>TEXT`` lines (MLDoc's ``generate_documents.py`` output); blank lines are skipped."""
    path = Path(path)
    _check_file(path)
    check_lang(lang)
    known = set(labels)
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        label, sep, raw = line.partition("\t")
        label = label.strip()
        if not sep:
            raise InputError("expected LABEL<TAB>TEXT, found no tab", path, line_no)
        if label not in known:
            raise InputError(f"unknown MLDoc label {label!r} (expected {', '.join(labels)})", path, line_no)
        text = mldoc_text(raw, path, line_no)
        if not text:
            raise InputError("empty text", path, line_no)
        yield Document(f"{lang}-{split}-{line_no - 1}", lang, text, label)


# --------------------------------------------------------------------------------------------------
# CSV/TSV


def _raise_field_limit() -> None:
    limit = min(sys.maxsize, 2**31 - 1)
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


class _Lines:
    """Feed the lines of a text file to the csv module and remember where the current record started."""

    def __init__(self, path: Path):
        self._lines = iter_lines(path)
        self.line_no = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        self.line_no, line = next(self._lines)
        return line + "\n"


def csv_rows(path: Path, delimiter: str, quoting: bool = True) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields) for every non-blank row of a CSV/TSV file."""
    _raise_field_limit()
    lines = _Lines(path)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True,
                        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InputError(f"malformed CSV ({err})", path, start) from None
        if row and any(cell.strip() for cell in row):
            yield start, row
        start = lines.line_no + 1


def repair_nested_quotes(text: str) -> str:
    """SIB-200's doubly CSV-quoted sentences: ``"... ""x"" ..."`` -> ``... "x" ...`` (rule of the shared README:
    starts and ends with a quote, its interior holds ``""`` and no other quote)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        if '""' in inner and '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return text


def read_sib200(path: str | Path, lang: str, split: str, repair_quotes: bool = True) -> Iterator[Document]:
    """SIB-200 ``data/annotated/<code>/<split>.tsv``: header ``index_id<TAB>category<TAB>text``."""
    path = Path(path)
    _check_file(path)
    check_lang(lang)
    rows = csv_rows(path, "\t")
    first = next(rows, None)
    if first is None:
        raise InputError("empty file (expected the header index_id<TAB>category<TAB>text)", path)
    line_no, header = first
    if tuple(h.strip() for h in header) != SIB200_HEADER:
        raise InputError(f"expected the header {'<TAB>'.join(SIB200_HEADER)}, found {'<TAB>'.join(header)!r}",
                         path, line_no)
    seen: set[str] = set()
    for line_no, row in rows:
        if len(row) != 3:
            raise InputError(f"expected 3 tab-separated fields, found {len(row)}", path, line_no)
        index_id, category, text = (cell.strip() for cell in row)
        if not index_id:
            raise InputError("empty index_id", path, line_no)
        if index_id in seen:
            raise InputError(f"index_id {index_id} repeated", path, line_no)
        seen.add(index_id)
        if not category:
            raise InputError("empty category", path, line_no)
        if repair_quotes:
            text = repair_nested_quotes(text)
        if not text:
            raise InputError("empty text", path, line_no)
        yield Document(f"{lang}-{split}-{index_id}", lang, text, category)


# --------------------------------------------------------------------------------------------------
# xlm-t


def decode_u_escapes(text: str) -> str:
    """Literal ``\\uXXXX`` sequences -> the character (the English xlm-t tweets carry some)."""
    return _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def read_xlmt(
    text_path: str | Path, label_path: str | Path, lang: str, split: str,
    label_names: Sequence[str] = XLMT_LABELS, u_escapes: bool = False,
) -> Iterator[Document]:
    """cardiffnlp/xlm-t ``<split>_text.txt`` + ``<split>_labels.txt``: line i of one is the label of line i of
    the other; label ids 0..k-1 name ``label_names``. Surrounding white space is stripped from the text."""
    text_path, label_path = Path(text_path), Path(label_path)
    _check_file(text_path)
    _check_file(label_path)
    check_lang(lang)
    names = list(label_names)
    if not names or len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise InputError("--label-names: expected distinct, non-empty names")
    texts = iter_lines(text_path)
    labels = iter_lines(label_path)
    n = 0
    while True:
        text_item = next(texts, None)
        label_item = next(labels, None)
        if text_item is None and label_item is None:
            break
        if label_item is None:
            raise InputError(f"label file ends here, but {text_path} has more lines (line {n + 1} has no label)",
                             label_path, n + 1)
        if text_item is None:
            raise InputError(f"more labels than the {n} lines of {text_path}", label_path, n + 1)
        (line_no, text), (_, raw_label) = text_item, label_item
        raw_label = raw_label.strip()
        try:
            index = int(raw_label)
        except ValueError:
            raise InputError(f"expected a label id 0..{len(names) - 1}, found {raw_label!r}", label_path,
                             line_no) from None
        if not 0 <= index < len(names):
            raise InputError(f"label id {index} out of range 0..{len(names) - 1} (see --label-names)", label_path,
                             line_no)
        text = text.strip()
        if u_escapes:
            text = decode_u_escapes(text)
        if not text:
            raise InputError("empty text", text_path, line_no)
        yield Document(f"{lang}-{split}-{line_no - 1}", lang, text, names[index])
        n += 1


# --------------------------------------------------------------------------------------------------
# Generic TSV/CSV


@dataclass(frozen=True)
class TableColumns:
    """Where the fields are: a column number (from 1) or a header name; None for not present."""

    text: str | None = None
    label: str | None = None
    id: str | None = None
    lang: str | None = None


def parse_delimiter(value: str | None, path: Path) -> str:
    if value is None:
        return "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    named = {"\\t": "\t", "tab": "\t", "\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    delimiter = named.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\n\r':
        raise InputError(f"--delimiter must be one character (or tab), got {value!r}")
    return delimiter


def _column(spec: str | None, header: list[str] | None, option: str, path: Path, default: str | None = None,
            required: bool = False) -> int | None:
    """The 0-based index of a column given by number (from 1) or header name."""
    if spec is None:
        if header is not None and default is not None and default in header:
            return header.index(default)
        if required:
            raise InputError(f"no {default!r} column in the header: give {option}" if header is not None
                             else f"{option} is required for a file without a header", path)
        return None
    spec = spec.strip()
    if spec.isdigit():
        index = int(spec)
        if index < 1:
            raise InputError(f"{option}: columns are numbered from 1")
        if header is not None and index > len(header):
            raise InputError(f"{option} {index}: the header has {len(header)} columns", path, 1)
        return index - 1
    if header is None:
        raise InputError(f"{option} {spec!r}: a column name needs a header (or give a column number)")
    if spec not in header:
        raise InputError(f"{option}: no column {spec!r} in the header ({', '.join(header)})", path, 1)
    return header.index(spec)


def read_table(
    path: str | Path, lang: str | None, split: str, columns: TableColumns = TableColumns(),
    delimiter: str | None = None, header: bool = True,
) -> Iterator[Document]:
    """A TSV/CSV file read with the csv module (quoted fields may hold delimiters, quotes and newlines)."""
    path = Path(path)
    _check_file(path)
    if lang is not None:
        check_lang(lang)
    sep = parse_delimiter(delimiter, path)
    rows = csv_rows(path, sep)
    names: list[str] | None = None
    if header:
        first = next(rows, None)
        if first is None:
            raise InputError("empty file (expected a header line)", path)
        names = [h.strip() for h in first[1]]
    text_col = _column(columns.text, names, "--text-col", path, "text", required=True)
    label_col = _column(columns.label, names, "--label-col", path, "label")
    id_col = _column(columns.id, names, "--id-col", path, "id")
    lang_col = _column(columns.lang, names, "--lang-col", path, "lang")
    if lang is None and lang_col is None:
        raise InputError("no language: give --lang or --lang-col", path)
    width = len(names) if names is not None else None
    needed = 1 + max(c for c in (text_col, label_col, id_col, lang_col) if c is not None)
    for n, (line_no, row) in enumerate(rows):
        if width is not None and len(row) != width:
            raise InputError(f"expected {width} fields (as in the header), found {len(row)}", path, line_no)
        if len(row) < needed:
            raise InputError(f"expected at least {needed} fields, found {len(row)}", path, line_no)
        text = row[text_col].strip()
        if not text:
            raise InputError("empty text", path, line_no)
        doc_lang = lang
        if lang_col is not None and row[lang_col].strip():
            doc_lang = check_lang(row[lang_col].strip(), path, line_no)
        if doc_lang is None:
            raise InputError("empty language field (and no --lang)", path, line_no)
        label = None
        if label_col is not None:
            label = row[label_col].strip()
            if not label:
                raise InputError("empty label", path, line_no)
        doc_id = row[id_col].strip() if id_col is not None else ""
        if id_col is not None and not doc_id:
            raise InputError("empty id", path, line_no)
        yield Document(doc_id or f"{doc_lang}-{split}-{n}", doc_lang, text, label)
