"""What every training method receives (``TrainJob``) and returns (``TrainResult``), and the output helpers."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import check_writable
from cltc_tools.io.records import SpaceArtifact, make_record
from cltc_tools.io.space import LangBlock, write_space
from cltc_tools.text.tokenize import Tokenizer

TOOL = "cltc-embed"
HUB = "en"
Advance = Callable[[int], None]
Progress = Callable[[str, int | None], AbstractContextManager[Advance]]


def no_progress(description: str, total: int | None) -> AbstractContextManager[Advance]:
    return nullcontext(lambda n=1: None)


def no_log(message: str) -> None:
    return None


@dataclass
class TrainJob:
    """The inputs and settings of one training run; ``params`` are the method's merged hyper-parameters."""

    method: str
    out: Path
    params: dict[str, Any]
    texts: list[Path] = field(default_factory=list)
    parallel: list[Path] = field(default_factory=list)
    init_spaces: list[Path] = field(default_factory=list)
    lang: str | None = None
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    seed: int = 0
    force: bool = False
    save_bin: Path | None = None
    name: str | None = None
    verbose: bool = False  # let fastText print its own progress line on stderr
    progress: Progress = no_progress
    log: Callable[[str], None] = no_log

    @property
    def display_name(self) -> str:
        return self.name or self.method

    def record_params(self, **extra: Any) -> dict[str, Any]:
        """The record's params: hyper-parameters, tokenizer, seed and method-specific extras."""
        return {**self.params, "tokenizer": self.tokenizer.style, "lowercase": self.tokenizer.lowercase,
                **extra, "seed": self.seed}


@dataclass
class TrainResult(SpaceArtifact):
    """A trained space: the ``space`` record's fields and the vocabulary size of every language."""

    words: dict[str, int]


def check_outputs(job: TrainJob) -> None:
    """Fail before the (long) training when an output exists and ``--force`` is not given."""
    check_writable(job.out, job.force)
    if job.save_bin is not None:
        if job.save_bin.is_dir():
            raise InputError("is a directory, expected a file name", job.save_bin)
        check_writable(job.save_bin, job.force)


def finish(job: TrainJob, blocks: list[LangBlock], params: dict[str, Any], inputs: list[str],
           provenance: list[dict[str, Any]] | None = None) -> TrainResult:
    """Write the space (atomically, with its provenance and this step's record) and describe it."""
    langs = [b.lang for b in blocks]
    step = make_record("space", TOOL, langs=langs, method=job.method, name=job.display_name, params=params,
                       inputs=inputs)
    sha = write_space(job.out, blocks, [*(provenance or []), step], force=job.force,
                      extra={"name": job.display_name, "method": job.method})
    return TrainResult(job.out, sha, langs, job.method, job.display_name, params, inputs,
                       {b.lang: len(b.words) for b in blocks})


@contextlib.contextmanager
def scratch_dir(out: Path) -> Iterator[Path]:
    """A temporary folder next to the output (same disk), removed afterwards: room for a large corpus."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.corpus-", dir=out.parent) as tmp:
        yield Path(tmp)


def save_atomically(save: Callable[[str], None], target: Path, force: bool) -> None:
    """Call ``save(tmp_name)`` and rename the result onto ``target``."""
    check_writable(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    try:
        save(name)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
