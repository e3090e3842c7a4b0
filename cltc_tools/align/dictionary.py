"""Dictionaries as row-index pairs against two vocabularies; the ``identical`` pseudo-dictionary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import Dictionary

IDENTICAL = "identical"


@dataclass(frozen=True)
class IndexPairs:
    """Pairs of rows (source row i translates to target row j) and what was lost on the way."""

    src_lang: str
    tgt_lang: str
    src: np.ndarray
    tgt: np.ndarray
    pairs: int
    missing: int
    src_words: int
    source: str
    malformed: int = 0  # dictionary lines without exactly two fields (skipped)

    def __len__(self) -> int:
        return len(self.src)


def index_pairs(dictionary: Dictionary, src_index: Mapping[str, int], tgt_index: Mapping[str, int]) -> IndexPairs:
    """Rows of the dictionary pairs whose two words are in the vocabularies; duplicates kept once."""
    seen: dict[tuple[int, int], None] = {}
    missing = 0
    for src, tgt in dictionary.pairs:
        i, j = src_index.get(src), tgt_index.get(tgt)
        if i is None or j is None:
            missing += 1
        else:
            seen.setdefault((i, j))
    rows = np.array(list(seen), dtype=np.int64).reshape(-1, 2)
    distinct = len({src for src, _ in dictionary.pairs})
    return IndexPairs(dictionary.src_lang, dictionary.tgt_lang, rows[:, 0], rows[:, 1], len(dictionary.pairs),
                      missing, distinct, dictionary.path, dictionary.malformed)


def identical_pairs(src_lang: str, tgt_lang: str, src_words: Sequence[str], tgt_index: Mapping[str, int],
                    limit: int | None = None) -> IndexPairs:
    """Strings found in both vocabularies, in source frequency (row) order, at most ``limit`` (as MUSE)."""
    rows: list[tuple[int, int]] = []
    seen: set[str] = set()
    for i, word in enumerate(src_words):
        if limit is not None and len(rows) >= limit:
            break
        j = tgt_index.get(word)
        if j is not None and word not in seen:
            seen.add(word)
            rows.append((i, j))
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return IndexPairs(src_lang, tgt_lang, pairs[:, 0], pairs[:, 1], len(rows), 0, len(rows), IDENTICAL)


def require_usable(pairs: IndexPairs) -> IndexPairs:
    """A dictionary of which no pair has both words in the spaces is an input error naming the file."""
    if len(pairs) == 0:
        where = None if pairs.source == IDENTICAL else pairs.source
        what = (f"no identical strings in the {pairs.src_lang} and {pairs.tgt_lang} vocabularies"
                if where is None else
                f"none of the {pairs.pairs} {pairs.src_lang}-{pairs.tgt_lang} pairs has both words in the spaces")
        raise InputError(what, where)
    return pairs


def concat(parts: Sequence[IndexPairs]) -> tuple[np.ndarray, np.ndarray]:
    """Source and target rows of several pair sets, duplicates removed, first occurrence order kept."""
    rows = np.concatenate([np.stack([p.src, p.tgt], axis=1) for p in parts])
    _, first = np.unique(rows, axis=0, return_index=True)
    rows = rows[np.sort(first)]
    return rows[:, 0], rows[:, 1]
