"""What a training run reads: labelled splits (with a dev hold-out and the low-data cap), parallel sentence
pairs for the +sent-ali architectures, and the spaces to train in with their record fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cltc_tools.datasets.labelled import load_split, split_files, stratified_holdout
from cltc_tools.errors import InputError, NoInputError
from cltc_tools.io.documents import Document
from cltc_tools.io.names import path_under
from cltc_tools.io.parallel import SentencePair, read_parallel
from cltc_tools.io.records import require_path
from cltc_tools.io.space import Space, check_fingerprint, data_size, open_space
from cltc_tools.training.models.registry import Arch

AUXILIARY_OPTIONS = ("parallel", "ali_loss", "ali_lr", "max_pairs")


@dataclass
class TrainingData:
    """Training and dev documents, and what a user should be told about them (``warnings``)."""

    train: list[Document]
    dev: list[Document]
    warnings: list[str] = field(default_factory=list)
    train_files: list[Path] = field(default_factory=list)

    def files_of(self, langs: Sequence[str]) -> list[Path]:
        """The training files that hold ``langs`` (a dataset folder's ``<lang>/train.jsonl``; else all)."""
        mine = [p for p in self.train_files if p.parent.name in langs]
        return mine or list(self.train_files)


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
    files = list(train_files) if train_files else split_files(data, "train", langs)  # type: ignore[arg-type]
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
    return TrainingData(train, dev, warnings, files)


MAX_LABELS = 10_000  # more distinct labels is a label column of ids or free text, not a classification task


def check_training_plan(data: TrainingData, groups: Sequence[Sequence[str]],
                        spaces: Sequence[tuple[Space, dict[str, Any] | None]], max_labels: int = MAX_LABELS) -> None:
    """Every model's data and space checked before the first model is trained, so that a run does not stop
    after some models with an error about the next one (mono training: one model per language); more than
    ``max_labels`` distinct labels is refused (``--max-labels`` raises the limit)."""
    n_labels = len({str(d.label) for d in data.train})
    if n_labels > max_labels:
        raise InputError(f"the training documents have {n_labels} distinct labels, more than --max-labels "
                         f"{max_labels} (a column of ids or free text as the label?); raise --max-labels to train "
                         "anyway", ", ".join(str(p) for p in data.train_files) or None)
    for langs in groups:
        labels = {str(d.label) for d in data.train if d.lang in langs}
        if len(labels) < 2:
            files = ", ".join(str(p) for p in data.files_of(langs))
            raise InputError(f"the {'+'.join(langs)} training documents have {len(labels)} label(s); at least 2 "
                             "are needed to train a classifier", files or None)
    wanted = sorted({lang for langs in groups for lang in langs})
    for space, _ in spaces:
        missing = [lang for lang in wanted if lang not in space.langs]
        if missing:
            raise InputError(f"languages {', '.join(missing)} have no vectors in the space "
                             f"(it has: {', '.join(sorted(space.langs))})", space.path)


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


def training_spaces(paths: Sequence[Path], records: Sequence[dict[str, Any]], n_records: int,
                    verify: bool = False, force: bool = False,
                    warnings: list[str] | None = None) -> list[tuple[Space, dict[str, Any] | None]]:
    """The spaces given by path, or else those of the space records on stdin (``n_records`` read in all).

    Each is checked against its record's fingerprint (``check_fingerprint``; in full with ``verify``); with
    ``force`` a mismatch is added to ``warnings`` instead of refused."""
    if paths:
        spaces: list[tuple[Space, dict[str, Any] | None]] = [(open_space(p), None) for p in paths]
    elif not records and n_records:
        raise InputError(f"none of the {n_records} records is a space record: give --space DIR", "<stdin>")
    elif not records:
        raise NoInputError("no space given: use --space DIR or pipe space records on stdin")
    else:
        spaces = [(open_space(require_path(r)), r) for r in records]
    for space, record in spaces:
        expected = record.get("sha256") if record else None
        problem = check_fingerprint(space, expected if isinstance(expected, str) else None, full=verify,
                                    force=force, what="the space record has")
        if problem and warnings is not None:
            warnings.append(f"{space.path}: {problem}")
    return spaces


def model_root(out: Path, info: dict[str, Any], several: bool) -> Path:
    """Where a space's models go: ``out``, or with several spaces ``out/NAME`` (a name from data: checked)."""
    return path_under(out, info["name"], what="space name") if several else out


def space_info(space: Space, record: dict[str, Any] | None) -> dict[str, Any]:
    """Path, fingerprint, method and display name of the space a model is trained on."""
    meta = space.meta
    last = (meta.get("provenance") or [{}])[-1] if isinstance(meta.get("provenance"), list) else {}
    source = record or last or {}
    method = source.get("method") or meta.get("method") or space.path.name
    name = source.get("name") or meta.get("name") or method
    return {"path": str(space.path), "sha256": space.sha256, "size": data_size(space), "method": method,
            "name": name, "langs": sorted(space.langs)}
