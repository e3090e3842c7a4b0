"""Linguistic constraints for Attract-Repel: word pairs, one per line, as the Attract-Repel repository ships them.

A line is two words separated by white space. Words carry a language prefix (``en_dog de_hund``, the format of
Attract-Repel's ``full-ant-sample.txt`` and of the OMW-derived files); a file without prefixes (the counter-fitting
PPDB and WordNet files) is named with its language, ``FILE:LANG``, and both words belong to that language.
Gzip is read transparently. Pairs are kept in file order, each ordered pair once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cltc_tools.errors import InputError
from cltc_tools.io.textfile import iter_lines

_PREFIXED = re.compile(r"^(?P<lang>[a-z]{2,3})_(?P<word>.+)$")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]+)*$")

Word = tuple[str, str]  # (language, token)


@dataclass(frozen=True)
class ConstraintFile:
    path: Path
    lang: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.lang}" if self.lang else str(self.path)


def parse_spec(value: str | Path | ConstraintFile) -> ConstraintFile:
    """``FILE`` (prefixed words) or ``FILE:LANG`` (unprefixed words of one language)."""
    if isinstance(value, ConstraintFile):
        return value
    text = str(value)
    head, sep, tail = text.rpartition(":")
    if sep and head and _LANG.match(tail) and not Path(text).exists():
        return ConstraintFile(Path(head), tail)
    return ConstraintFile(Path(text))


def split_word(token: str, spec: ConstraintFile, line_no: int) -> Word:
    if spec.lang:
        return spec.lang, token
    match = _PREFIXED.match(token)
    if match is None:
        raise InputError(f"word {token!r} has no language prefix (like en_dog); name an unprefixed file "
                         f"FILE:LANG", spec.path, line_no)
    return match["lang"], match["word"]


def read_constraints(spec: str | Path | ConstraintFile) -> list[tuple[Word, Word]]:
    """The pairs of one constraint file, ordered pairs once each, in file order."""
    spec = parse_spec(spec)
    pairs: dict[tuple[Word, Word], None] = {}
    for line_no, line in iter_lines(spec.path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise InputError(f"expected two words, found {len(fields)}", spec.path, line_no)
        pairs.setdefault((split_word(fields[0], spec, line_no), split_word(fields[1], spec, line_no)))
    return list(pairs)


@dataclass
class ConstraintRows:
    """Constraint pairs as rows of a stacked vocabulary, and what was left out on the way."""

    rows: np.ndarray                    # [n, 2] int64
    counts: dict[str, int] = field(default_factory=dict)


def constraint_rows(pairs: Sequence[tuple[Word, Word]], index: Mapping[str, Mapping[str, int]],
                    offsets: Mapping[str, int], vocab: int | None = None) -> ConstraintRows:
    """Rows (offset + row within the language) of the pairs whose languages are stacked and whose two words are
    among the first ``vocab`` words of their language; identical rows dropped, each ordered pair once."""
    kept: dict[tuple[int, int], None] = {}
    other = missing = 0
    for (la, wa), (lb, wb) in pairs:
        if la not in offsets or lb not in offsets:
            other += 1
            continue
        i, j = index[la].get(wa), index[lb].get(wb)
        if i is None or j is None or (vocab and (i >= vocab or j >= vocab)):
            missing += 1
            continue
        a, b = offsets[la] + i, offsets[lb] + j
        if a != b:
            kept.setdefault((a, b))
    rows = np.array(list(kept), dtype=np.int64).reshape(-1, 2)
    return ConstraintRows(rows, {"pairs": len(pairs), "used": len(rows), "other_languages": other,
                                 "missing_words": missing})
