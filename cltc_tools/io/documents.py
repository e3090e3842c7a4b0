"""Documents JSONL: one ``{"lang", "text", "label", "id", ...}`` object per line, streamed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cltc_tools.errors import InputError
from cltc_tools.io.names import check_lang
from cltc_tools.io.textfile import iter_lines

_KNOWN = ("id", "lang", "text", "label")


@dataclass(frozen=True, slots=True)
class Document:
    """One line of a documents file; fields other than the four known ones are kept in ``extra``."""

    id: str
    lang: str
    text: str
    label: str | list[str] | None = None  # a list for multi-label data, None when unlabelled
    extra: dict[str, Any] = field(default_factory=dict)


def parse_json_object(line: str, path: str | Path, line_no: int) -> dict[str, Any]:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise InputError(f"invalid JSON ({err.msg})", path, line_no) from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, found {type(obj).__name__}", path, line_no)
    return obj


def _label(obj: dict[str, Any], path: str | Path, line_no: int) -> str | list[str] | None:
    label = obj.get("label")
    if label is None or isinstance(label, str):
        return label
    if isinstance(label, list) and label and all(isinstance(x, str) for x in label):
        return list(label)
    raise InputError("field 'label' must be a string or a list of strings", path, line_no)


def document_from_json(obj: dict[str, Any], path: str | Path, line_no: int) -> Document:
    for key in ("lang", "text"):
        if key not in obj:
            raise InputError(f"missing field {key!r}", path, line_no)
        if not isinstance(obj[key], str):
            raise InputError(f"field {key!r} must be a string", path, line_no)
    if not obj["lang"].strip():
        raise InputError("field 'lang' is empty", path, line_no)
    check_lang(obj["lang"], path, line_no)
    doc_id = obj.get("id", line_no)
    if not isinstance(doc_id, (str, int)):
        raise InputError("field 'id' must be a string or an integer", path, line_no)
    extra = {k: v for k, v in obj.items() if k not in _KNOWN}
    return Document(str(doc_id), obj["lang"], obj["text"], _label(obj, path, line_no), extra)


def read_documents(path: str | Path, require_label: bool = False) -> Iterator[Document]:
    """Stream the documents of a JSONL file; blank lines are skipped, bad lines raise ``file:line``."""
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        doc = document_from_json(parse_json_object(line, path, line_no), path, line_no)
        if require_label and doc.label is None:
            raise InputError("missing field 'label'", path, line_no)
        yield doc


def read_single_label(path: str | Path) -> Iterator[Document]:
    """Documents for single-label training/evaluation: multi-label documents are rejected."""
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        doc = document_from_json(parse_json_object(line, path, line_no), path, line_no)
        if doc.label is None:
            raise InputError("missing field 'label'", path, line_no)
        if isinstance(doc.label, list):
            if len(doc.label) != 1:
                raise InputError(
                    f"multi-label document ({len(doc.label)} labels) in single-label data", path, line_no
                )
            doc = Document(doc.id, doc.lang, doc.text, doc.label[0], doc.extra)
        yield doc


def load_documents(paths: Iterable[str | Path], langs: Iterable[str] | None = None) -> list[Document]:
    """Read labelled documents from several files, optionally keeping some languages only."""
    keep = set(langs) if langs else None
    docs: list[Document] = []
    for path in paths:
        docs.extend(d for d in read_single_label(path) if keep is None or d.lang in keep)
    return docs


def document_to_json(doc: Document) -> dict[str, Any]:
    out: dict[str, Any] = {"id": doc.id, "lang": doc.lang, "text": doc.text}
    if doc.label is not None:
        out["label"] = doc.label
    out.update(doc.extra)
    return out
