"""Word-vector files: fastText/word2vec text (.vec), word2vec binary, fastText .bin; gzip transparent."""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.textfile import iter_lines, open_binary

CHUNK = 8192
FORMATS = ("vec", "word2vec", "bin")


@dataclass
class WordVectors:
    """Tokens in file order (most frequent first) and their float32 vectors."""

    words: list[str]
    vectors: np.ndarray
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)


class _Collector:
    """Accumulate rows chunk by chunk, keeping the first occurrence of a duplicate token."""

    def __init__(self, dim: int, limit: int | None):
        self.dim = dim
        self.limit = limit
        self.words: list[str] = []
        self.seen: set[str] = set()
        self.chunks: list[np.ndarray] = []
        self.duplicates = 0

    @property
    def full(self) -> bool:
        return self.limit is not None and len(self.words) >= self.limit

    def add(self, words: Sequence[str], vectors: np.ndarray) -> None:
        room = None if self.limit is None else self.limit - len(self.words)
        keep: list[int] = []
        for i, word in enumerate(words):
            if room is not None and len(keep) >= room:
                break
            if word in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(word)
            keep.append(i)
        self.words.extend(words[i] for i in keep)
        self.chunks.append(vectors[keep])

    def result(self) -> WordVectors:
        matrix = np.concatenate(self.chunks) if self.chunks else np.zeros((0, self.dim), np.float32)
        return WordVectors(self.words, np.ascontiguousarray(matrix, dtype=np.float32), self.duplicates)


def _parse_header(line: str, path: Path) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InputError(f"expected a header 'N D', found {line[:40]!r}", path, 1)
    count, dim = int(parts[0]), int(parts[1])
    if dim <= 0:
        raise InputError("dimension in header must be positive", path, 1)
    return count, dim


def _split_vec_line(line: str, dim: int, path: Path, line_no: int) -> tuple[str, str]:
    """The last ``dim`` space-separated fields are the vector; everything before is the token."""
    body = line.rstrip("\r").rstrip(" ")
    parts = body.rsplit(" ", dim)
    if len(parts) != dim + 1:
        raise InputError(f"expected a token and {dim} values, found {len(parts) - 1} fields", path, line_no)
    return parts[0], body[len(parts[0]) + 1:]


def _parse_floats(texts: list[str], starts: list[int], dim: int, path: Path) -> np.ndarray:
    try:
        matrix = np.loadtxt(io.StringIO("\n".join(texts)), dtype=np.float32, delimiter=" ", ndmin=2,
                            comments=None, quotechar=None)
    except ValueError:
        _raise_first_bad_value(texts, starts, path)
    if matrix.shape != (len(texts), dim):
        raise InputError("malformed vector values", path, starts[0])
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise InputError("vector contains NaN or Inf", path, starts[int(np.argmax(bad))])
    return matrix


def _raise_first_bad_value(texts: list[str], starts: list[int], path: Path) -> None:
    for text, line_no in zip(texts, starts):
        for value in text.split(" "):
            try:
                float(value)
            except ValueError:
                raise InputError(f"not a number: {value[:30]!r}", path, line_no) from None
    raise InputError("malformed vector values", path, starts[0])


def read_vec(path: str | Path, max_vocab: int | None = None) -> WordVectors:
    """Read the fastText/word2vec text format; tokens may contain spaces or be Unicode spaces."""
    path = Path(path)
    lines = iter_lines(path)
    first = next(lines, None)
    if first is None:
        raise InputError("empty file, expected a header 'N D'", path)
    _, dim = _parse_header(first[1], path)
    collector = _Collector(dim, max_vocab)
    for words, texts, starts in _chunks(lines, dim, path):
        collector.add(words, _parse_floats(texts, starts, dim, path))
        if collector.full:
            break
    return collector.result()


def _chunks(lines: Iterator[tuple[int, str]], dim: int, path: Path):
    words: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    for line_no, line in lines:
        if not line.strip(" \r"):
            continue
        word, text = _split_vec_line(line, dim, path, line_no)
        words.append(word)
        texts.append(text)
        starts.append(line_no)
        if len(words) == CHUNK:
            yield words, texts, starts
            words, texts, starts = [], [], []
    if words:
        yield words, texts, starts


@contextlib.contextmanager
def _output(path: str | Path, force: bool, text: bool) -> Iterator[IO]:
    """An atomic output file, gzip-compressed (reproducibly: no name, no mtime) when its name ends in .gz."""
    path = Path(path)
    with atomic_file(path, force=force, mode="wb") as raw:
        packed = gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else None
        stream = packed or raw
        wrapper = io.TextIOWrapper(stream, encoding="utf-8", newline="\n") if text else None
        try:
            yield wrapper or stream
        finally:
            if wrapper is not None:
                wrapper.detach()  # flushes; leaves the byte stream open
            if packed is not None:
                packed.close()  # writes the gzip trailer; leaves the file open


