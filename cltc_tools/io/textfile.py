"""Open text and binary inputs, with gzip detected from the content rather than the name."""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cltc_tools.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
# what reading a damaged gzip stream raises: BadGzipFile (an OSError), EOFError when truncated, zlib.error
COMPRESSION_ERRORS = (EOFError, OSError, zlib.error)


@contextlib.contextmanager
def compressed_errors(path: str | Path, line: int | None = None) -> Iterator[None]:
    """Turn the errors of a damaged (or fake) gzip stream into an InputError naming the file."""
    try:
        yield
    except COMPRESSION_ERRORS as err:
        raise InputError(f"truncated or corrupt compressed data ({err})", path, line) from None


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes; gzip is decompressed transparently."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, expected a file", path)
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".gz":
        raise InputError("named .gz but not gzip data", path)
    return open(path, "rb")


def open_text(path: str | Path) -> IO[str]:
    """Open UTF-8 text (BOM removed, any line end accepted); gzip is transparent."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="strict", newline=None)


def iter_lines(path: str | Path):
    """Yield (line number, line without its line end); undecodable bytes are an InputError."""
    line_no = 0
    with open_text(path) as handle:
        try:
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line.rstrip("\n")
        except UnicodeDecodeError as err:
            # decoding runs ahead in blocks, so line_no may lag behind: find the line itself
            where = _first_undecodable_line(path) or line_no + 1
            raise InputError(f"not UTF-8 text ({err.reason})", path, where) from None
        except COMPRESSION_ERRORS as err:
            raise InputError(f"truncated or corrupt compressed data ({err})", path, line_no + 1) from None


def _first_undecodable_line(path: str | Path) -> int | None:
    """Number of the first line that is not UTF-8 (a byte 0x0A is never inside a UTF-8 character)."""
    try:
        with open_binary(path) as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return line_no
    except COMPRESSION_ERRORS:
        pass
    return None
