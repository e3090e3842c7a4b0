"""Word-vector files: fastText/word2vec text (.vec), word2vec binary, fastText .bin; gzip transparent."""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.textfile import compressed_errors, iter_lines, open_binary

CHUNK = 8192
FORMATS = ("vec", "word2vec", "bin")
MAX_DIM = 100_000  # a larger dimension in a header is corruption, not a model: refused before any allocation
_COUNT = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("²".isdigit() is True, int("²") fails)


@dataclass
class WordVectors:
    """Tokens in file order (most frequent first) and their float32 vectors."""

    words: list[str]
    vectors: np.ndarray
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)
    bad_rows: int = 0  # rows without exactly D values, skipped (``skip_bad_rows``); their first line below
    first_bad_line: int | None = None


@dataclass
class _BadRows:
    """A ``.vec`` row without exactly D values: an error (default) or, with ``skip``, skipped and counted."""

    skip: bool = False
    count: int = 0
    first: int | None = None

    def found(self, error: InputError) -> None:
        if not self.skip:
            raise error
        self.count += 1
        self.first = self.first if self.first is not None else error.line


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
    if len(parts) != 2 or not all(_COUNT.fullmatch(p) for p in parts):
        raise InputError(f"expected a header 'N D', found {line[:40]!r}", path, 1)
    count, dim = int(parts[0]), int(parts[1])
    if dim <= 0:
        raise InputError("dimension in header must be positive", path, 1)
    if dim > MAX_DIM:
        raise InputError(f"dimension {dim} in header is implausible (at most {MAX_DIM})", path, 1)
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
    """Find the line numpy refused (Python's float() is more lenient: '1_0', Arabic-Indic digits)."""
    for text, line_no in zip(texts, starts):
        try:
            np.loadtxt(io.StringIO(text), dtype=np.float32, delimiter=" ", ndmin=2, comments=None, quotechar=None)
        except ValueError:
            for value in text.split(" "):
                try:
                    if not value.strip():
                        raise ValueError("empty")
                    np.loadtxt(io.StringIO(value), dtype=np.float32, ndmin=1, comments=None, quotechar=None)
                except ValueError:
                    raise InputError(f"not a number: {value[:30]!r}", path, line_no) from None
            raise InputError("malformed vector values", path, line_no) from None
    raise InputError("malformed vector values", path, starts[0])


def read_vec(path: str | Path, max_vocab: int | None = None, skip_bad_rows: bool = False) -> WordVectors:
    """Read the fastText/word2vec text format; tokens may contain spaces or be Unicode spaces.

    Every row must hold a token and exactly D values; a row with another count is a ``file:line`` error, or with
    ``skip_bad_rows`` skipped and counted (``bad_rows``)."""
    path = Path(path)
    bad = _BadRows(skip_bad_rows)
    lines = iter_lines(path)
    first = next(lines, None)
    if first is None:
        raise InputError("empty file, expected a header 'N D'", path)
    count, dim = _parse_header(first[1], path)
    collector = _Collector(dim, max_vocab)
    rows, last = 0, 1
    for words, texts, starts in _chunks(lines, dim, path, bad):
        collector.add(words, _parse_floats(texts, starts, dim, path))
        rows, last = rows + len(words), starts[-1]
        if collector.full:
            return _with_bad_rows(collector.result(), bad)
    if rows < count and _cut_mid_line(path):
        # fewer rows than the header is normal (head -n 200001 wiki.vec); fewer rows *and* a last line without its
        # line end is a download or copy that stopped early, with the last value possibly cut short
        raise InputError(f"truncated file: the header promises {count} words, the file stops after {rows} "
                         "in the middle of a line", path, last)
    return _with_bad_rows(collector.result(), bad)


def _with_bad_rows(vectors: WordVectors, bad: _BadRows) -> WordVectors:
    vectors.bad_rows, vectors.first_bad_line = bad.count, bad.first
    return vectors