def write_vec(path: str | Path, words: Sequence[str], vectors: np.ndarray, force: bool = False) -> None:
    """Write the .vec text format (gzip if the name ends in .gz); float32 values are printed exactly."""
    for word in words:
        if word[-1:] == " " or "\n" in word or "\r" in word:
            raise InputError(f"token {word!r} ends in a space or contains a line break: not representable in .vec")
    with _output(path, force=force, text=True) as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n")
        for start in range(0, len(words), CHUNK):
            block = np.asarray(vectors[start:start + CHUNK], dtype=np.float32)
            rows = [" ".join(map(repr, map(float, row))) for row in block.tolist()]
            handle.writelines(f"{w} {r}\n" for w, r in zip(words[start:start + CHUNK], rows))


def _read_token(handle: IO[bytes], path: Path, index: int) -> str:
    raw = bytearray()
    while True:
        ch = handle.read(1)
        if not ch:
            raise InputError(f"truncated file: word {index + 1} is incomplete", path)
        if ch == b" ":
            break
        if ch == b"\n" and not raw:
            continue
        raw += ch
        if len(raw) > 10_000:
            raise InputError(f"word {index + 1} is longer than 10000 bytes", path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"word {index + 1} is not UTF-8", path) from None


def read_word2vec_bin(path: str | Path, max_vocab: int | None = None) -> WordVectors:
    """Read word2vec's binary format: header line, then ``token<SP>`` + D little-endian float32."""
    path = Path(path)
    with open_binary(path) as handle:
        header = handle.readline(100).decode("ascii", errors="replace")
        count, dim = _parse_header(header.strip(), path)
        collector = _Collector(dim, max_vocab)
        words: list[str] = []
        rows: list[bytes] = []
        index = 0
        while index < count and not collector.full:
            words.append(_read_token(handle, path, index))
            data = handle.read(4 * dim)
            if len(data) != 4 * dim:
                raise InputError(f"truncated file: vector of word {index + 1} is incomplete", path)
            rows.append(data)
            index += 1
            if len(words) == CHUNK:
                collector.add(words, _binary_rows(rows, dim, path))
                words, rows = [], []
        if words:
            collector.add(words, _binary_rows(rows, dim, path))
    return collector.result()


def _binary_rows(rows: list[bytes], dim: int, path: Path) -> np.ndarray:
    matrix = np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), dim).astype(np.float32)
    if not np.isfinite(matrix).all():
        raise InputError("vector contains NaN or Inf", path)
    return matrix


def write_word2vec_bin(path: str | Path, words: Sequence[str], vectors: np.ndarray, force: bool = False) -> None:
    for word in words:
        if " " in word or "\n" in word:
            raise InputError(f"token {word!r} contains a space or newline: not representable in word2vec binary")
    with _output(path, force=force, text=False) as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for start in range(0, len(words), CHUNK):
            block = np.asarray(vectors[start:start + CHUNK], dtype="<f4")
            for word, row in zip(words[start:start + CHUNK], block):
                handle.write(word.encode() + b" " + row.tobytes() + b"\n")


FASTTEXT_MAGIC = 793712314


def _check_fasttext_header(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) < 8 or int.from_bytes(head[:4], "little") != FASTTEXT_MAGIC:
        raise InputError("not a fastText .bin model (bad magic number)", path)


def read_fasttext_bin(path: str | Path, max_vocab: int | None = None) -> WordVectors:
    """Raw fastText word vectors: the mean of the input-matrix rows of a word's subwords.

    (Bojanowski et al. 2017); the bindings' get_word_vector returns them L2-normalised, so they are rebuilt here.
    """
    import fasttext

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    _check_fasttext_header(path)
    try:
        model = fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError) as err:
        raise InputError(f"unreadable fastText model ({err})", path) from None
    words = list(model.get_words())[: max_vocab or None]
    matrix = model.get_input_matrix()
    out = np.empty((len(words), matrix.shape[1]), dtype=np.float32)
    for i, word in enumerate(words):
        _, ids = model.get_subwords(word)
        out[i] = matrix[ids].mean(axis=0)
    return WordVectors(words, out)


def detect_format(path: str | Path) -> str:
    """'bin' (fastText model), 'word2vec' (binary) or 'vec' (text), from the file's first bytes."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a regular file", path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_MAGIC:
        return "bin"
    with open_binary(path) as handle:
        header = handle.readline(100)
        sample = handle.read(400)
    try:
        sample.decode("utf-8")
        return "vec"
    except UnicodeDecodeError as err:
        return "word2vec" if err.start < len(sample) - 4 else "vec"


def read_vectors(path: str | Path, fmt: str = "auto", max_vocab: int | None = None) -> WordVectors:
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"vec": read_vec, "word2vec": read_word2vec_bin, "bin": read_fasttext_bin}
    if fmt not in readers:
        raise InputError(f"unknown vector format {fmt!r} (known: auto, {', '.join(FORMATS)})")
    return readers[fmt](path, max_vocab=max_vocab)


def write_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, fmt: str, force: bool = False) -> None:
    writers = {"vec": write_vec, "word2vec": write_word2vec_bin}
    if fmt not in writers:
        raise InputError(f"cannot export to {fmt!r} (known: {', '.join(writers)})")
    writers[fmt](path, words, vectors, force=force)
