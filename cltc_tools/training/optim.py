"""Adam for the network, lazy (sparse) Adam for the embedding table: a step touches only the rows in the batch.

A dense Adam step over a 40,000 x 300 embedding table costs more than the forward and backward pass of the models
here; LazyAdam (as in TensorFlow Addons) updates the moments of the rows that received gradient only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class ClassifierOptimizer:
    """torch.optim.Adam over dense parameters plus torch.optim.SparseAdam over sparse embedding tables."""

    def __init__(self, model: nn.Module, lr: float, modules: Sequence[nn.Module] | None = None,
                 emb_lr: float | None = None):
        """Optimise ``model``'s parameters, or only those of ``modules`` (sub-modules of it) when given; the word
        vectors (sparse rows, and the shared map of the ``mapped`` embedding mode) at ``emb_lr`` (default ``lr``)."""
        owners = list(modules) if modules is not None else [model]
        emb_lr = lr if emb_lr is None else emb_lr
        sparse = [m.weight for owner in owners for m in owner.modules()
                  if isinstance(m, nn.Embedding) and m.sparse and m.weight.requires_grad]
        embedding_ids = {id(p) for owner in owners for m in owner.modules() if isinstance(m, nn.Embedding)
                         for p in m.parameters()}
        dense, emb_dense, seen = [], [], {id(p) for p in sparse}
        for owner in owners:
            for p in owner.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    (emb_dense if id(p) in embedding_ids else dense).append(p)
        self.parts: dict[str, torch.optim.Optimizer] = {}
        groups = [{"params": dense, "lr": lr}] if dense else []
        groups += [{"params": emb_dense, "lr": emb_lr}] if emb_dense else []
        if groups:
            # foreach: one call per step for all tensors (on the CPU torch defaults to a Python loop over them);
            # the same arithmetic, the same bytes
            self.parts["dense"] = torch.optim.Adam(groups, lr=lr, foreach=True)
        if sparse:
            self.parts["sparse"] = torch.optim.SparseAdam(sparse, lr=emb_lr)

    def zero_grad(self) -> None:
        for opt in self.parts.values():
            opt.zero_grad(set_to_none=True)

    def step(self) -> None:
        for opt in self.parts.values():
            opt.step()

    def state_dict(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.parts.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, opt in self.parts.items():
            opt.load_state_dict(state[name])


class Optimizers:
    """Several optimisers stepped separately but saved and restored together (multi-task training)."""

    def __init__(self, **named: ClassifierOptimizer):
        self.named = named

    def state_dict(self) -> dict[str, Any]:
        return {f"{name}-{part}": state for name, opt in self.named.items()
                for part, state in opt.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, opt in self.named.items():
            opt.load_state_dict({part: state[f"{name}-{part}"] for part in opt.parts})
