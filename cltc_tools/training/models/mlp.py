"""FT-MLP: averaged word vectors -> dense 512 ReLU -> dropout -> softmax (M'hamdi et al. 2019, sec. 3.1.1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cltc_tools.training.models.registry import embedding_layer, paper_arch


def masked_mean(vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean of the non-padding word vectors of each document ([B, L, D] -> [B, D]); empty -> zeros."""
    mask = (ids != 0).unsqueeze(-1).to(vectors.dtype)
    return (vectors * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class FTMLP(nn.Module):
    def __init__(self, embedding: torch.Tensor, n_classes: int, hp: dict[str, Any]):
        super().__init__()
        self.embedding = embedding_layer(embedding, hp)
        self.hidden = nn.Linear(embedding.shape[1], hp["hidden"])
        self.dropout = nn.Dropout(hp["dropout"])
        self.out = nn.Linear(hp["hidden"], n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        doc = masked_mean(self.embedding(ids), ids)
        return self.out(self.dropout(torch.relu(self.hidden(doc))))


MLP = paper_arch("mlp", FTMLP, {"hidden": 512, "dropout": 0.7, "lr": 1e-2, "batch_size": 64, "patience": 20},
                 max_len=512, description="FT-MLP: averaged word vectors, dense 512 ReLU, dropout 0.7")
