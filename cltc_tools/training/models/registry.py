"""Classifier architectures, registered by name with their defaults and the paper's preset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cltc_tools.registry import Registry, merge_hparams


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
# (--preset paper); the default keeps the vectors frozen: on SIB-200 under the paper protocol (FT-MLP, 3 seeds, dev
# macro-F1) frozen beat tuned by 6.6 points in mono mode (en) and 24 points in multi mode (de, fr, it average),
# with regularized and mapped in between (benchmarks/RESULTS.md, "Embedding modes").
EMBEDDING_DEFAULTS: dict[str, Any] = {"embeddings": "frozen", "emb_lr": None, "emb_reg": 0.0}
PAPER_EMBEDDINGS: dict[str, Any] = {"embeddings": "tuned", "emb_lr": None, "emb_reg": 0.0}


class WordVectors(nn.Embedding):
    """Pretrained word vectors (row 0 is padding) and how training may change them (``--embeddings``).

    tuned: every row seen in a batch is updated (sparse gradients, lazy Adam at ``emb_lr``), as the paper does;
    in a multilingual space this moves the rows of the training words away from their translations.
    frozen: no row changes, so the alignment of the space is kept as built.
    regularized: rows are tuned, but the loss adds ``emb_reg`` times the squared distance of every row in the batch
    from its aligned starting point (L2-SP, Li et al. 2018, "Explicit Inductive Bias for Transfer Learning").
    mapped: rows stay frozen and one linear map shared by every language is tuned on top (initialised to the
    identity), so the languages move together and a language never trained on is mapped the same way.
    """

    def __init__(self, weights: torch.Tensor, mode: str = "tuned", emb_reg: float = 0.0):
        if mode not in EMBEDDING_MODES:
            raise ValueError(f"unknown embedding mode {mode!r} (known: {', '.join(EMBEDDING_MODES)})")
        rows, dim = weights.shape
        super().__init__(rows, dim, padding_idx=0, sparse=True, _weight=weights.clone(),
                         _freeze=mode in ("frozen", "mapped"))
        self.mode, self.emb_reg = mode, float(emb_reg)
        self.map = nn.Linear(dim, dim, bias=False) if mode == "mapped" else None
        if self.map is not None:
            with torch.no_grad():
                self.map.weight.copy_(torch.eye(dim))
        if mode == "regularized":
            self.register_buffer("initial", weights.clone(), persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        vectors = super().forward(ids)
        return self.map(vectors) if self.map is not None else vectors

    def penalty(self, ids: torch.Tensor) -> torch.Tensor | None:
        """L2-SP term of the rows in ``ids`` (each distinct row once), or None outside the regularized mode."""
        if self.mode != "regularized" or self.emb_reg == 0:
            return None
        rows = torch.unique(ids)
        rows = rows[rows != 0]
        moved = nn.functional.embedding(rows, self.weight, sparse=True) - self.initial[rows]
        return self.emb_reg * moved.pow(2).sum(dim=1).mean()

    def effective_weight(self) -> torch.Tensor:
        """The vectors the network sees: the rows, through the shared map in the mapped mode."""
        return self.map(self.weight) if self.map is not None else self.weight


def embedding_mode(hp: dict[str, Any]) -> str:
    """The embedding mode of hyper-parameters, also of checkpoints written before ``embeddings`` existed."""
    if "embeddings" in hp:
        return str(hp["embeddings"])
    return "tuned" if hp.get("fine_tune", True) else "frozen"


def embedding_layer(weights: torch.Tensor, hp: dict[str, Any]) -> WordVectors:
    """The word-vector layer of an architecture, in the embedding mode of ``hp``."""
    return WordVectors(weights, embedding_mode(hp), hp.get("emb_reg", 0.0))
