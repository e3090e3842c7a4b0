"""Bi-GRU with attention (M'hamdi et al. 2019, eqs. 1-3; attention after Yang et al. 2016)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from cltc_tools.training.models.fused_gru import bigru_states
from cltc_tools.training.models.registry import embedding_layer, paper_arch


class Attention(nn.Module):
    """u = tanh(W h + b); alpha = softmax(u . u_w) over real positions; s = sum alpha h (eqs. 1-3)."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.context = nn.Parameter(torch.empty(dim).uniform_(-0.1, 0.1))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = torch.tanh(self.proj(states)) @ self.context
        scores = scores.masked_fill(~mask, float("-inf"))
        alpha = torch.nan_to_num(torch.softmax(scores, dim=1), nan=0.0)
        return (alpha.unsqueeze(-1) * states).sum(dim=1)


class BiGRUEncoder(nn.Module):
    """Bidirectional GRU over padded sequences (padding costs nothing) + attention pooling; on the CPU the fused
    recurrence of fused_gru.py, elsewhere torch's (cuDNN) GRU over a packed batch."""

    def __init__(self, dim: int, units: int, fused: bool = True):
        super().__init__()
        self.gru = nn.GRU(dim, units, batch_first=True, bidirectional=True)
        self.fused = fused  # the fused recurrence pays off on batches of many long rows, not on HAN's small ones
        self.attention = Attention(2 * units)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.fused and x.device.type == "cpu":
            states = bigru_states(self.gru, x, lengths.clamp(min=1))
        else:
            packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x.shape[1])
        mask = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        return self.attention(states, mask)


class GRUAttention(nn.Module):
    def __init__(self, embedding: torch.Tensor, n_classes: int, hp: dict[str, Any]):
        super().__init__()
        self.embedding = embedding_layer(embedding, hp)
        self.encoder = BiGRUEncoder(embedding.shape[1], hp["units"])
        self.dropout = nn.Dropout(hp["dropout"])
        self.out = nn.Linear(2 * hp["units"], n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.encode_sentences(ids)))

    def encode_sentences(self, ids: torch.Tensor) -> torch.Tensor:
        """[N, W] word ids -> [N, 2u] text vectors (the whole short text is one sentence)."""
        return self.encoder(self.dropout(self.embedding(ids)), (ids != 0).sum(dim=1))

    def alignment_modules(self) -> list[nn.Module]:
        return [self.embedding, self.encoder]


GRU_ATT = paper_arch("gru-att", GRUAttention,
                     {"units": 150, "dropout": 0.3, "lr": 1e-3, "batch_size": 64, "patience": 20}, max_len=256,
                     changes={"embeddings": "mapped"},  # chosen on dev: models/registry.py
                     description="bi-GRU (150 units) with attention, dropout 0.3")
