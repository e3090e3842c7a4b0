"""What every alignment method receives (``Problem``) and returns (``Fitted``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Advance = Callable[[int], None]
Progress = Callable[[str, int | None], AbstractContextManager[Advance]]
Rows = dict[str, tuple[np.ndarray, np.ndarray]]


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
    matrices: dict[str, np.ndarray]
    words: dict[str, list[str]]
    rows: Rows = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    progress: Progress = no_progress

    @property
    def others(self) -> list[str]:
        """The non-pivot languages, in output order."""
        return [lang for lang in self.order if lang != self.pivot]

    def pairs(self, lang: str) -> tuple[np.ndarray, np.ndarray]:
        """The (language rows, pivot rows) training pairs of a non-pivot language (empty if none)."""
        empty = np.zeros(0, dtype=np.int64)
        return self.rows.get(lang, (empty, empty))


@dataclass
class Fitted:
    """The aligned matrices (one per language, all in one coordinate system) and what the fit found."""

    matrices: dict[str, np.ndarray]
    fit: dict[str, Any] = field(default_factory=dict)
