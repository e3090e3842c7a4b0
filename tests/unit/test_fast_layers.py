"""The CPU layers that replace torch's GRU and Conv1d in training compute the same function and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from cltc_tools.training.models.fused_gru import bigru_states, reverse_within_length
from cltc_tools.training.models.token_conv import conv_max_over_time


def _grads(outputs: list[torch.Tensor], weights: list[torch.Tensor], params: list[torch.Tensor]) -> list[torch.Tensor]:
    loss = sum((out * w).sum() for out, w in zip(outputs, weights))
    return [g.to_dense() for g in torch.autograd.grad(loss, params)]


def test_reverse_within_length_keeps_padding_in_place():
    x = torch.arange(8).view(2, 4, 1)
    out = reverse_within_length(x, torch.tensor([3, 1])).view(2, 4).tolist()
    assert out == [[2, 1, 0, 3], [4, 5, 6, 7]]


def test_fused_bigru_matches_packed_nn_gru():
    torch.manual_seed(0)
    gru = nn.GRU(7, 5, batch_first=True, bidirectional=True).double()
    x = torch.randn(6, 9, 7, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([3, 9, 1, 5, 9, 2])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=9)
    got = bigru_states(gru, x, lengths)
    assert torch.allclose(got, expected, atol=1e-12)
    weights = [torch.randn_like(expected)]
    params = [x, *gru.parameters()]
    for g_got, g_expected in zip(_grads([got], weights, params), _grads([expected], weights, params)):
        assert torch.allclose(g_got, g_expected, atol=1e-12)


def test_fused_bigru_graph_can_be_differentiated_twice():
    """retain_graph keeps every saved gate: a second gradient of the same graph equals the first."""
    torch.manual_seed(0)
    gru = nn.GRU(4, 3, batch_first=True, bidirectional=True)
    x = torch.randn(3, 5, 4, requires_grad=True)
    loss = (bigru_states(gru, x, torch.tensor([5, 2, 3])) ** 2).sum()
    first = torch.autograd.grad(loss, [x, *gru.parameters()], retain_graph=True)
    second = torch.autograd.grad(loss, [x, *gru.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def conv_relu_max_pool(emb: nn.Embedding, convs: list[nn.Conv1d], ids: torch.Tensor) -> torch.Tensor:
    """MF-CNN's features the plain way: Conv1d over the vectors, ReLU, max over the windows starting on a word."""
    pooled = []
    for conv in convs:
        y = torch.relu(conv(emb(ids).transpose(1, 2)))
        valid = (ids != 0)[:, : y.shape[2]].unsqueeze(1)
        top = y.masked_fill(~valid, float("-inf")).amax(dim=2)
        pooled.append(torch.where(torch.isfinite(top), top, torch.zeros_like(top)))
    return torch.cat(pooled, dim=1)


@pytest.mark.parametrize("freeze", [False, True])
def test_conv_max_over_time_matches_conv1d_relu_and_max_pooling(freeze):
    torch.manual_seed(0)
    emb = nn.Embedding.from_pretrained(torch.randn(50, 8, dtype=torch.float64), freeze=freeze, padding_idx=0,
                                       sparse=True)
    convs = [nn.Conv1d(8, 4, k).double() for k in (3, 4, 5)]
    ids = torch.randint(1, 50, (6, 11))
    ids[2, 5:] = 0
    ids[4, :] = 0  # a document without words: features 0, no gradient
    ids[3, :4] = ids[0, :4]  # repeated words
    expected = conv_relu_max_pool(emb, convs, ids)
    got = conv_max_over_time(emb, convs, ids)
    assert got.shape == expected.shape == (6, 12) and torch.allclose(got, expected, atol=1e-12)
    assert (got[4] == 0).all() and (got > 0).any() and (got == 0).any()  # the ReLU cut some filters
    weights = [torch.randn_like(expected)]
    params = [*([] if freeze else [emb.weight]), *(p for conv in convs for p in conv.parameters())]
    for g_got, g_expected in zip(_grads([got], weights, params), _grads([expected], weights, params)):
        assert torch.allclose(g_got, g_expected, atol=1e-12)

