"""Parallel sentences: JSONL ``{"src_lang","src","tgt_lang","tgt"}`` (gzip ok) or Moses-style file pairs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from cltc_tools.errors import InputError
from cltc_tools.io.documents import parse_json_object
from cltc_tools.io.names import check_lang
from cltc_tools.io.textfile import iter_lines


@dataclass(frozen=True)
class SentencePair:
    src_lang: str
    src: str
    tgt_lang: str
    tgt: str


def read_parallel_jsonl(path: str | Path) -> Iterator[SentencePair]:
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        obj = parse_json_object(line, path, line_no)
        for key in ("src_lang", "src", "tgt_lang", "tgt"):
            if not isinstance(obj.get(key), str):
                raise InputError(f"missing or non-string field {key!r}", path, line_no)
        check_lang(obj["src_lang"], path, line_no)
        check_lang(obj["tgt_lang"], path, line_no)
        yield SentencePair(obj["src_lang"], obj["src"], obj["tgt_lang"], obj["tgt"])


def read_moses(src_path: str | Path, tgt_path: str | Path, src_lang: str, tgt_lang: str) -> Iterator[SentencePair]:
    """Two line-aligned plain-text files (``corpus.de``, ``corpus.en``)."""
    for left, right in zip_longest(iter_lines(src_path), iter_lines(tgt_path)):
        if left is None or right is None:
            shorter, longer = (src_path, tgt_path) if left is None else (tgt_path, src_path)
            line_no = (right or left)[0]
            raise InputError(f"has more lines than {shorter}", longer, line_no)
        yield SentencePair(src_lang, left[1], tgt_lang, right[1])


def read_parallel(path: str | Path, max_pairs: int | None = None) -> Iterator[SentencePair]:
    """A JSONL parallel file, or ``PREFIX.xx-yy`` naming Moses files ``PREFIX.xx`` and ``PREFIX.yy``."""
    path = Path(path)
    if not path.exists() and "-" in path.suffix:
        src_lang, tgt_lang = (check_lang(x, path) for x in path.suffix[1:].split("-", 1))
        stem = path.with_suffix("")
        pairs = read_moses(f"{stem}.{src_lang}", f"{stem}.{tgt_lang}", src_lang, tgt_lang)
    else:
        pairs = read_parallel_jsonl(path)
    for i, pair in enumerate(pairs):
        if max_pairs is not None and i >= max_pairs:
            return
        yield pair
