"""Labelled data for training and evaluation: a dataset folder ``<lang>/{train,dev,test}.jsonl`` or files."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document, load_documents

SPLITS = ("train", "dev", "test")


def split_files(data_dir: str | Path, split: str, langs: Sequence[str] | None = None) -> list[Path]:
    """The ``<lang>/<split>.jsonl`` files of a dataset folder (``.jsonl.gz`` too), sorted by language."""
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError("not a dataset directory (expected <lang>/<split>.jsonl files)", root)
    found = sorted(p for p in root.glob(f"*/{split}.jsonl*") if p.name in (f"{split}.jsonl", f"{split}.jsonl.gz"))
    if langs:
        found = [p for p in found if p.parent.name in langs]
    if not found:
        raise InputError(f"no {split} files (<lang>/{split}.jsonl)" + (f" for {','.join(langs)}" if langs else ""),
                         root)
    return found


def load_split(
    data_dir: str | Path | None, files: Sequence[Path], split: str, langs: Sequence[str] | None = None
) -> list[Document]:
    """Documents of one split from explicit files, or else from a dataset folder."""
    paths = list(files) if files else (split_files(data_dir, split, langs) if data_dir else [])
    docs = load_documents(paths, langs)
    if paths and not docs:
        raise InputError(f"no {split} documents" + (f" in languages {','.join(langs)}" if langs else ""), paths[0])
    return docs


def by_lang(docs: Sequence[Document]) -> dict[str, list[Document]]:
    groups: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        groups[doc.lang].append(doc)
    return dict(sorted(groups.items()))


def stratified_holdout(docs: Sequence[Document], fraction: float, seed: int) -> tuple[list[Document], list[Document]]:
    """Split off ``fraction`` of each label (at least one document per label that has two or more)."""
    rng = random.Random(seed)
    groups: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        groups[str(doc.label)].append(doc)
    keep: list[Document] = []
    held: list[Document] = []
    for label in sorted(groups):
        items = groups[label][:]
        rng.shuffle(items)
        n = max(1, round(fraction * len(items))) if len(items) > 1 else 0
        held.extend(items[:n])
        keep.extend(items[n:])
    return keep, held
