"""A bidirectional GRU layer over right-padded sequences, both directions stepped together, for the CPU.

torch's CPU GRU multiplies the input by W_ih one time step at a time and records a dozen autograd nodes per step;
on a packed batch its backward pass also zero-fills and accumulates whole-batch gradients at every step. Here the
input projections of every step and both directions are one matrix product, the recurrence runs on the rows that
are still inside their sequence (rows sorted by length, as in packing) and backpropagation through time is written
out (the GRU of Cho et al. 2014 in torch's formulation, so the weights of ``nn.GRU`` are used unchanged). The
reverse direction reads each sequence reversed within its own length, so padding never enters a real state.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[R, T, ...] sequences with the first ``lengths[r]`` steps of row r reversed (padding left in place)."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    source = lengths.unsqueeze(1) - 1 - steps
    index = torch.where(source >= 0, source, steps)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


def active_rows(lengths: torch.Tensor, steps: int) -> list[int]:
    """Rows still inside their sequence at each step, for lengths sorted in decreasing order."""
    counts = (lengths.unsqueeze(0) > torch.arange(steps).unsqueeze(1)).sum(dim=1)
    return counts.tolist()


class BiGRURecurrence(torch.autograd.Function):
    """Both directions' recurrences over precomputed input gates ``gx`` [2, T, R, 3U] (time-major, rows sorted by
    decreasing length); returns the states [2, T, R, U] (zero past each row's length)."""

    @staticmethod
    def forward(ctx: Any, gx: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor,  # type: ignore[override]
                active: list[int]) -> torch.Tensor:
        _, steps, rows, three_u = gx.shape
        units = three_u // 3
        states = gx.new_zeros(2, steps, rows, units)
        w_t = w_hh.transpose(1, 2)
        h = gx.new_zeros(2, rows, units)
        gates: list[torch.Tensor] = []  # per step: r and z, the candidate, W_hn h + b_hn of the rows still active
        for t, n in enumerate(active):
            hp = h[:, :n]
            gh = torch.baddbmm(b_hh.unsqueeze(1), hp, w_t)
            rz = torch.sigmoid(gx[:, t, :n, : 2 * units] + gh[..., : 2 * units])
            r, z = rz[..., :units], rz[..., units:]
            ghn = gh[..., 2 * units:]
            cand = torch.tanh(gx[:, t, :n, 2 * units:] + r * ghn)
            h = cand + z * (hp - cand)
            states[:, t, :n] = h
            gates += (rz, cand, ghn)
        ctx.save_for_backward(w_hh, states, *gates)
        ctx.active = active
        return states

    @staticmethod
    @once_differentiable  # backpropagation through time written out: no graph of its own for a second derivative
    def backward(ctx: Any, grad_states: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        w_hh, states, *gates = ctx.saved_tensors
        active = ctx.active
        _, steps, rows, units = states.shape
        dgx = grad_states.new_zeros(2, steps, rows, 3 * units)
        dgh = grad_states.new_zeros(2, steps, rows, 3 * units)
        dh = grad_states.new_zeros(2, rows, units)
        zero = grad_states.new_zeros(2, rows, units)
        for t in range(len(active) - 1, -1, -1):
            n = active[t]
            if n == 0:
                continue
            d = dh[:, :n] + grad_states[:, t, :n]
            h_prev = states[:, t - 1, :n] if t > 0 else zero[:, :n]
            rz, cand, ghn = gates[3 * t: 3 * t + 3]
            r, z = rz[..., :units], rz[..., units:]
            one_minus_z = 1 - z
            d_cand = d * one_minus_z * (1 - cand * cand)
            d_z = d * (h_prev - cand) * z * one_minus_z
            d_r = d_cand * ghn * r * (1 - r)
            torch.cat([d_r, d_z, d_cand], dim=-1, out=dgx[:, t, :n])
            torch.cat([d_r, d_z, d_cand * r], dim=-1, out=dgh[:, t, :n])
            dh[:, :n] = d * z + torch.bmm(dgh[:, t, :n], w_hh)
        previous = torch.cat([zero.unsqueeze(1), states[:, :-1]], dim=1)
        d_w = torch.bmm(dgh.reshape(2, -1, 3 * units).transpose(1, 2), previous.reshape(2, -1, units))
        d_b = dgh.sum(dim=(1, 2))
        return dgx, d_w, d_b, None


def bigru_states(gru: torch.nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[R, T, D] right-padded inputs -> [R, T, 2U] states of a one-layer bidirectional batch-first ``gru``
    (forward then reverse direction, as ``nn.GRU``), zero past each row's length."""
    rows, steps, dim = x.shape
    order = torch.argsort(lengths, descending=True, stable=True)
    sorted_lengths = lengths[order]
    xs = x[order]
    both = torch.stack([xs, reverse_within_length(xs, sorted_lengths)])  # [2, R, T, D]
    w_ih = torch.stack([gru.weight_ih_l0, gru.weight_ih_l0_reverse])  # [2, 3U, D]
    b_ih = torch.stack([gru.bias_ih_l0, gru.bias_ih_l0_reverse])
    w_hh = torch.stack([gru.weight_hh_l0, gru.weight_hh_l0_reverse])
    b_hh = torch.stack([gru.bias_hh_l0, gru.bias_hh_l0_reverse])
    gx = torch.baddbmm(b_ih.unsqueeze(1), both.transpose(1, 2).reshape(2, steps * rows, dim),
                       w_ih.transpose(1, 2)).view(2, steps, rows, -1)
    states = BiGRURecurrence.apply(gx, w_hh, b_hh, active_rows(sorted_lengths.cpu(), steps))
    states = states.transpose(1, 2)  # [2, R, T, U]
    out = torch.cat([states[0], reverse_within_length(states[1], sorted_lengths)], dim=-1)
    return out[torch.argsort(order)]
