"""Embedding training methods by name, each with its defaults and the paper's preset (``--preset paper``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cltc_tools.embeddings import biskip, fasttext_train, sent_align
from cltc_tools.embeddings.job import TrainJob, TrainResult
from cltc_tools.registry import Registry, merge_hparams


@dataclass(frozen=True)
class Method:
    """A training method: ``train(job) -> TrainResult``, the input it reads and its hyper-parameters."""

    name: str
    train: Callable[[TrainJob], TrainResult]
    inputs: str  # "text" (plain text or documents JSONL) or "parallel" (sentence pairs)
    defaults: dict[str, Any]
    paper: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def hparams(self, preset: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults < preset < explicit options; options of another method are errors."""
        return merge_hparams(f"--method {self.name}", self.defaults, {"paper": self.paper}, preset, overrides)


METHODS: Registry[Method] = Registry("training method")


METHODS.register("fasttext", Method("fasttext", fasttext_train.train_monolingual, "text", fasttext_train.DEFAULTS,
                       fasttext_train.PAPER, "monolingual fastText skip-gram/CBOW with subwords"))
METHODS.register("biskip", Method("biskip", biskip.train_biskip, "parallel", biskip.DEFAULTS, biskip.PAPER,
                       "multilingual skip-gram of Luong et al. (2015), English as the hub"))
METHODS.register("sent-align", Method("sent-align", sent_align.train_sent_align, "parallel", sent_align.DEFAULTS,
                       sent_align.PAPER, "sentence alignment of the paper's Appendix C, from monolingual spaces"))
