"""The record stream of SPEC.md section 2: one JSON object per artifact, one per line, on stdout."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypedDict

import orjson

from cltc_tools import __version__
from cltc_tools.errors import InputError

SCHEMA = 1
KINDS = ("space", "dictionary", "corpus", "dataset", "model", "predictions", "metrics", "translation-metrics")


class Record(TypedDict, total=False):
    """The fields every record has (``make_record`` adds them)."""

    kind: str
    schema: int
    tool: str
    version: str


class ArtifactRecord(Record, total=False):
    """A record that points at a file or folder: where, its content hash, what it was made from and how."""

    path: str
    sha256: str
    inputs: list[str]
    params: dict[str, Any]


class SpaceRecord(ArtifactRecord, total=False):
    langs: list[str]
    method: str
    name: str
    fit: dict[str, Any]


class DictionaryRecord(ArtifactRecord, total=False):
    src_lang: str
    tgt_lang: str


class CorpusRecord(ArtifactRecord, total=False):
    langs: list[str]


class DatasetRecord(ArtifactRecord, total=False):
    name: str
    langs: list[str]
    labels: list[str]
    counts: dict[str, dict[str, int]]


class RunFields(TypedDict, total=False):
    """What a model and each of its metrics records say about the run that trained it."""

    arch: str
    mode: str
    train_langs: list[str]
    space_method: str
    seed: int


class ModelRecord(ArtifactRecord, RunFields, total=False):
    space: str
    dev_macro_f1: float
    best_epoch: int
    epochs: int


class PredictionsRecord(ArtifactRecord, total=False):
    model: str
    test_lang: str


class MetricsRecord(Record, RunFields, total=False):
    """One (model, test language): SPEC section 2's tidy metrics (scores as fractions in [0, 1])."""

    model: str
    test_lang: str
    n: int
    macro_f1: float
    macro_precision: float
    macro_recall: float
    accuracy: float
    per_label: dict[str, Any]  # label -> precision, recall, f1, support
    confusion: dict[str, Any]  # labels, and the count matrix or its non-zero cells
    outcomes: dict[str, Any]  # per document: right or wrong, for paired tests


class TranslationMetricsRecord(Record, total=False):
    """Word translation on one dictionary: P@1/5/10 in percent by NN and CSLS retrieval, over the covered source
    words (``nn``, ``csls``; MUSE's convention) and over all of them (``*_all``)."""

    space: str
    dictionary: str
    src_lang: str
    tgt_lang: str
    nn: dict[str, float]
    csls: dict[str, float]
    nn_all: dict[str, float]
    csls_all: dict[str, float]


@dataclass
class SpaceArtifact:
    """A space that a command wrote: the fields of its ``space`` record, defined once for every producer."""

    path: Path
    sha256: str
    langs: list[str]
    method: str
    name: str
    params: dict[str, Any]
    inputs: list[str]

    def record_fields(self) -> SpaceRecord:
        """The fields of the ``space`` record (SPEC section 2)."""
        return {"path": str(self.path), "sha256": self.sha256, "langs": self.langs, "method": self.method,
                "name": self.name, "params": self.params, "inputs": self.inputs}


def make_record(kind: str, tool: str, **fields: Any) -> dict[str, Any]:
    """A record of ``kind`` made by ``tool``; fields keep their order, no timestamps."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    record: dict[str, Any] = {"kind": kind, "schema": SCHEMA}
    record.update(fields)
    record["tool"] = tool
    record["version"] = __version__
    return record


def parse_records(lines: Iterable[str | bytes], source: str = "<stdin>") -> list[dict[str, Any]]:
    """Parse a record stream; a line that is not a JSON object with a string ``kind`` is an error."""
    return [record for _, record in numbered_records(lines, source)]


def numbered_records(lines: Iterable[str | bytes], source: str = "<stdin>") -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of every non-blank line, so that later checks can say ``source:line``."""
    records = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise InputError(f"invalid JSON record ({err.msg})", source, line_no) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
            raise InputError("not a record (expected a JSON object with a 'kind')", source, line_no)
        records.append((line_no, obj))
    return records


def read_record_files(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [record for _, _, record in numbered_record_files(paths)]


def numbered_record_files(paths: Iterable[str | Path]) -> list[tuple[str, int, dict[str, Any]]]:
    """(file, line number, record) of record files (gzip ok); bytes that are not UTF-8 are a ``file:line`` error."""
    from cltc_tools.io.textfile import iter_lines

    records = []
    for path in paths:
        lines = (line for _, line in iter_lines(path))
        records.extend((str(path), line_no, record) for line_no, record in numbered_records(lines, str(path)))
    return records


def dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"


def write_record(record: dict[str, Any], out: IO[bytes]) -> None:
    out.write(dumps(record))
    out.flush()


def of_kind(records: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Records of ``kind`` that no later record of the same kind used as an input (matched by sha256).

    A pipeline keeps its whole provenance, so ``cltc-embed import ... | cltc-align ... | cltc-train`` carries
    the monolingual spaces too; cltc-train must train on the aligned space only, the newest generation.
    """
    records = list(records)
    used: set[str] = set()
    keep: list[dict[str, Any]] = []
    for record in reversed(records):
        sha = record.get("sha256")
        if record.get("kind") == kind and not (isinstance(sha, str) and sha in used):
            keep.append(record)
        inputs = record.get("inputs")
        if record.get("kind") == kind and isinstance(inputs, list):
            used.update(x for x in inputs if isinstance(x, str))
    return keep[::-1]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_path(record: dict[str, Any], source: str = "<stdin>") -> Path:
    path = record.get("path")
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise InputError(f"{record.get('kind')} record without a 'path'", source)
    return Path(path)
