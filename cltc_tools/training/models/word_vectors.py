"""The word-vector layer of every architecture, in the embedding mode chosen by ``--embeddings``."""

from __future__ import annotations

import torch
from torch import nn

from cltc_tools.training.models.registry import EMBEDDING_MODES


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
