"""The classifier's optimiser: torch's Adam and SparseAdam arithmetic byte for byte, without torch.optim's classes."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from cltc_tools.training.optim import ClassifierOptimizer
from cltc_tools.training.resume import _flatten_optimizer, _unflatten_optimizer


class Toy(nn.Module):
    """A sparse embedding table, a shared map on it (own learning rate), a layer and one parameter never used."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(30, 6, padding_idx=0, sparse=True)
        self.embedding.map = nn.Linear(6, 6, bias=False)
        self.out = nn.Linear(6, 3)
        self.unused = nn.Parameter(torch.ones(2))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embedding.map(self.embedding(ids)).mean(dim=1))


def torch_reference(model: Toy, lr: float, emb_lr: float) -> list[torch.optim.Optimizer]:
    """What ClassifierOptimizer must equal: torch.optim.Adam (foreach) over two groups, SparseAdam on the table."""
    dense = [model.unused, model.out.weight, model.out.bias]  # (the order of model.parameters())
    return [torch.optim.Adam([{"params": dense, "lr": lr}, {"params": [model.embedding.map.weight], "lr": emb_lr}],
                             lr=lr, foreach=True),
            torch.optim.SparseAdam([model.embedding.weight], lr=emb_lr)]


def train(model: Toy, step_fns: list, zero_fns: list, steps: range) -> None:
    gen = torch.Generator().manual_seed(steps.start)
    for _ in steps:
        ids = torch.randint(0, 30, (4, 5), generator=gen)
        y = torch.randint(0, 3, (4,), generator=gen)
        for zero in zero_fns:
            zero()
        nn.functional.cross_entropy(model(ids), y).backward()
        for step in step_fns:
            step()


def twins() -> tuple[Toy, Toy]:
    torch.manual_seed(3)
    a = Toy()
    b = Toy()
    b.load_state_dict(a.state_dict())
    return a, b


def assert_same_bytes(a: nn.Module, b: nn.Module) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def side_by_side(steps: int) -> tuple[Toy, ClassifierOptimizer, Toy, list[torch.optim.Optimizer]]:
    """Twin models trained ``steps`` steps, one with ClassifierOptimizer, one with torch's optimisers."""
    ours_model, ref_model = twins()
    ours = ClassifierOptimizer(ours_model, 1e-2, emb_lr=3e-3)
    ref = torch_reference(ref_model, 1e-2, 3e-3)
    train(ours_model, [ours.step], [ours.zero_grad], range(steps))
    train(ref_model, [o.step for o in ref], [o.zero_grad for o in ref], range(steps))
    return ours_model, ours, ref_model, ref


def test_steps_equal_torch_adam_and_sparse_adam_byte_for_byte() -> None:
    ours_model, _, ref_model, _ = side_by_side(7)
    assert_same_bytes(ours_model, ref_model)
    assert not torch.equal(ours_model.out.weight, twins()[0].out.weight)  # it did train
    assert torch.equal(ours_model.unused, torch.ones(2))  # no gradient, no step


def test_a_saved_state_resumes_the_same_run() -> None:
    """Through the snapshot's flat layout, and from a state torch's optimisers wrote (older snapshots)."""
    ours_model, ours, ref_model, ref = side_by_side(4)
    saved = [_unflatten_optimizer(*_flatten_optimizer(ours.state_dict())),
             copy.deepcopy({"dense": ref[0].state_dict(), "sparse": ref[1].state_dict()})]
    train(ref_model, [o.step for o in ref], [o.zero_grad for o in ref], range(4, 9))
    for state in saved:
        model = Toy()
        model.load_state_dict(ours_model.state_dict())
        resumed = ClassifierOptimizer(model, 1e-2, emb_lr=3e-3)
        resumed.load_state_dict(state)
        train(model, [resumed.step], [resumed.zero_grad], range(4, 9))
        assert_same_bytes(model, ref_model)


def test_training_does_not_import_the_compiler() -> None:
    """torch.optim's classes import torch._dynamo (about a CPU second) on construction; a training step need not."""
    code = """
import sys, torch
from cltc_tools.training.optim import ClassifierOptimizer
model = torch.nn.Sequential(torch.nn.Embedding(9, 4, sparse=True), torch.nn.Linear(4, 2))
opt = ClassifierOptimizer(model, 1e-2)
model(torch.tensor([1, 2])).sum().backward()
opt.step()
opt.zero_grad()
sys.exit("torch._dynamo" in sys.modules)
"""
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_gradient_of_the_wrong_layout_is_named() -> None:
    model = Toy()
    opt = ClassifierOptimizer(model, 1e-2)
    model.embedding.weight.grad = torch.zeros_like(model.embedding.weight)  # dense, on the sparse table
    with pytest.raises(ValueError, match="sparse gradients"):
        opt.step()
