"""Bilingual dictionaries in MUSE's text format: ``source target`` per line (space or tab)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cltc_tools.errors import InputError
from cltc_tools.io.names import check_lang, is_lang
from cltc_tools.io.textfile import iter_lines

_MUSE_NAME = re.compile(r"^(?P<src>[A-Za-z]{2,3}(?:_[A-Za-z0-9]+)?)-(?P<tgt>[A-Za-z]{2,3}(?:_[A-Za-z0-9]+)?)(?:[._]|$)")


_ASCII_SPACE = re.compile(r"[ \t\f\v]+")


def split_pair(line: str) -> list[str]:
    """The fields of one dictionary line.

    A line with a tab is split at tabs only, so that words may hold spaces (``new york<TAB>nueva york``). Otherwise
    fields are separated by ASCII white space, so that a token that is a Unicode space (U+3000, U+00A0, as fastText
    vocabularies have) stays a token; a line that then has not two fields falls back to any white space.
    """
    line = line.rstrip("\r\n")
    if "\t" in line:
        fields = [f.strip(" ") for f in line.strip(" ").split("\t")]
        fields = [f for f in fields if f]
        if len(fields) == 2:
            return fields
    fields = [f for f in _ASCII_SPACE.split(line) if f]
    if len(fields) == 2 or not fields:
        return fields
    return line.split()


@dataclass
class Dictionary:
    src_lang: str
    tgt_lang: str
    pairs: list[tuple[str, str]]
    malformed: int = 0
    path: str = ""
    first_malformed: int | None = None  # line number of the first malformed line


def langs_from_name(path: str | Path) -> tuple[str, str] | None:
    """Languages from a MUSE file name: ``de-en.0-5000.txt`` -> ("de", "en")."""
    match = _MUSE_NAME.match(Path(path).name)
    return (match["src"], match["tgt"]) if match else None


def parse_dictionary_spec(spec: str | Path) -> tuple[Path, str | None, str | None]:
    """``PATH`` (languages from a MUSE file name) or ``SRC-TGT=PATH`` (``de-en=lexicon.txt``); a path that
    exists as written is never split."""
    text = str(spec)
    head, sep, tail = text.partition("=")
    if sep and tail and not Path(text).exists():
        src, dash, tgt = head.partition("-")
        if dash and is_lang(src) and is_lang(tgt):
            return Path(tail), src, tgt
    return Path(text), None, None


def read_dictionary_spec(spec: str | Path, lowercase: bool = False) -> Dictionary:
    """The dictionary named by ``PATH`` or ``SRC-TGT=PATH`` (see ``parse_dictionary_spec``)."""
    path, src, tgt = parse_dictionary_spec(spec)
    return read_dictionary(path, src, tgt, lowercase)


def read_dictionary(
    path: str | Path, src_lang: str | None = None, tgt_lang: str | None = None, lowercase: bool = False
) -> Dictionary:
    """Read pairs; lines without exactly two fields are counted as malformed and skipped, but a file where fewer
    than half of the lines are pairs is not a dictionary (an error naming its first malformed line)."""
    path = Path(path)
    if src_lang is None or tgt_lang is None:
        guessed = langs_from_name(path)
        if guessed is None:
            raise InputError("cannot tell the languages from the file name (expected e.g. de-en.0-5000.txt); "
                             f"give them as SRC-TGT={path} (e.g. --dict de-en={path})", path)
        src_lang = src_lang or guessed[0]
        tgt_lang = tgt_lang or guessed[1]
    check_lang(src_lang, path)
    check_lang(tgt_lang, path)
    pairs: list[tuple[str, str]] = []
    malformed = 0
    first: int | None = None
    for line_no, line in iter_lines(path):
        fields = split_pair(line)
        if not fields:
            continue
        if len(fields) != 2:
            malformed += 1
            first = first or line_no
            continue
        src, tgt = fields
        pairs.append((src.lower(), tgt.lower()) if lowercase else (src, tgt))
    if not pairs:
        raise InputError("no dictionary pairs found", path)
    if malformed > len(pairs):
        raise InputError(f"only {len(pairs)} of {len(pairs) + malformed} lines are 'source target' pairs "
                         f"(first malformed line: {first}): not a dictionary in MUSE format?", path, first)
    return Dictionary(src_lang, tgt_lang, pairs, malformed, str(path), first)
