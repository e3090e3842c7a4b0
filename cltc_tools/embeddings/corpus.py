"""Training text, streamed: sentences from plain text or documents JSONL, pairs from parallel files.

Nothing here holds a whole corpus in memory: readers are generators, and ``write_lines`` writes token lines
to a file (fastText reads its corpus from a file). Bad input raises ``InputError`` with ``file:line``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

import orjson

from cltc_tools.errors import InputError
from cltc_tools.io.documents import document_from_json, parse_json_object
from cltc_tools.io.parallel import SentencePair, read_parallel
from cltc_tools.io.textfile import iter_lines
from cltc_tools.text.tokenize import Tokenizer

Advance = Callable[[int], None]
TEXT, DOCUMENTS = "text", "documents"


def detect_text_kind(path: str | Path) -> str:
    """``documents`` when the first non-blank line is a JSON object with ``lang`` and ``text``, else ``text``."""
    for _, line in iter_lines(path):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            return TEXT
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return TEXT
        return DOCUMENTS if isinstance(obj, dict) and "text" in obj and "lang" in obj else TEXT
    return TEXT


def iter_text(path: str | Path, lang: str) -> Iterator[str]:
    """The lines of a plain-text file, or the ``text`` of the documents of ``lang`` in a documents JSONL file."""
    if detect_text_kind(path) == TEXT:
        yield from (line for _, line in iter_lines(path) if line.strip())
        return
    for line_no, line in iter_lines(path):
        if line.strip():
            doc = document_from_json(parse_json_object(line, path, line_no), path, line_no)
            if doc.lang == lang:
                yield doc.text


def iter_sentences(paths: Sequence[str | Path], lang: str, tokenizer: Tokenizer) -> Iterator[list[str]]:
    """Token lists of every non-empty line/document of ``paths``, in order."""
    for path in paths:
        for text in iter_text(path, lang):
            tokens = tokenizer(text, lang)
            if tokens:
                yield tokens


def count_pairs(path: str | Path, max_pairs: int | None = None, hub: str | None = None) -> int:
    """Number of pairs a parallel file yields; reading validates every line (and that ``hub`` is on one side)."""
    n = 0
    for n, pair in enumerate(read_parallel(path, max_pairs), start=1):
        if hub is not None and hub not in (pair.src_lang, pair.tgt_lang):
            raise InputError(f"pair {n} is {pair.src_lang}-{pair.tgt_lang}: one side must be the hub language "
                             f"{hub!r}", path)
        if pair.src_lang == pair.tgt_lang:
            raise InputError(f"pair {n}: both sides are {pair.src_lang!r}", path)
    return n


def proportional_merge(streams: Sequence[Iterator[SentencePair]], counts: Sequence[int]) -> Iterator[SentencePair]:
    """Interleave streams so that every prefix holds each stream in proportion to its size (deterministic)."""
    taken = [0] * len(streams)
    total = sum(counts)
    for _ in range(total):
        k = min((i for i in range(len(streams)) if taken[i] < counts[i]),
                key=lambda i: ((taken[i] + 0.5) / counts[i], i))
        taken[k] += 1
        yield next(streams[k])


def iter_pairs(paths: Sequence[str | Path], max_pairs: int | None = None,
               hub: str | None = None) -> tuple[Iterator[SentencePair], int]:
    """All pairs of ``paths`` (at most ``max_pairs`` per file), interleaved in proportion, and their number."""
    if not paths:
        raise InputError("no parallel file given (--parallel FILE)")
    counts = [count_pairs(path, max_pairs, hub) for path in paths]
    for path, n in zip(paths, counts):
        if n == 0:
            raise InputError("no sentence pairs in file", path)
    streams = [read_parallel(path, max_pairs) for path in paths]
    return proportional_merge(streams, counts), sum(counts)


def parallel_sources(path: str | Path) -> list[Path]:
    """The files behind a parallel input: the JSONL file, or Moses ``PREFIX.xx`` and ``PREFIX.yy`` for
    ``PREFIX.xx-yy`` (as ``read_parallel`` reads them)."""
    path = Path(path)
    if not path.exists() and "-" in path.suffix:
        src_lang, tgt_lang = path.suffix[1:].split("-", 1)
        stem = path.with_suffix("")
        return [Path(f"{stem}.{src_lang}"), Path(f"{stem}.{tgt_lang}")]
    return [path]


def parallel_files(paths: Sequence[str | Path]) -> list[Path]:
    return [f for path in paths for f in parallel_sources(path)]


def write_lines(handle: IO[str], lines: Iterable[Sequence[str]], advance: Advance | None = None,
                every: int = 1000) -> int:
    """Write token lists as space-separated lines; returns the number of lines written."""
    n = 0
    for tokens in lines:
        handle.write(" ".join(tokens))
        handle.write("\n")
        n += 1
        if advance is not None and n % every == 0:
            advance(every)
    if advance is not None and n % every:
        advance(n % every)
    return n