def _cut_mid_line(path: Path) -> bool:
    """A plain file whose last byte is not a line end (gzip has its own end-of-stream check)."""
    with open(path, "rb") as handle:
        if handle.read(2) == b"\x1f\x8b":
            return False
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def _check_width(line: str, word: str, dim: int, path: Path, line_no: int, first: bool) -> None:
    """A row with more numbers than the header's D, not a token with spaces: ``"b 0.1"`` as the token of a row with
    D + 1 values would be a wrong token with a shifted vector. On the first row the header is wrong."""
    if " " not in word or not _is_number(word.rsplit(" ", 1)[1]):
        return
    fields = line.rstrip("\r").rstrip(" ").split(" ")
    values = next((i for i, f in enumerate(reversed(fields)) if not _is_number(f)), len(fields) - 1)
    if first:
        raise InputError(f"the header says dimension {dim} but the first vector has {values} values", path, line_no)
    raise InputError(f"expected {dim} values, found {values}", path, line_no)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _chunks(lines: Iterator[tuple[int, str]], dim: int, path: Path, bad: _BadRows):
    words: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    first = True
    for line_no, line in lines:
        if not line.strip(" \r"):
            continue
        try:
            word, text = _split_vec_line(line, dim, path, line_no)
            _check_width(line, word, dim, path, line_no, first)
        except InputError as err:
            bad.found(err)
            continue
        finally:
            first = False
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
            raise InputError(f"token {word!r} ends in a space or contains a line break: not representable in .vec",
                             path)
        if " " in word and _is_number(word.rsplit(" ", 1)[1]):
            raise InputError(f"token {word!r} ends in a space and a number, which a reader takes for one more "
                             "value: not representable in .vec", path)
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
        if ch in (b"\n", b"\r") and not raw:  # the line end after the previous vector (optional)
            continue
        if ch in (b"\n", b"\r"):
            raise InputError(f"word {index + 1} contains a line break (damaged file?)", path)
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
    with open_binary(path) as handle, compressed_errors(path):
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
                collector.add(words, _binary_rows(rows, dim, path, index - len(rows)))
                words, rows = [], []
        if words:
            collector.add(words, _binary_rows(rows, dim, path, index - len(rows)))
    return collector.result()


def _binary_rows(rows: list[bytes], dim: int, path: Path, first: int = 0) -> np.ndarray:
    matrix = np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), dim).astype(np.float32)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise InputError(f"vector of word {first + int(np.argmax(bad)) + 1} contains NaN or Inf", path)
    return matrix


def write_word2vec_bin(path: str | Path, words: Sequence[str], vectors: np.ndarray, force: bool = False) -> None:
    for word in words:
        if " " in word or "\n" in word:
            raise InputError(f"token {word!r} contains a space or newline: not representable in word2vec binary",
                             path)
    with _output(path, force=force, text=False) as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for start in range(0, len(words), CHUNK):
            block = np.asarray(vectors[start:start + CHUNK], dtype="<f4")
            for word, row in zip(words[start:start + CHUNK], block):
                handle.write(word.encode() + b" " + row.tobytes() + b"\n")


FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSIONS = (11, 12)
_FT_ARGS = struct.Struct("<12id")  # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
_FT_DICT = struct.Struct("<3iqq")  # size nwords nlabels ntokens pruneidx_size
_FT_ENTRY = struct.Struct("<qb")  # count, entry type (0 word, 1 label) after the NUL-terminated word
_FT_MATRIX = struct.Struct("<qq")  # rows, columns; then rows x columns float32
_FT_MAX_WORD = 1 << 16


@dataclass(frozen=True)
class FastTextHeader:
    version: int
    dim: int
    model: int
    bucket: int
    minn: int
    maxn: int
    nwords: int
    nlabels: int


