"""What a training run reads: labelled splits (with a dev hold-out and the low-data cap), parallel sentence
pairs for the +sent-ali architectures, and the spaces to train in with their record fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cltc_tools.datasets.labelled import load_split, stratified_holdout
from cltc_tools.errors import InputError, NoInputError
from cltc_tools.io.documents import Document
from cltc_tools.io.parallel import SentencePair, read_parallel
from cltc_tools.io.records import require_path
from cltc_tools.io.space import Space, open_space
from cltc_tools.training.models.registry import Arch

AUXILIARY_OPTIONS = ("parallel", "ali_loss", "ali_lr", "max_pairs")


@dataclass
class TrainingData:
    """Training and dev documents, and what a user should be told about them (``warnings``)."""

    train: list[Document]
    dev: list[Document]
    warnings: list[str] = field(default_factory=list)


def check_auxiliary_options(arch: Arch, given: dict[str, Any]) -> None:
    """Options of the alignment task (``--parallel``, ``--ali-loss``, ...) apply to the +sent-ali architectures."""
    flags = ["--" + k.replace("_", "-") for k in AUXILIARY_OPTIONS if given.get(k)]
    if flags and not arch.auxiliary:
        verb = "apply" if len(flags) > 1 else "applies"
        raise InputError(f"{', '.join(flags)} {verb} to the +sent-ali architectures, not --arch {arch.name}")


def training_data(data: Path | None, train_files: Sequence[Path], dev_files: Sequence[Path],
                  langs: Sequence[str] | None, dev_fraction: float, max_train_docs: int | None,
                  seed: int) -> TrainingData:
    """Train and dev splits; without dev data a stratified share of train is held out, then the low-data cap."""
    if not data and not train_files:
        raise InputError("no training data: use --data DIR or --train FILE")
    train = load_split(data, train_files, "train", langs)
    has_dev = bool(dev_files) or (bool(data) and any(data.glob("*/dev.jsonl*")))  # type: ignore[union-attr]
    dev = load_split(data, dev_files, "dev", langs) if has_dev else []
    warnings = []
    if not dev:
        train, dev = stratified_holdout(train, dev_fraction, seed)
        warnings.append(f"no dev data: holding out {dev_fraction:.0%} of the training documents")
    if max_train_docs is not None:
        train = low_data(train, max_train_docs, seed)
    unseen = sorted({str(d.label) for d in dev} - {str(d.label) for d in train})
    if unseen:
        warnings.append("dev labels not in the training data (they count as errors in dev macro-F1): "
                        f"{', '.join(unseen[:10])}{' ...' if len(unseen) > 10 else ''}")
    return TrainingData(train, dev, warnings)


def low_data(docs: list[Document], limit: int, seed: int) -> list[Document]:
    """At most ``limit`` training documents, the same share of every label (the paper's low-data regime)."""
    if limit >= len(docs):
        return docs
    _, kept = stratified_holdout(docs, limit / len(docs), seed)
    return kept


def sentence_pairs(paths: Sequence[Path], max_pairs: int | None) -> list[SentencePair]:
    """Parallel sentences of every file, at most ``max_pairs`` from each."""
    pairs: list[SentencePair] = []
    for path in paths:
        pairs.extend(read_parallel(path, max_pairs))
    return pairs


def training_spaces(paths: Sequence[Path], records: Sequence[dict[str, Any]],
                    n_records: int) -> list[tuple[Space, dict[str, Any] | None]]:
    """The spaces given by path, or else those of the space records on stdin (``n_records`` read in all)."""
    if paths:
        return [(open_space(p), None) for p in paths]
    if not records and n_records:
        raise InputError(f"none of the {n_records} records is a space record: give --space DIR", "<stdin>")
    if not records:
        raise NoInputError("no space given: use --space DIR or pipe space records on stdin")
    return [(open_space(require_path(r)), r) for r in records]


def space_info(space: Space, record: dict[str, Any] | None) -> dict[str, Any]:
    """Path, fingerprint, method and display name of the space a model is trained on."""
    meta = space.meta
    last = (meta.get("provenance") or [{}])[-1] if isinstance(meta.get("provenance"), list) else {}
    source = record or last or {}
    method = source.get("method") or meta.get("method") or space.path.name
    name = source.get("name") or meta.get("name") or method
    return {"path": str(space.path), "sha256": space.sha256, "method": method, "name": name,
            "langs": sorted(space.langs)}
