"""What the converters and samplers share: names, digests, and the atomic writer of a documents dataset.

A dataset is written either as a folder ``<out>/<lang>/<split>.jsonl`` or as one ``.jsonl`` file. In a folder
only the files a command writes are replaced: converting English and then German into the same folder gives
both. Every file is written under a temporary name next to its target and all of them are renamed into place
only when the whole input has been read without error, so a failed command leaves the old files or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.documents import Document, document_to_json
from cltc_tools.io.names import check_lang, path_under, resolved
from cltc_tools.io.records import file_sha256

SPLITS = ("train", "dev", "test")

_SPLIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)

# Language names used in the file and folder names of MLDoc, RCV2, xlm-t and SIB-200 (FLORES codes).
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "german": "de", "french": "fr", "italian": "it", "spanish": "es", "spanish-latam": "es",
    "russian": "ru", "japanese": "ja", "chinese": "zh", "arabic": "ar", "hindi": "hi", "portuguese": "pt",
    "dutch": "nl", "swedish": "sv", "danish": "da", "norwegian": "no",
    "eng_latn": "en", "deu_latn": "de", "fra_latn": "fr", "ita_latn": "it", "spa_latn": "es", "por_latn": "pt",
    "nld_latn": "nl", "rus_cyrl": "ru", "jpn_jpan": "ja", "zho_hans": "zh", "arb_arab": "ar", "hin_deva": "hi",
}
# Split names in source file names: xlm-t and SIB-200 call the development set "val" or "dev".
SPLIT_NAMES: dict[str, str] = {"train": "train", "dev": "dev", "val": "dev", "valid": "dev",
                               "validation": "dev", "test": "test"}


def check_split(split: str) -> str:
    if not _SPLIT.fullmatch(split):
        raise InputError(f"not a split name: {split!r} (expected e.g. train, dev, test)")
    return split


def lang_from_name(path: Path) -> str | None:
    """The language of a source file from its name or its folder's (``english.train.1000``, ``german/``)."""
    for part in (path.name.split(".")[0], path.parent.name):
        code = LANGUAGE_NAMES.get(part.lower())
        if code:
            return code
    return None


def split_from_name(path: Path) -> str | None:
    """The split of a source file from its name (``train.tsv``, ``val_text.txt``, ``english.dev``)."""
    for part in re.split(r"[._-]", path.name.lower()):
        if part in SPLIT_NAMES:
            return SPLIT_NAMES[part]
    return None


def resolve_lang(lang: str | None, path: Path, what: str = "--lang") -> str:
    if lang:
        return check_lang(lang)
    guessed = lang_from_name(path)
    if guessed is None:
        raise InputError(f"cannot tell the language from the file name: give {what}", path)
    return guessed


def resolve_split(split: str | None, path: Path) -> str:
    if split:
        return check_split(split)
    return split_from_name(path) or "train"


def parse_assignments(value: str | None, option: str) -> dict[str, int]:
    """``"en=418566,de=50387"`` -> {"en": 418566, "de": 50387} (positive integers)."""
    out: dict[str, int] = {}
    if not value:
        return out
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        lang, sep, number = item.partition("=")
        lang = lang.strip()
        if not sep or not lang:
            raise InputError(f"{option}: expected LANG=N, found {item!r}")
        try:
            n = int(number.strip().replace("_", ""))
        except ValueError:
            raise InputError(f"{option}: not an integer in {item!r}") from None
        if n <= 0:
            raise InputError(f"{option}: {item!r} must be positive")
        if lang in out:
            raise InputError(f"{option}: language {lang!r} given twice")
        out[check_lang(lang)] = n
    return out


# --------------------------------------------------------------------------------------------------
# Digests


def source_sha256(path: str | Path) -> str:
    """SHA-256 of an input: a file's bytes, or for a folder its files (relative paths and contents, sorted)."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for sub in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(sub.relative_to(path).as_posix().encode() + b"\0" + file_sha256(sub).encode() + b"\n")
    return digest.hexdigest()


def dataset_sha256(path: str | Path) -> str:
    """SHA-256 of a documents dataset: a file's bytes, or for a folder its ``<lang>/<split>.jsonl`` files."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for sub in sorted(dataset_files(path)):
        digest.update(sub.relative_to(path).as_posix().encode() + b"\0" + file_sha256(sub).encode() + b"\n")
    return digest.hexdigest()


def dataset_files(root: Path) -> list[Path]:
    """The ``<lang>/<split>.jsonl`` (or ``.jsonl.gz``) files of a dataset folder, sorted."""
    return sorted(p for p in root.glob("*/*.jsonl*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz"))
                  and not p.name.startswith("."))


# --------------------------------------------------------------------------------------------------
# Writing


def label_key(label: str | list[str] | None) -> str:
    """A label as one string: itself, a multi-label list joined by '|', or '' when missing."""
    if label is None:
        return ""
    if isinstance(label, list):
        return "|".join(label)
    return label


def document_line(doc: Document) -> bytes:
    return orjson.dumps(document_to_json(doc)) + b"\n"


