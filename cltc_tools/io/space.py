"""Embedding-space directories: vectors.npy (mmap), words.txt ("lang<TAB>token"), space.json."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_dir, fsync_file
from cltc_tools.io.names import check_lang

FORMAT = "cltc-space/1"
BLOCK_ROWS = 4096  # rows per block when a matrix is written or hashed (a few MB: no copy of a whole language)
READ_ROWS = 8192  # rows per block when a matrix is checked for NaN and Inf


@dataclass(frozen=True)
class LangBlock:
    """The rows of one language: tokens in row order and a float32 [n, D] matrix."""

    lang: str
    words: Sequence[str]
    vectors: np.ndarray


class Space:
    """A (mono- or multilingual) embedding space opened from its directory; vectors are memory-mapped."""

    def __init__(self, path: Path, meta: dict[str, Any], vectors: np.ndarray):
        self.path = path
        self.meta = meta
        self.vectors = vectors
        self.langs: dict[str, tuple[int, int]] = {k: (int(v[0]), int(v[1])) for k, v in meta["langs"].items()}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def sha256(self) -> str:
        return str(self.meta.get("sha256", ""))

    @property
    def provenance(self) -> list[dict[str, Any]]:
        return list(self.meta.get("provenance", []))

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @cached_property
    def _words(self) -> list[str]:
        return _read_words(self.path / "words.txt", self.langs, len(self))

    def words(self, lang: str) -> list[str]:
        start, end = self.rows(lang)
        return self._words[start:end]

    def rows(self, lang: str) -> tuple[int, int]:
        if lang not in self.langs:
            known = ", ".join(sorted(self.langs))
            raise InputError(f"language {lang!r} is not in this space (it has: {known})", self.path)
        return self.langs[lang]

    def lang_vectors(self, lang: str) -> np.ndarray:
        start, end = self.rows(lang)
        return self.vectors[start:end]

    def read_lang(self, lang: str) -> np.ndarray:
        """A writable float32 copy of the language's rows, read from the file rather than through the memory map,
        so that a process that transforms the rows holds them once (mapped pages that were read count in its
        resident memory too)."""
        start, end = self.rows(lang)
        out = np.empty((end - start, self.dim), dtype=np.float32)
        if not row_major_file(self.vectors):
            out[:] = self.vectors[start:end]
            return out
        with open(self.vectors.filename, "rb") as handle:
            handle.seek(self.vectors.offset + start * self.dim * out.itemsize)
            if handle.readinto(memoryview(out).cast("B")) != out.nbytes:
                raise InputError("vectors.npy is shorter than its header says", self.vectors.filename)
        return out

    def block(self, lang: str) -> LangBlock:
        return LangBlock(lang, self.words(lang), self.lang_vectors(lang))

    def index(self, lang: str) -> dict[str, int]:
        """token -> row within the language block (first occurrence wins)."""
        cache = self.__dict__.setdefault("_index_cache", {})
        if lang not in cache:
            table: dict[str, int] = {}
            for i, word in enumerate(self.words(lang)):
                table.setdefault(word, i)
            cache[lang] = table
        return cache[lang]


def read_lang_tokens(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, language, token) of each ``lang<TAB>token`` line (words.txt, a checkpoint's vocab.txt)."""
    valid: set[str] = set()
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(f"not UTF-8 text ({err.reason})", path, line_no) from None
            lang, sep, token = line.rstrip("\n").partition("\t")
            if not sep:
                raise InputError("expected 'lang<TAB>token'", path, line_no)
            if lang not in valid:
                valid.add(check_lang(lang, path, line_no))
            yield line_no, lang, token


def _read_words(path: Path, langs: dict[str, tuple[int, int]], n: int) -> list[str]:
    owner = np.empty(n, dtype=object)
    for lang, (start, end) in langs.items():
        owner[start:end] = lang
    words: list[str] = []
    for line_no, lang, token in read_lang_tokens(path):
        if line_no > n:
            raise InputError(f"words.txt has more lines than vectors.npy has rows ({n})", path, line_no)
        if lang != owner[line_no - 1]:
            raise InputError(f"language {lang!r} outside its rows in space.json", path, line_no)
        words.append(token)
    if len(words) != n:
        raise InputError(f"words.txt has {len(words)} lines but vectors.npy has {n} rows", path)
    return words


