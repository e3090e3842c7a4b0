"""Atomic outputs: write under a temporary name in the same folder, rename when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.names import resolved


def check_writable(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless forced; checked on the resolved path, so that
    ``out/new/../keep`` finds ``out/keep`` even before ``out/new`` exists."""
    if (os.path.lexists(path) or os.path.lexists(resolved(path))) and not force:
        raise OutputExistsError(path)


def check_output_file(path: Path, force: bool) -> None:
    """Everything that can be known about a file output before the work: not a folder, not an existing file
    without ``force``, a folder to put it in that exists (or can be made) and is writable."""
    real = resolved(path)
    if real.is_dir():
        raise InputError("is a directory, expected a file name", path)
    check_writable(path, force)
    parent = real.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot create a file under {parent}: not a directory", path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write in {parent}: permission denied or read-only", path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a temporary output is created and named, so that an interrupt always
    finds the ``try`` that removes it (a signal in between would leave the temporary behind)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace(tmp: Path, target: Path) -> None:
    """Move tmp onto target; a directory target is swapped out, then removed."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        try:
            os.replace(target, old)
            os.replace(tmp, target)
        except BaseException:
            # interrupted (Ctrl-C) or failed between the two renames: put the previous output back
            if old.exists() and not target.exists():
                os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_dir(target: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` when the block succeeds."""
    check_writable(Path(target), force)
    target = resolved(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with _signals_deferred():
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); outputs get the usual mode
        yield tmp
        _replace(tmp, target)
    except BaseException:
        if tmp is not None:
            _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_file(target: str | Path, force: bool = False, mode: str = "wb") -> Iterator:
    """Yield an open file whose content replaces ``target`` only when the block succeeds."""
    given = Path(target)
    target = resolved(given)
    if target.is_dir():  # never replace a whole folder by a file, even with --force
        raise InputError("is a directory, expected a file name", given)
    check_writable(given, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with _signals_deferred():
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
            tmp = Path(name)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        _replace(tmp, target)
    except BaseException:
        if tmp is not None:
            _remove(tmp)
        raise


def fsync_file(path: Path) -> None:
    """Flush a finished file to disk before its directory is renamed into place."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
