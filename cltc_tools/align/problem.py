"""What every alignment method receives (``Problem``) and returns (``Fitted``), and where their matrices live.

With a spill folder (``cltc-align`` gives one under ``$TMPDIR``) the matrices of a problem and of each fit are
``SpilledMatrices``: one ``.npy`` file per language, read again at every access. A method that handles one language
at a time (procrustes, multistep, rcsls, the self-learning rounds) then holds one language and the pivot in memory,
not every language twice; without a folder (tests, the library called directly) they are plain dictionaries.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Advance = Callable[[int], None]
Progress = Callable[[str, int | None], AbstractContextManager[Advance]]
Rows = dict[str, tuple[np.ndarray, np.ndarray]]
Matrices = Mapping[str, np.ndarray]


class SpilledMatrices(MutableMapping[str, np.ndarray]):
    """Matrices by language in ``.npy`` files of a private folder (deleted with the object); every read returns a
    fresh array of the language, ``head`` only its first rows and ``on_disk`` a view that ``write_space`` reads a
    block of rows at a time. Files are replaced, never changed, so ``carry`` can share one between two of them."""

    def __init__(self, parent: Path):
        self.folder = Path(tempfile.mkdtemp(prefix="matrices-", dir=parent))
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def _path(self, lang: str) -> Path:
        return self.folder / f"{lang}.npy"

    def __setitem__(self, lang: str, matrix: np.ndarray) -> None:
        part = self.folder / f"{lang}.part"
        with open(part, "wb") as handle:
            np.save(handle, np.ascontiguousarray(matrix), allow_pickle=False)
        os.replace(part, self._path(lang))
        self._shapes[lang] = tuple(matrix.shape)

    def __getitem__(self, lang: str) -> np.ndarray:
        if lang not in self._shapes:
            raise KeyError(lang)
        path = self._path(lang)
        return np.load(path, allow_pickle=False)

    def __delitem__(self, lang: str) -> None:
        del self._shapes[lang]
        self._path(lang).unlink()

    def __iter__(self) -> Iterator[str]:
        return iter(self._shapes)

    def __len__(self) -> int:
        return len(self._shapes)

    def link(self, lang: str, source: SpilledMatrices) -> None:
        """The language's matrix of ``source``, shared (a hard link where the file system has them), not read."""
        if lang not in source._shapes:
            raise KeyError(lang)
        self._path(lang).unlink(missing_ok=True)
        try:
            os.link(source._path(lang), self._path(lang))
        except OSError:  # a file system without hard links
            shutil.copyfile(source._path(lang), self._path(lang))
        self._shapes[lang] = source._shapes[lang]

    def head(self, lang: str, n: int) -> np.ndarray:
        """The first ``n`` rows of a language, read alone."""
        return np.array(self.on_disk(lang)[:n])

    def on_disk(self, lang: str) -> RowsOnDisk:
        if lang not in self._shapes:
            raise KeyError(lang)
        return RowsOnDisk(self._path(lang), self._shapes[lang])


@dataclass(frozen=True)
class RowsOnDisk:
    """A matrix in an ``.npy`` file that is read a slice of rows at a time (the pages are mapped only while a
    slice is copied, so they do not stay in the process's resident memory)."""

    path: Path
    shape: tuple[int, ...]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        mapped = np.load(self.path, mmap_mode="r", allow_pickle=False)
        try:
            return np.array(mapped[rows])
        finally:
            del mapped


def head(matrices: Matrices, lang: str, n: int) -> np.ndarray:
    """The first ``n`` rows of a language's matrix, an array of its own that the caller may overwrite (read alone
    when the matrix is spilled to disk)."""
    return matrices.head(lang, n) if isinstance(matrices, SpilledMatrices) else np.array(matrices[lang][:n])


def carry(out: MutableMapping[str, np.ndarray], source: Matrices, lang: str) -> None:
    """``out[lang] = source[lang]``, without reading the matrix when both are spilled."""
    if isinstance(out, SpilledMatrices) and isinstance(source, SpilledMatrices):
        out.link(lang, source)
    else:
        out[lang] = source[lang]


def stored(matrices: Matrices, lang: str) -> Any:
    """What ``write_space`` reads a language's rows from: the array, or the spilled file a block at a time."""
    return matrices.on_disk(lang) if isinstance(matrices, SpilledMatrices) else matrices[lang]


def no_progress(description: str, total: int | None) -> AbstractContextManager[Advance]:
    return nullcontext(lambda n=1: None)


@dataclass
class Problem:
    """The languages to put into one space: pivot first, normalised float32 matrices, dictionary rows.

    ``rows[lang]`` holds the training pairs of a non-pivot language: its rows and the pivot rows they translate to
    (every --dict of that language, duplicates once); it is empty when no dictionary was given.
    """

    pivot: str
    order: list[str]
    matrices: Matrices
    words: dict[str, list[str]]
    rows: Rows = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    progress: Progress = no_progress
    spill: Path | None = None  # a folder for the fits' matrices (None: they stay in memory)

    @property
    def others(self) -> list[str]:
        """The non-pivot languages, in output order."""
        return [lang for lang in self.order if lang != self.pivot]

    def pairs(self, lang: str) -> tuple[np.ndarray, np.ndarray]:
        """The (language rows, pivot rows) training pairs of a non-pivot language (empty if none)."""
        empty = np.zeros(0, dtype=np.int64)
        return self.rows.get(lang, (empty, empty))

    def new_matrices(self) -> MutableMapping[str, np.ndarray]:
        """An empty mapping for a fit's matrices: spilled to disk when the problem has a spill folder."""
        return SpilledMatrices(self.spill) if self.spill is not None else {}


@dataclass
class Fitted:
    """The aligned matrices (one per language, all in one coordinate system) and what the fit found."""

    matrices: Matrices
    fit: dict[str, Any] = field(default_factory=dict)
