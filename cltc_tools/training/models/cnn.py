"""MF-CNN: multi-filter convolutions over word vectors, max-over-time pooling (Kim 2014; M'hamdi et al. sec. 3.1.2)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cltc_tools.training.models.registry import embedding_layer, paper_arch
from cltc_tools.training.models.token_conv import conv_max_over_time


class MultiFilterCNN(nn.Module):
    def __init__(self, embedding: torch.Tensor, n_classes: int, hp: dict[str, Any]):
        super().__init__()
        self.embedding = embedding_layer(embedding, hp)
        self.kernels = tuple(hp["kernels"])
        dim = embedding.shape[1]
        self.convs = nn.ModuleList(nn.Conv1d(dim, hp["filters"], k) for k in self.kernels)
        self.dropout = nn.Dropout(hp["dropout"])
        self.out = nn.Linear(hp["filters"] * len(self.kernels), n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        width = max(self.kernels)
        if ids.shape[1] < width:
            ids = nn.functional.pad(ids, (0, width - ids.shape[1]))
        return self.out(self.dropout(conv_max_over_time(self.embedding, list(self.convs), ids)))


CNN = paper_arch("cnn", MultiFilterCNN,
                 {"kernels": [3, 4, 5], "filters": 200, "dropout": 0.3, "lr": 1e-3, "batch_size": 64, "patience": 20},
                 max_len=512, changes={"embeddings": "mapped"},  # chosen on dev: models/registry.py
                 description="MF-CNN: kernels 3/4/5 x 200 filters, max-over-time pooling, dropout 0.3")
