"""Adam for the network, lazy (sparse) Adam for the embedding table: a step touches only the rows in the batch.

A dense Adam step over a 40,000 x 300 embedding table costs more than the forward and backward pass of the models
here; LazyAdam (as in TensorFlow Addons) updates the moments of the rows that received gradient only.

The steps are torch's own functional Adam (``torch.optim.adam.adam``, multi-tensor) and SparseAdam
(``torch.optim._functional.sparse_adam``), so the arithmetic and the bytes are those of ``torch.optim.Adam(...,
foreach=True)`` and ``torch.optim.SparseAdam``; the state is held here because building a ``torch.optim.Optimizer``
imports torch._dynamo (about 1 CPU second per process, more than a training epoch of most models here) and each of
its steps enters it. ``state_dict`` has the layout of torch's, so a snapshot written with torch's optimisers resumes
here; the hyper-parameters are those given to the constructor (a run's fingerprint ties them to its snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim._functional import sparse_adam  # (torch's functional API: pinned with torch in pyproject.toml)
from torch.optim.adam import adam

BETAS = (0.9, 0.999)
EPS = 1e-8


@dataclass
class ParamGroup:
    params: list[nn.Parameter]
    lr: float


@dataclass
class AdamState:
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization") over groups of parameters, dense or
    (``lazy``) sparse-gradient tables; the moments of parameter ``i`` (numbered across groups) in ``state[i]``."""

    groups: list[ParamGroup]
    lazy: bool = False
    state: dict[int, dict[str, Any]] = field(default_factory=dict)

    def numbered(self) -> list[list[tuple[int, nn.Parameter]]]:
        out, i = [], 0
        for group in self.groups:
            out.append(list(enumerate(group.params, start=i)))
            i += len(group.params)
        return out

    def slots(self, i: int, p: nn.Parameter) -> dict[str, Any]:
        """The moments of parameter ``i``, created at its first gradient (as torch's optimisers do)."""
        if i not in self.state:
            step: Any = 0 if self.lazy else torch.tensor(0.0, dtype=scalar_dtype())
            self.state[i] = {"step": step, "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                             "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        return self.state[i]

    @torch.no_grad()
    def step(self) -> None:
        for group, numbered in zip(self.groups, self.numbered()):
            live = [(i, p) for i, p in numbered if p.grad is not None]
            if not live:
                continue
            params, grads = [p for _, p in live], [p.grad for _, p in live]
            check_layout(grads, self.lazy)
            slots = [self.slots(i, p) for i, p in live]
            moments = [s["exp_avg"] for s in slots], [s["exp_avg_sq"] for s in slots]
            (lazy_adam_step if self.lazy else adam_step)(params, grads, *moments, slots, group.lr)

    def zero_grad(self) -> None:
        for group in self.groups:
            for p in group.params:
                p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """torch.optim's layout: ``state`` by parameter number, ``param_groups`` with their numbers."""
        groups = [{"lr": g.lr, "betas": list(BETAS), "eps": EPS, "params": [i for i, _ in numbered]}
                  for g, numbered in zip(self.groups, self.numbered())]
        return {"state": {i: dict(s) for i, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        sizes = [len(g["params"]) for g in saved["param_groups"]]
        if sizes != [len(g.params) for g in self.groups]:
            raise ValueError(f"optimiser state for parameter groups of sizes {sizes}, this model has "
                             f"{[len(g.params) for g in self.groups]}")
        params = [p for g in self.groups for p in g.params]
        self.state = {int(i): {k: restored(v, params[int(i)], k) for k, v in s.items()}
                      for i, s in saved["state"].items()}


def check_layout(grads: list[torch.Tensor], lazy: bool) -> None:
    """Lazy Adam takes sparse gradients (``nn.Embedding(sparse=True)``), Adam dense ones."""
    if any(g.is_sparse != lazy for g in grads):
        raise ValueError("lazy Adam needs sparse gradients (an nn.Embedding with sparse=True)" if lazy else
                         "Adam does not take sparse gradients: optimise sparse embedding tables with lazy Adam")


def restored(value: Any, param: nn.Parameter, name: str) -> Any:
    """A saved moment on its parameter's device and dtype (a step count stays as saved)."""
    if isinstance(value, torch.Tensor) and name != "step":
        return value.to(dtype=param.dtype, device=param.device)
    return value


def scalar_dtype() -> torch.dtype:
    """The dtype of Adam's step count, as torch.optim.Adam makes it."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def adam_step(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
              exp_avg_sqs: list[torch.Tensor], slots: Sequence[dict[str, Any]], lr: float) -> None:
    """One Adam step of dense tensors, multi-tensor (one call for all of them)."""
    adam(params, grads, exp_avgs, exp_avg_sqs, [], [s["step"] for s in slots], foreach=True, capturable=False,
         differentiable=False, fused=None, grad_scale=None, found_inf=None,
         has_complex=any(torch.is_complex(p) for p in params), decoupled_weight_decay=False, amsgrad=False,
         beta1=BETAS[0], beta2=BETAS[1], lr=lr, weight_decay=0.0, eps=EPS, maximize=False)


def lazy_adam_step(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
                   exp_avg_sqs: list[torch.Tensor], slots: Sequence[dict[str, Any]], lr: float) -> None:
    """One lazy Adam step: only the rows present in each sparse gradient (and their moments) change."""
    for s in slots:
        s["step"] += 1
    sparse_adam(params, grads, exp_avgs, exp_avg_sqs, [s["step"] for s in slots], eps=EPS, beta1=BETAS[0],
                beta2=BETAS[1], lr=lr, maximize=False)


class ClassifierOptimizer:
    """Adam over dense parameters plus lazy Adam over sparse embedding tables."""

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
        self.parts: dict[str, AdamState] = {}
        groups = [ParamGroup(dense, lr)] if dense else []
        groups += [ParamGroup(emb_dense, emb_lr)] if emb_dense else []
        if groups:
            self.parts["dense"] = AdamState(groups)
        if sparse:
            self.parts["sparse"] = AdamState([ParamGroup(sparse, emb_lr)], lazy=True)

    def zero_grad(self) -> None:
        for opt in self.parts.values():
            opt.zero_grad()

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
