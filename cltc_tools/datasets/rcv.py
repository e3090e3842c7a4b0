"""Reuters RCV1/RCV2 newsitem XML -> documents, with the topic rule of Klementiev et al. (2012).

A newsitem looks like::

    <newsitem itemid="2286" id="root" date="1996-08-20" xml:lang="en">
      <title>MEXICO: Recovery excitement brings Mexican markets to life.</title>
      <text><p>Emerging evidence that ...</p> ...</text>
      <metadata>
        <codes class="bip:topics:1.0"><code code="E11">...</code><code code="ECAT">...</code></codes> ...
      </metadata>
    </newsitem>

A document is kept when its ``bip:topics:1.0`` codes hold exactly one of the four top-level topics CCAT,
ECAT, GCAT and MCAT; that code is its label. Its text is the title, then the paragraphs, one per line.
Inputs are XML files, folders of them (searched recursively, sorted by path) and zip files of them (RCV
is distributed as one zip per day); a zip member is named ``archive.zip/member.xml`` in messages.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from cltc_tools.datasets.common import check_lang
from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document

TOP_TOPICS = ("CCAT", "ECAT", "GCAT", "MCAT")
TOPIC_CLASS = "bip:topics:1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Why a newsitem is dropped: record key -> words for messages.
DROP_REASONS = {
    "no-top-topic": "with none of the four top-level topics",
    "several-top-topics": "with several top-level topics",
    "no-text": "without text",
    "repeated-itemid": "repeating an earlier itemid",
}


@dataclass(frozen=True)
class XmlSource:
    """One newsitem file: on disk, or a member of a zip archive."""

    name: str                   # for messages: path, or archive.zip/member.xml
    path: Path                  # the file on disk (the archive for a member)
    member: str | None = None

    def read(self, archive: zipfile.ZipFile | None = None) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        assert archive is not None
        try:
            return archive.read(self.member)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise InputError(f"corrupt zip member ({err})", self.name) from None


@dataclass
class RcvStats:
    """How many newsitems were read, kept, and dropped for which reason."""

    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def why_empty(self) -> str:
        if self.read == 0:
            return "no newsitem XML in the input (expected .xml files, folders or zips of them)"
        return (f"no document has exactly one of the topics {', '.join(TOP_TOPICS)} "
                f"({self.read} newsitems read: {self.describe_dropped()})")

    def describe_dropped(self) -> str:
        return ", ".join(f"{n} {DROP_REASONS.get(why, why)}" for why, n in sorted(self.dropped.items()))


def _is_xml(name: str) -> bool:
    return name.lower().endswith(".xml") and not name.rsplit("/", 1)[-1].startswith(".")


def _is_zip(name: str) -> bool:
    return name.lower().endswith(".zip")


def _zip_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return sorted(info.filename for info in archive.infolist() if not info.is_dir() and _is_xml(info.filename))
    except zipfile.BadZipFile as err:
        raise InputError(f"not a readable zip file ({err})", path) from None


def rcv_sources(inputs: Sequence[str | Path]) -> list[XmlSource]:
    """The newsitem files named by ``inputs`` (files, folders, zips), in a fixed order."""
    sources: list[XmlSource] = []
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise InputError("no such file or folder", path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and (_is_xml(p.name) or _is_zip(p.name)))
        else:
            files = [path]
        for file in files:
            if _is_zip(file.name) or (file == path and zipfile.is_zipfile(file)):
                sources.extend(XmlSource(f"{file}/{m}", file, m) for m in _zip_members(file))
            else:
                sources.append(XmlSource(str(file), file))
    return sources


def _text(element: ET.Element | None) -> str:
    return "" if element is None else " ".join("".join(element.itertext()).split())


def parse_newsitem(data: bytes, name: str, lang: str | None = None) -> tuple[Document | None, str | None]:
    """One newsitem -> (document, None), or (None, why it was dropped: a key of DROP_REASONS); malformed XML
    raises."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        line = err.position[0] if getattr(err, "position", None) else None
        raise InputError(f"invalid XML ({_parse_message(err)})", name, line) from None
    if root.tag != "newsitem":
        raise InputError(f"not a Reuters newsitem (root element <{root.tag}>)", name)
    item_id = root.get("itemid")
    if not item_id:
        raise InputError("newsitem without an itemid attribute", name)
    doc_lang = lang or root.get(XML_LANG)
    if not doc_lang:
        raise InputError("newsitem without xml:lang: give --lang", name)
    doc_lang = check_lang(doc_lang, name)
    topics = {code.get("code") for codes in root.iter("codes") if codes.get("class") == TOPIC_CLASS
              for code in codes.iter("code")}
    top = sorted(t for t in topics if t in TOP_TOPICS)
    if len(top) != 1:
        return None, "no-top-topic" if not top else "several-top-topics"
    parts = [_text(root.find("title"))]
    body = root.find("text")
    if body is not None:
        parts.extend(_text(p) for p in body.iter("p"))
    text = "\n".join(p for p in parts if p)
    if not text:
        return None, "no-text"
    return Document(item_id, doc_lang, text, top[0]), None


def _parse_message(err: ET.ParseError) -> str:
    message = str(err)
    return message.split(":", 1)[0] if ": line" in message else message


def read_rcv(
    inputs: Sequence[str | Path], lang: str | None = None, stats: RcvStats | None = None,
    advance: Callable[[int], None] | None = None, sources: Sequence[XmlSource] | None = None,
) -> Iterator[Document]:
    """Stream the kept documents of RCV newsitems; a repeated itemid (same language) is kept once."""
    stats = stats if stats is not None else RcvStats()
    if lang is not None:
        check_lang(lang)
    sources = list(sources) if sources is not None else rcv_sources(inputs)
    seen: set[tuple[str, str]] = set()
    archive: zipfile.ZipFile | None = None
    archive_path: Path | None = None
    try:
        for source in sources:
            if source.member is not None and source.path != archive_path:
                if archive is not None:
                    archive.close()
                archive, archive_path = zipfile.ZipFile(source.path), source.path
            doc, why = parse_newsitem(source.read(archive), source.name, lang)
            stats.read += 1
            if advance is not None:
                advance(1)
            if doc is None:
                stats.dropped[why or "dropped"] += 1
                continue
            key = (doc.lang, doc.id)
            if key in seen:
                stats.dropped["repeated-itemid"] += 1
                continue
            seen.add(key)
            stats.kept += 1
            yield doc
    finally:
        if archive is not None:
            archive.close()
