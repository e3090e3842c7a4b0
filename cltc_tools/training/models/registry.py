"""Classifier architectures, registered by name with their defaults and the paper's preset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cltc_tools.registry import Registry, merge_hparams

if TYPE_CHECKING:  # torch is imported where a model is built, not where the names are listed
    import torch
    from torch import nn


@dataclass(frozen=True)
class Arch:
    """An architecture: a builder ``(embedding, n_classes, hparams) -> nn.Module`` and its settings."""

    name: str
    build: Callable[[torch.Tensor, int, dict[str, Any]], nn.Module]
    defaults: dict[str, Any]
    paper: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    hierarchical: bool = False  # True: input is [batch, sentences, words]; else [batch, words]
    auxiliary: str | None = None  # "sent-ali": classification alternated with sentence alignment

    def hparams(self, preset: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults < preset < explicit options; options the architecture does not have are errors."""
        return merge_hparams(f"--arch {self.name}", self.defaults, {"paper": self.paper}, preset, overrides)


ARCHS: Registry[Arch] = Registry("architecture")


def embedding_layer(weights: torch.Tensor, fine_tune: bool) -> nn.Embedding:
    """Pretrained word vectors; row 0 is padding. Sparse gradients, so a step updates only the rows in the batch."""
    from torch import nn

    return nn.Embedding.from_pretrained(weights.clone(), freeze=not fine_tune, padding_idx=0, sparse=True)