def _check_meta(meta: Any, path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} description", path)
    langs = meta.get("langs")
    if not isinstance(langs, dict) or not langs:
        raise InputError("field 'langs' must map languages to [start, end] row ranges", path)
    for lang, span in langs.items():
        check_lang(lang, path)
        ok = isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
        if not ok or not 0 <= span[0] <= span[1]:
            raise InputError(f"bad row range for language {lang!r}", path)
    if not isinstance(meta.get("dim"), int) or isinstance(meta.get("dim"), bool):
        raise InputError("field 'dim' must be an integer", path)
    provenance = meta.get("provenance", [])
    if not isinstance(provenance, list) or not all(isinstance(x, dict) for x in provenance):
        raise InputError("field 'provenance' must be a list of records (JSON objects)", path)
    if not isinstance(meta.get("sha256", ""), str):
        raise InputError("field 'sha256' must be a string", path)
    return meta


def open_space(path: str | Path) -> Space:
    """Open a space directory without reading the matrix into memory."""
    path = Path(path)
    meta_path = path / "space.json"
    if not path.is_dir():
        raise InputError("not a space directory", path)
    for name in ("space.json", "words.txt", "vectors.npy"):
        if not (path / name).is_file():
            raise InputError(f"space directory lacks {name}", path)
    try:
        meta = orjson.loads(meta_path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise InputError(f"invalid JSON ({err.msg})", meta_path, err.lineno) from None
    meta = _check_meta(meta, meta_path)
    try:
        with warnings.catch_warnings():  # numpy warns about some damaged headers before refusing them
            warnings.simplefilter("ignore")
            vectors = np.load(path / "vectors.npy", mmap_mode="r", allow_pickle=False)
    except Exception as err:  # noqa: BLE001
        # a damaged .npy header goes through tokenize and ast.literal_eval: SyntaxError, TokenError, ... too
        if "pickle" in str(err):  # numpy takes anything that is not .npy for a pickle
            raise InputError("unreadable .npy matrix: not in .npy format (if it is a pickle: pickles are never "
                             "loaded, they can run code)", path / "vectors.npy") from None
        raise InputError(f"unreadable .npy matrix ({type(err).__name__}: {err})", path / "vectors.npy") from None
    if not isinstance(vectors, np.ndarray):  # np.load opens a zip file as an .npz archive
        if hasattr(vectors, "close"):
            vectors.close()
        raise InputError("not an .npy matrix (an .npz archive?)", path / "vectors.npy")
    if vectors.ndim != 2 or vectors.dtype != np.float32:
        raise InputError(f"expected a float32 [N, D] matrix, found {vectors.dtype} {vectors.shape}", path / "vectors.npy")
    if vectors.shape[1] != meta["dim"]:
        raise InputError(f"space.json says dim {meta['dim']} but vectors have {vectors.shape[1]}", meta_path)
    spans = sorted(meta["langs"].values())
    covered = 0
    for start, end in spans:
        if start != covered:
            raise InputError("language row ranges must be contiguous and cover every row", meta_path)
        covered = end
    if covered != vectors.shape[0]:
        raise InputError(f"language rows cover {covered} rows but vectors.npy has {vectors.shape[0]}", meta_path)
    lines, n = _count_lines(path / "words.txt"), int(vectors.shape[0])
    if lines > n:
        raise InputError(f"words.txt has more lines than vectors.npy has rows ({n})", path / "words.txt", n + 1)
    if lines < n:
        raise InputError(f"words.txt has {lines} lines but vectors.npy has {n} rows", path / "words.txt")
    space = Space(path, meta, vectors)
    check_space_finite(space)
    return space


def _count_lines(path: Path) -> int:
    """Lines of a file, counted in 1 MiB blocks (a 2M-word words.txt takes a few tens of milliseconds)."""
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def write_space(
    path: str | Path,
    blocks: Sequence[LangBlock],
    provenance: list[dict[str, Any]] | None = None,
    force: bool = False,
    extra: dict[str, Any] | None = None,
) -> str:
    """Write blocks as one space directory, atomically; returns the content sha256."""
    if not blocks:
        raise InputError("refusing to write an empty space", path)
    dim = int(blocks[0].vectors.shape[1])
    langs: dict[str, list[int]] = {}
    n = 0
    for block in blocks:
        check_lang(block.lang, path)
        if block.lang in langs:
            raise InputError(f"language {block.lang!r} appears twice", path)
        if block.vectors.shape != (len(block.words), dim):
            raise InputError(f"language {block.lang!r}: {len(block.words)} words but vectors {block.vectors.shape}",
                             path)
        langs[block.lang] = [n, n + len(block.words)]
        n += len(block.words)
    digest = hashlib.sha256()
    with atomic_dir(path, force=force) as tmp:
        _write_words(tmp / "words.txt", blocks, digest, Path(path))
        _write_vectors(tmp / "vectors.npy", blocks, n, dim, digest, Path(path))
        meta = {"format": FORMAT, "dim": dim, "langs": langs, "sha256": digest.hexdigest(),
                "provenance": provenance or []}
        meta.update(extra or {})
        (tmp / "space.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")
        fsync_file(tmp / "space.json")
    return digest.hexdigest()


def _write_words(path: Path, blocks: Sequence[LangBlock], digest: Any, target: Path) -> None:
    with open(path, "wb") as handle:
        for block in blocks:
            for word in block.words:
                if "\n" in word or "\r" in word:
                    raise InputError(f"token {word!r} contains a line break: not representable in words.txt",
                                     target)
                data = f"{block.lang}\t{word}\n".encode()
                handle.write(data)
                digest.update(data)
    fsync_file(path)


def _write_vectors(path: Path, blocks: Sequence[LangBlock], n: int, dim: int, digest: Any, target: Path) -> None:
    """The .npy header, then the rows with ordinary writes: a full disk is an ``OSError`` (ENOSPC) that the caller
    turns into a message, where a memory map would die of SIGBUS. Every row is checked to be finite first."""
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})
        for block in blocks:
            for start in range(0, len(block.words), BLOCK_ROWS):
                rows = np.ascontiguousarray(block.vectors[start:start + BLOCK_ROWS], dtype="<f4")
                _check_finite(rows, block.lang, start, block.words, target)
                handle.write(rows)
                digest.update(rows)
    fsync_file(path)


