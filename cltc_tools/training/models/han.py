"""Hierarchical attention network: bi-GRU + attention over words, then over sentences (Yang et al. 2016)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cltc_tools.training.models.gru_att import BiGRUEncoder
from cltc_tools.training.models.registry import embedding_layer, paper_arch


class HierarchicalEncoder(nn.Module):
    """[B, S, W] word ids -> [B, 2u] document vectors; empty sentences are skipped by the sentence attention."""

    def __init__(self, dim: int, units: int, dropout: float):
        super().__init__()
        self.words = BiGRUEncoder(dim, units, fused=False)  # (fused_gru measured slower on batches of 15 documents)
        self.sentences = BiGRUEncoder(2 * units, units, fused=False)
        self.dropout = nn.Dropout(dropout)

    def encode_sentences(self, vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Word-level encoder over every sentence: [N, W, D] -> [N, 2u]."""
        return self.words(self.dropout(vectors), (ids != 0).sum(dim=1))

    def forward(self, vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        batch, n_sents, n_words = ids.shape
        flat_ids = ids.reshape(batch * n_sents, n_words)
        sentences = self.encode_sentences(vectors.reshape(batch * n_sents, n_words, -1), flat_ids)
        sentences = sentences.reshape(batch, n_sents, -1)
        sentence_lengths = ((ids != 0).any(dim=2)).sum(dim=1)
        return self.sentences(self.dropout(sentences), sentence_lengths)


class HAN(nn.Module):
    def __init__(self, embedding: torch.Tensor, n_classes: int, hp: dict[str, Any]):
        super().__init__()
        self.embedding = embedding_layer(embedding, hp)
        self.encoder = HierarchicalEncoder(embedding.shape[1], hp["units"], hp["dropout"])
        self.dropout = nn.Dropout(hp["dropout"])
        self.out = nn.Linear(2 * hp["units"], n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.encoder(self.embedding(ids), ids)))

    def encode_sentences(self, ids: torch.Tensor) -> torch.Tensor:
        """[N, W] word ids -> [N, 2u] sentence vectors of the shared word-level encoder (alignment task)."""
        return self.encoder.encode_sentences(self.embedding(ids), ids)

    def alignment_modules(self) -> list[nn.Module]:
        return [self.embedding, self.encoder.words]


HAN_ARCH = paper_arch("han", HAN, {"units": 50, "dropout": 0.5, "lr": 1e-3, "batch_size": 15, "patience": 20},
                      max_len=512, hierarchical=True,
                      description="HAN: word- and sentence-level bi-GRU (50 units) with attention, dropout 0.5")