@dataclass
class DatasetSummary:
    """What a command wrote: the fields of its ``dataset`` record."""

    path: Path
    counts: dict[str, dict[str, int]]
    labels: list[str]
    sha256: str
    files: list[Path] = field(default_factory=list)

    @property
    def langs(self) -> list[str]:
        return sorted(self.counts)

    @property
    def splits(self) -> list[str]:
        seen = {split for per_lang in self.counts.values() for split in per_lang}
        return [s for s in SPLITS if s in seen] + sorted(seen - set(SPLITS))

    def record_fields(self) -> dict[str, Any]:
        return {"langs": self.langs, "splits": self.splits, "counts": self.counts, "labels": self.labels}


class MultiFileWriter:
    """Temporary files next to their targets, renamed into place together by :meth:`commit`."""

    def __init__(self, force: bool = False):
        self.force = force
        self._open: dict[Path, tuple[Path, IO[bytes]]] = {}
        self._made_dirs: list[Path] = []

    def handle(self, given: Path) -> IO[bytes]:
        if given in self._open:
            return self._open[given][1]
        target = resolved(given)  # checked and written where the kernel will put it (``new/../keep``)
        if target.is_dir():
            raise InputError("is a directory, expected a file name", given)
        if os.path.lexists(target) and not self.force:
            raise OutputExistsError(given)
        missing = []
        parent = target.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        if parent.exists() and not parent.is_dir():
            raise InputError("not a directory", parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._made_dirs.extend(reversed(missing))
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
        handle = os.fdopen(fd, "wb")
        self._open[given] = (Path(name), handle)
        return handle

    @property
    def targets(self) -> list[Path]:
        return list(self._open)

    def write(self, target: Path, data: bytes) -> None:
        self.handle(target).write(data)

    def commit(self) -> list[Path]:
        for tmp, handle in self._open.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.chmod(tmp, 0o644)
        for target, (tmp, _) in self._open.items():
            os.replace(tmp, resolved(target))
        targets = list(self._open)
        self._open.clear()
        self._made_dirs.clear()
        return targets

    def abort(self) -> None:
        for tmp, handle in self._open.values():
            with contextlib.suppress(OSError):
                handle.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._open.clear()
        for folder in reversed(self._made_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made_dirs.clear()


@contextlib.contextmanager
def multi_file_writer(force: bool = False) -> Iterator[MultiFileWriter]:
    writer = MultiFileWriter(force)
    try:
        yield writer
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def is_single_file(out: Path) -> bool:
    """``--out x.jsonl`` writes one file; any other name is a dataset folder."""
    return out.name.endswith(".jsonl")


def check_out(out: Path) -> None:
    if out.name.endswith(".gz"):
        raise InputError("compressed output is not supported: name a folder or a .jsonl file", out)
    if is_single_file(out) and out.is_dir():
        raise InputError("is a directory, expected a .jsonl file name", out)
    if not is_single_file(out) and out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder (name a folder, or a file ending in .jsonl)", out)


def target_of(out: Path, lang: str, split: str) -> Path:
    return out if is_single_file(out) else path_under(out, check_lang(lang), f"{split}.jsonl")


EmptyReason = str | Callable[[], str] | None


def write_documents(
    docs: Iterable[Document], out: str | Path, split: str, force: bool = False, empty_reason: EmptyReason = None,
) -> DatasetSummary:
    """Write documents (all of one split) to ``out``; an input with no document is an error, nothing written."""
    return write_split_documents(((split, doc) for doc in docs), out, force, empty_reason)


def write_split_documents(
    items: Iterable[tuple[str, Document]], out: str | Path, force: bool = False, empty_reason: EmptyReason = None,
) -> DatasetSummary:
    """Write ``(split, document)`` pairs to ``out`` (folder or .jsonl file) atomically; with no document at all,
    raise ``InputError(empty_reason)`` (a string, or a function called then) and write nothing."""
    out = Path(out)
    check_out(out)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    labels: set[str] = set()
    with multi_file_writer(force) as writer:
        for split, doc in items:
            writer.write(target_of(out, doc.lang, split), document_line(doc))
            counts[doc.lang][split] += 1
            if doc.label is not None:
                labels.update(doc.label if isinstance(doc.label, list) else [doc.label])
        if not counts:
            reason = empty_reason() if callable(empty_reason) else empty_reason
            raise InputError(reason or "no documents in the input")
        files = writer.targets
    return summarize(out, counts, labels, files)


def write_lines(
    groups: dict[tuple[str, str], list[bytes]], out: str | Path, force: bool = False,
    labels: Iterable[str] = (),
) -> DatasetSummary:
    """Write ready-made JSONL lines grouped by (lang, split) into the dataset folder ``out``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    with multi_file_writer(force) as writer:
        for (lang, split), lines in sorted(groups.items()):
            handle = writer.handle(path_under(out, check_lang(lang), f"{split}.jsonl"))
            for line in lines:
                handle.write(line.rstrip(b"\r\n") + b"\n")
            counts[lang][split] += len(lines)
        files = writer.targets
    return summarize(out, counts, set(labels), files)


def summarize(out: Path, counts: dict[str, Counter[str]], labels: set[str], files: list[Path]) -> DatasetSummary:
    ordered = {lang: {split: int(per[split]) for split in _split_order(per)} for lang, per in sorted(counts.items())}
    return DatasetSummary(out, ordered, sorted(labels), dataset_sha256(out), files)


def _split_order(per: Counter[str]) -> list[str]:
    return [s for s in SPLITS if s in per] + sorted(set(per) - set(SPLITS))