def _check_finite(rows: np.ndarray, lang: str, start: int, words: Sequence[str] | None, path: Path | None) -> None:
    """Refuse NaN and Inf: one of them makes every trained weight NaN. Two reductions per block (min and max
    propagate NaN and show Inf), no boolean copy of the block."""
    if rows.size == 0 or (np.isfinite(rows.min()) and np.isfinite(rows.max())):
        return
    bad = start + int(np.argmax(~np.isfinite(rows).all(axis=1)))
    word = f" ({words[bad]!r})" if words is not None and bad < len(words) else ""
    raise InputError(f"vector of {lang} word {bad + 1}{word} contains NaN or Inf", path)


_FINITE_CHECKED: set[tuple[str, int, int]] = set()


def row_major_file(vectors: np.ndarray) -> bool:
    """Whether ``vectors`` maps a C-order matrix of a file (rows can then be read at their byte offset)."""
    return isinstance(vectors, np.memmap) and bool(vectors.filename) and vectors.flags.c_contiguous


def check_space_finite(space: Space) -> None:
    """Blockwise scan of the matrix for NaN and Inf, once per file version (path, size, mtime) per process."""
    stat = (space.path / "vectors.npy").stat()
    key = (str(Path(os.path.realpath(space.path))), stat.st_size, stat.st_mtime_ns)
    if key in _FINITE_CHECKED:
        return
    buffer = np.empty((READ_ROWS, space.dim), dtype=np.float32)
    with open(space.path / "vectors.npy", "rb") as handle:  # read, not mapped: the pages stay out of the RSS
        for lang, (begin, end) in sorted(space.langs.items(), key=lambda item: item[1]):
            for start in range(begin, end, READ_ROWS):
                rows = buffer[: min(end, start + READ_ROWS) - start]
                if row_major_file(space.vectors):
                    handle.seek(space.vectors.offset + start * space.dim * rows.itemsize)
                    if handle.readinto(memoryview(rows).cast("B")) != rows.nbytes:
                        raise InputError("vectors.npy is shorter than its header says", space.path / "vectors.npy")
                else:  # a Fortran-order file: through the map
                    rows[:] = space.vectors[start:start + len(rows)]
                _check_finite(rows, lang, start - begin, None, space.path / "vectors.npy")
    _FINITE_CHECKED.add(key)