def _check_fasttext_header(path: Path) -> FastTextHeader:
    """Check the whole layout of a fastText model file against its size before the C++ loader sees it.

    The loader trusts every count in the file: a truncated dictionary makes it read forever, a matrix size
    beyond the file allocates without bound, a zero bucket count divides by zero. So every field it uses to
    size or index something is checked here, and the file must end exactly where the layout says.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header, offset = _read_fasttext_counts(handle, path)
        offset = _scan_fasttext_dictionary(handle, path, offset, header.nwords + header.nlabels, header.nwords, size)
        handle.seek(offset)
        rows = header.nlabels if header.model == 3 else header.nwords
        for what, expected_rows in (("input", header.nwords + header.bucket), ("output", rows)):
            offset = _check_fasttext_matrix(handle, path, what, expected_rows, header.dim, offset, size)
        if offset != size:
            raise InputError(f"fastText model has {size - offset} unexpected bytes after its matrices", path)
    return header


def _read_fasttext_counts(handle: IO[bytes], path: Path) -> tuple[FastTextHeader, int]:
    """Magic number, version, arguments and dictionary counts; returns them and the offset after them."""
    head = handle.read(8)
    if len(head) < 8 or int.from_bytes(head[:4], "little") != FASTTEXT_MAGIC:
        raise InputError("not a fastText .bin model (bad magic number)", path)
    version = int.from_bytes(head[4:], "little", signed=True)
    if version not in FASTTEXT_VERSIONS:
        raise InputError(f"unsupported fastText model version {version} (known: 11, 12)", path)
    data = handle.read(_FT_ARGS.size + _FT_DICT.size)
    if len(data) < _FT_ARGS.size + _FT_DICT.size:
        raise InputError("truncated fastText model: incomplete header", path)
    (dim, _ws, _epoch, _min_count, _neg, _ngrams, loss, model, bucket, minn, maxn, _lr_rate,
     _t) = _FT_ARGS.unpack_from(data)
    n_entries, nwords, nlabels, _ntokens, prune = _FT_DICT.unpack_from(data, _FT_ARGS.size)
    if not 1 <= dim <= MAX_DIM:
        raise InputError(f"fastText model with implausible dimension {dim}", path)
    if loss not in (1, 2, 3, 4) or model not in (1, 2, 3):
        raise InputError(f"fastText model with unknown loss {loss} or model type {model}", path)
    if bucket < 0 or (maxn > 0 and bucket == 0):
        raise InputError(f"fastText model with invalid bucket count {bucket}", path)
    if nwords < 1 or nlabels < 0 or n_entries != nwords + nlabels:
        raise InputError(f"fastText model with an inconsistent dictionary ({n_entries} entries, {nwords} "
                         f"words, {nlabels} labels)", path)
    if model == 3 and nlabels < 1:
        raise InputError("supervised fastText model without labels", path)
    if prune != -1:
        raise InputError("pruned (quantized) fastText models are not supported", path)
    return FastTextHeader(version, dim, model, bucket, minn, maxn, nwords, nlabels), 8 + len(data)


def _check_fasttext_matrix(handle: IO[bytes], path: Path, what: str, expected_rows: int, dim: int, offset: int,
                           size: int) -> int:
    """One dense matrix (flag, rows, columns, floats) of the expected shape within the file; returns its end."""
    flag = handle.read(1)
    if flag not in (b"\x00", b"\x01"):
        raise InputError(f"truncated or corrupt fastText model ({what} matrix)", path)
    if flag == b"\x01":
        raise InputError("quantized fastText models (.ftz) are not supported", path)
    shape = handle.read(_FT_MATRIX.size)
    if len(shape) < _FT_MATRIX.size:
        raise InputError(f"truncated fastText model ({what} matrix)", path)
    m, n = _FT_MATRIX.unpack(shape)
    if m != expected_rows or n != dim:
        raise InputError(f"fastText {what} matrix is {m} x {n}, expected {expected_rows} x {dim}", path)
    offset += 1 + _FT_MATRIX.size + 4 * m * n
    if offset > size:
        raise InputError(f"truncated fastText model ({what} matrix)", path)
    handle.seek(offset)
    return offset


def _scan_fasttext_dictionary(handle: IO[bytes], path: Path, offset: int, n_entries: int, nwords: int,
                              size: int) -> int:
    """Walk the dictionary entries (NUL-terminated UTF-8 word, int64 count, int8 type); returns the end offset."""
    if n_entries * (1 + _FT_ENTRY.size) > size - offset:
        raise InputError(f"truncated fastText model: {n_entries} dictionary entries cannot fit", path)
    buf = b""
    pos = 0
    for i in range(n_entries):
        while True:
            end = buf.find(b"\x00", pos)
            if end >= 0 and end + 1 + _FT_ENTRY.size <= len(buf):
                break
            if end < 0 and len(buf) - pos > _FT_MAX_WORD:
                raise InputError(f"fastText dictionary entry {i + 1} is longer than {_FT_MAX_WORD} bytes", path)
            more = handle.read(1 << 20)
            if not more:
                raise InputError(f"truncated fastText model: dictionary entry {i + 1} is incomplete", path)
            offset += pos
            buf = buf[pos:] + more
            pos = 0
        _count, kind = _FT_ENTRY.unpack_from(buf, end + 1)
        if kind != (0 if i < nwords else 1):
            raise InputError(f"fastText dictionary entry {i + 1} has an unexpected type {kind}", path)
        try:
            buf[pos:end].decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"fastText dictionary entry {i + 1} is not UTF-8", path) from None
        pos = end + 1 + _FT_ENTRY.size
    return offset + pos


def read_fasttext_bin(path: str | Path, max_vocab: int | None = None) -> WordVectors:
    """Raw fastText word vectors: the mean of the input-matrix rows of a word's subwords.

    (Bojanowski et al. 2017); the bindings' get_word_vector returns them L2-normalised, so they are rebuilt here.
    The file's layout is checked first (``_check_fasttext_header``): the C++ loader trusts it blindly.
    """
    import fasttext

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    _check_fasttext_header(path)
    try:
        model = fasttext.load_model(str(path))
        words: list[str] = []
        seen: set[str] = set()
        duplicates = 0
        for word in model.get_words():  # a damaged dictionary may repeat a word: the first is kept, as in .vec
            if word in seen:
                duplicates += 1
            elif max_vocab is None or len(words) < max_vocab:
                seen.add(word)
                words.append(word)
            else:
                break
        vectors = fasttext_raw_vectors(model, words)
    except (ValueError, RuntimeError, MemoryError, IndexError) as err:
        raise InputError(f"unreadable fastText model ({err})", path) from None
    if not np.isfinite(vectors).all():
        row = int(np.argmax(~np.isfinite(vectors).all(axis=1)))
        raise InputError(f"vector of word {row + 1} ({words[row]!r}) contains NaN or Inf", path)
    return WordVectors(words, vectors, duplicates)


def fasttext_raw_vectors(model, words: Sequence[str]) -> np.ndarray:
    """Raw vectors of ``words`` of a loaded fastText model: the mean of the input-matrix rows of their subwords."""
    matrix = model.get_input_matrix()
    out = np.empty((len(words), matrix.shape[1]), dtype=np.float32)
    with np.errstate(all="ignore"):  # a damaged matrix (inf, NaN) is reported by the caller, not warned about
        for i, word in enumerate(words):
            _, ids = model.get_subwords(word)
            out[i] = matrix[ids].mean(axis=0)
    return out


def detect_format(path: str | Path) -> str:
    """'bin' (fastText model), 'word2vec' (binary) or 'vec' (text), from the file's first bytes."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a regular file", path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_MAGIC:
        return "bin"
    with open_binary(path) as handle, compressed_errors(path):
        header = handle.readline(100)
        sample = handle.read(400)
    try:
        sample.decode("utf-8")
        return "vec"
    except UnicodeDecodeError as err:
        return "word2vec" if err.start < len(sample) - 4 else "vec"


def read_vectors(path: str | Path, fmt: str = "auto", max_vocab: int | None = None,
                 skip_bad_rows: bool = False) -> WordVectors:
    """Any supported file; ``skip_bad_rows`` applies to .vec text (binary formats have no rows to miscount)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"vec": read_vec, "word2vec": read_word2vec_bin, "bin": read_fasttext_bin}
    if fmt not in readers:
        raise InputError(f"unknown vector format {fmt!r} (known: auto, {', '.join(FORMATS)})")
    if fmt == "vec":
        return read_vec(path, max_vocab=max_vocab, skip_bad_rows=skip_bad_rows)
    return readers[fmt](path, max_vocab=max_vocab)


def write_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, fmt: str, force: bool = False) -> None:
    writers = {"vec": write_vec, "word2vec": write_word2vec_bin}
    if fmt not in writers:
        raise InputError(f"cannot export to {fmt!r} (known: {', '.join(writers)})")
    writers[fmt](path, words, vectors, force=force)
