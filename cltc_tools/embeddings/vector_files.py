"""Embedding spaces from word-vector files and back: the library side of ``cltc-embed``.

``import_vectors`` reads one vector file per language (.vec text, word2vec binary or fastText .bin, gzip
transparent) and writes them as one space directory; ``export_space`` writes one language of a space as a
.vec or word2vec binary file (gzip when the name ends in .gz). Both return what they did and raise
``InputError`` for bad input; printing is left to the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import check_writable
from cltc_tools.io.names import check_lang, is_lang
from cltc_tools.io.records import file_sha256
from cltc_tools.io.space import LangBlock, open_space, write_space
from cltc_tools.io.vectors import FORMATS, detect_format, read_vectors, write_vectors

TOOL = "cltc-embed"
EXPORT_FORMATS = ("vec", "word2vec")


@dataclass(frozen=True)
class Source:
    """One vector file and the language of its words."""

    path: Path
    lang: str


@dataclass(frozen=True)
class ImportedLang:
    lang: str
    source: str
    source_sha256: str
    format: str
    words: int
    duplicates: int
    bad_rows: int = 0
    first_bad_line: int | None = None


@dataclass(frozen=True)
class ImportResult:
    path: Path
    sha256: str
    dim: int
    langs: list[ImportedLang]
    params: dict[str, Any]
    inputs: list[str]

    def record_fields(self) -> dict[str, Any]:
        """The fields of the ``space`` record (SPEC section 2)."""
        return {"path": str(self.path), "sha256": self.sha256, "langs": [x.lang for x in self.langs],
                "method": "import", "params": self.params, "inputs": self.inputs}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    lang: str
    format: str
    words: int
    dim: int


def pair_sources(files: Sequence[str], langs: Sequence[str]) -> list[Source]:
    """Pair vector files with languages: ``FILE:LANG`` arguments, or ``--lang`` values in file order."""
    pending = [x for value in langs for x in value.split(",") if x.strip()]
    pending = [x.strip() for x in pending]
    sources: list[Source] = []
    unpaired: list[Path] = []
    for text in files:
        path, lang = _split_file_lang(text)
        if lang is None:
            unpaired.append(path)
            sources.append(Source(path, ""))
        else:
            sources.append(Source(path, check_lang(lang)))
    if not sources:
        raise InputError("no vector file given")
    if len(pending) != len(unpaired):
        raise InputError(f"{len(unpaired)} file(s) without a language but {len(pending)} --lang value(s): "
                         "give one --lang per FILE, or write FILE:LANG")
    queue = iter(pending)
    sources = [s if s.lang else Source(s.path, check_lang(next(queue))) for s in sources]
    seen: set[str] = set()
    for source in sources:
        if source.lang in seen:
            raise InputError(f"language {source.lang!r} given for more than one file")
        seen.add(source.lang)
    return sources


def _split_file_lang(text: str) -> tuple[Path, str | None]:
    """``vectors.vec:de`` -> (vectors.vec, "de"); a path that exists as written is never split."""
    if Path(text).exists() or ":" not in text:
        return Path(text), None
    head, _, tail = text.rpartition(":")
    if head and is_lang(tail):
        return Path(head), tail
    return Path(text), None


def import_vectors(
    sources: Sequence[Source],
    out: str | Path,
    fmt: str = "auto",
    max_vocab: int | None = None,
    force: bool = False,
    on_lang: Callable[[ImportedLang, int], None] | None = None,
    skip_bad_rows: bool = False,
) -> ImportResult:
    """Read each source (``fmt``: auto, vec, word2vec or bin) and write them as one space directory.

    ``max_vocab`` keeps the first N distinct words of each file (the most frequent, in fastText and word2vec
    files). Duplicate tokens keep their first vector and are counted. A .vec row without exactly D values is an
    error, or with ``skip_bad_rows`` skipped and counted. ``on_lang(info, dim)`` is called after each file is read.
    """
    out = Path(out)
    _check_import_options(sources, fmt, max_vocab)
    check_writable(out, force)  # fail before the (long) reading, not after it
    blocks: list[LangBlock] = []
    infos: list[ImportedLang] = []
    for source in sources:
        block, info = _read_source(source, fmt, max_vocab, skip_bad_rows)
        if blocks and block.vectors.shape[1] != blocks[0].vectors.shape[1]:
            raise InputError(f"vectors have dimension {block.vectors.shape[1]}, but {sources[0].path} has "
                             f"{blocks[0].vectors.shape[1]}: one space needs one dimension", source.path)
        blocks.append(block)
        infos.append(info)
        if on_lang is not None:
            on_lang(info, int(block.vectors.shape[1]))
    provenance = [{"tool": TOOL, "method": "import", "lang": i.lang, "source": i.source,
                   "source_sha256": i.source_sha256, "format": i.format, "max_vocab": max_vocab,
                   "words": i.words, "duplicates": i.duplicates, **({"bad_rows": i.bad_rows} if i.bad_rows else {})}
                  for i in infos]
    sha = write_space(out, blocks, provenance=provenance, force=force)
    one = len(infos) == 1
    params = {"format": infos[0].format if one else [i.format for i in infos],
              "max_vocab": max_vocab,
              "source": infos[0].source if one else [i.source for i in infos]}
    if skip_bad_rows:
        params["skip_bad_rows"] = True
    return ImportResult(out, sha, int(blocks[0].vectors.shape[1]), infos, params, [i.source_sha256 for i in infos])


def _check_import_options(sources: Sequence[Source], fmt: str, max_vocab: int | None) -> None:
    if fmt != "auto" and fmt not in FORMATS:
        raise InputError(f"unknown vector format {fmt!r} (known: auto, {', '.join(FORMATS)})")
    if max_vocab is not None and max_vocab < 1:
        raise InputError("--max-vocab must be at least 1")
    if not sources:
        raise InputError("no vector file given")


def _read_source(source: Source, fmt: str, max_vocab: int | None,
                 skip_bad_rows: bool) -> tuple[LangBlock, ImportedLang]:
    """One vector file as a language block, and what was read."""
    used = detect_format(source.path) if fmt == "auto" else fmt
    vectors = read_vectors(source.path, used, max_vocab, skip_bad_rows)
    if not vectors.words:
        raise InputError("no word vectors in file", source.path)
    info = ImportedLang(source.lang, str(source.path), file_sha256(source.path), used, len(vectors.words),
                        vectors.duplicates, vectors.bad_rows, vectors.first_bad_line)
    return LangBlock(source.lang, vectors.words, vectors.vectors), info


def export_format(out: str | Path, fmt: str | None) -> str:
    """The format to write: ``fmt`` if given, else word2vec for ``*.bin[.gz]`` and .vec text otherwise."""
    if fmt is None:
        name = Path(out).name
        name = name[:-3] if name.endswith(".gz") else name
        return "word2vec" if name.endswith(".bin") else "vec"
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"cannot export to {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    return fmt


def export_space(
    space_dir: str | Path, out: str | Path, lang: str | None = None, fmt: str | None = None, force: bool = False
) -> ExportResult:
    """Write the words of one language of a space as a vector file (gzip if ``out`` ends in .gz)."""
    out = Path(out)
    fmt = export_format(out, fmt)
    space = open_space(space_dir)
    if lang is None:
        if len(space.langs) != 1:
            raise InputError(f"the space holds {len(space.langs)} languages ({', '.join(space.langs)}): "
                             "choose one with --lang", space.path)
        lang = next(iter(space.langs))
    check_writable(out, force)
    words = space.words(lang)
    write_vectors(out, words, space.lang_vectors(lang), fmt, force=force)
    return ExportResult(out, lang, fmt, len(words), space.dim)