def content_sha256(space: Space) -> str:
    """The content hash as write_space computes it (words.txt bytes, then the matrix rows), read from disk."""
    digest = hashlib.sha256()
    with open(space.path / "words.txt", "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    for start in range(0, len(space), BLOCK_ROWS):
        digest.update(np.ascontiguousarray(space.vectors[start:start + BLOCK_ROWS], dtype=np.float32))
    return digest.hexdigest()


def data_size(space: Space) -> int:
    """Bytes of words.txt and vectors.npy: with space.json's sha256, the cheap fingerprint of a space."""
    return sum((space.path / name).stat().st_size for name in ("words.txt", "vectors.npy"))


def check_fingerprint(space: Space, expected: str | None = None, size: int | None = None, full: bool = False,
                      force: bool = False, what: str = "recorded") -> str | None:
    """Compare a space with the fingerprint a record or checkpoint holds for it.

    Cheap (default): the sha256 in space.json and the data size. Full (``full``, ``--verify``): the content hash
    recomputed from words.txt and vectors.npy, which must also equal the one in space.json. A mismatch is an
    ``InputError`` naming both fingerprints, or with ``force`` the same text returned as a warning.
    """
    problems = []
    found = space.sha256
    if full:
        found = content_sha256(space)
        if space.sha256 and space.sha256 != found:
            problems.append(f"space.json says sha256 {space.sha256} but the content hashes to {found}")
    if expected and expected != found:
        problems.append(f"{what} sha256 {expected} but the space has {found or '(none)'}")
    if size is not None and size != data_size(space):
        problems.append(f"{what} size {size} bytes but the space has {data_size(space)}")
    if not problems:
        return None
    message = "fingerprint mismatch: " + "; ".join(problems) + " (the space changed; --force uses it anyway)"
    if not force:
        raise InputError(message, space.path)
    return message


def space_sha256(space: Space) -> str:
    """The content hash write_space stores (words.txt bytes, then the matrix rows); computed if absent."""
    return space.sha256 or content_sha256(space)


def block_sha256(block: LangBlock) -> str:
    """The fingerprint of one language block as ``write_space`` writes it: its ``words.txt`` lines, then its
    float32 rows (a pivot's fingerprint: two spaces share a coordinate system only if their pivots match)."""
    digest = hashlib.sha256()
    for word in block.words:
        digest.update(f"{block.lang}\t{word}\n".encode())
    vectors = block.vectors
    for start in range(0, len(vectors), BLOCK_ROWS):
        digest.update(np.ascontiguousarray(vectors[start:start + BLOCK_ROWS], dtype=np.float32))
    return digest.hexdigest()


def merged_provenance(spaces: Sequence[Space]) -> list[dict[str, Any]]:
    """The records that produced the given spaces, each once, in order."""
    seen: dict[bytes, dict[str, Any]] = {}
    for space in spaces:
        for record in space.provenance:
            seen.setdefault(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), record)
    return list(seen.values())
