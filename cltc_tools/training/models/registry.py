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

EMBEDDING_MODES = ("tuned", "frozen", "regularized", "mapped")
# --embeddings, --emb-lr (None: the classifier's --lr) and --emb-reg. The paper fine-tunes at the classifier's rate
# (--preset paper). The default of an architecture is the mode of best dev macro-F1 on SIB-200 under the paper
# protocol (3 seeds), the mean of mono, multi and zero-shot, each averaged over its languages (benchmarks/RESULTS.md,
# "Embedding modes"): frozen for FT-MLP (48.9; mapped 44.9, tuned 31.0), mapped for MF-CNN (54.1; frozen 51.5,
# tuned 49.3; set in cnn.py) and bi-GRU-Att (52.7; frozen 49.7, tuned 41.5; gru_att.py), frozen for HAN (52.9;
# mapped 52.4, tuned 40.6).
EMBEDDING_DEFAULTS: dict[str, Any] = {"embeddings": "frozen", "emb_lr": None, "emb_reg": 0.0}
PAPER_EMBEDDINGS: dict[str, Any] = {"embeddings": "tuned", "emb_lr": None, "emb_reg": 0.0}


def paper_arch(name: str, build: Callable[..., nn.Module], paper: dict[str, Any], max_len: int, description: str,
               changes: dict[str, Any] | None = None, **kinds: Any) -> Arch:
    """An architecture whose defaults are the paper's settings (Table 5) but for ``changes``, with this toolbox's
    embedding mode, at most 200 epochs and documents cut at ``max_len`` tokens; ``--preset paper`` is the paper's
    settings as published."""
    defaults = {**paper, "max_epochs": 200, **EMBEDDING_DEFAULTS, **(changes or {}), "max_len": max_len}
    return Arch(name=name, build=build, defaults=defaults, paper={**paper, **PAPER_EMBEDDINGS},
                description=description, **kinds)

def embedding_mode(hp: dict[str, Any]) -> str:
    """The embedding mode of hyper-parameters, also of checkpoints written before ``embeddings`` existed."""
    if "embeddings" in hp:
        return str(hp["embeddings"])
    return "tuned" if hp.get("fine_tune", True) else "frozen"


def embedding_layer(weights: torch.Tensor, hp: dict[str, Any]) -> nn.Embedding:
    """The word-vector layer of an architecture (a ``WordVectors``), in the embedding mode of ``hp``."""
    from cltc_tools.training.models.word_vectors import WordVectors

    return WordVectors(weights, embedding_mode(hp), hp.get("emb_reg", 0.0))
