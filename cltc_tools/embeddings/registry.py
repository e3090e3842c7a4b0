"""Embedding training methods by name, each with its defaults and the paper's preset (``--preset paper``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cltc_tools.embeddings import biskip, fasttext_train, sent_align
from cltc_tools.embeddings.job import TrainJob, TrainResult
from cltc_tools.errors import InputError
from cltc_tools.registry import Registry

PRESETS = ("paper",)


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
        """Defaults, then the preset, then explicit overrides (None values ignored); foreign options are errors."""
        if preset is not None and preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        given = {k: v for k, v in overrides.items() if v is not None}
        foreign = sorted(k for k in given if k not in self.defaults)
        if foreign:
            options = ", ".join("--" + k.replace("_", "-") for k in foreign)
            known = ", ".join("--" + k.replace("_", "-") for k in self.defaults)
            raise InputError(f"{options} does not apply to --method {self.name} (its options: {known})")
        params = dict(self.defaults)
        if preset == "paper":
            params.update(self.paper)
        params.update(given)
        return params


METHODS: Registry[Method] = Registry("training method")


def register_method(method: Method) -> Method:
    METHODS.add(method.name, method)
    return method


register_method(Method("fasttext", fasttext_train.train_monolingual, "text", fasttext_train.DEFAULTS,
                       fasttext_train.PAPER, "monolingual fastText skip-gram/CBOW with subwords"))
register_method(Method("biskip", biskip.train_biskip, "parallel", biskip.DEFAULTS, biskip.PAPER,
                       "multilingual skip-gram of Luong et al. (2015), English as the hub"))
register_method(Method("sent-align", sent_align.train_sent_align, "parallel", sent_align.DEFAULTS,
                       sent_align.PAPER, "sentence alignment of the paper's Appendix C, from monolingual spaces"))
