"""Convolutions over word vectors computed once per distinct word of a batch, pooled by max over time.

A 1-d convolution of width k over word vectors x_1..x_L is y_t = b + sum_j W_j x_{t+j}. The products W_j x depend
on the word only, so they are computed for the distinct words of the batch (about 40% of its tokens on SIB-200
and tweets) and then added at the shifted positions of every occurrence. MF-CNN keeps max_t relu(y_t) =
relu(max_t y_t) of each filter (Kim 2014), so the gradient reaches the positions of the maximum only: the backward
pass scatters a value per document and filter into the products instead of spreading the whole [B, L, F] map. Same
weights and the same sums as ``nn.Conv1d``, ReLU and max pooling (up to rounding), a fraction of the work.
"""

from __future__ import annotations

from typing import Any

import torch


def window_sums(products: torch.Tensor, inverse: torch.Tensor, first: int, width: int, filters: int) -> torch.Tensor:
    """y_t = sum_j (W_j x)_{t+j} for t = 0..L-k: [B, L - k + 1, F] from distinct-word products [U, sum(k) * F],
    offset j of this width in column block ``first + j``."""
    batch, length = inverse.shape
    span = length - width + 1
    out = torch.empty(batch, span, filters, dtype=products.dtype, device=products.device)
    shifted = torch.empty_like(out)
    for j in range(width):
        block = products[:, (first + j) * filters:(first + j + 1) * filters]
        target = out if j == 0 else shifted
        torch.index_select(block, 0, inverse[:, j:j + span].reshape(-1), out=target.view(-1, filters))
        if j:
            out += shifted
    return out


def max_positions(filled: torch.Tensor, top: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(document, position, filter) of every maximum that passed the ReLU, ties included, in row-major order, and
    the number of maxima [B, F] of each document and filter (a tie shares the gradient)."""
    hit = (filled == top.unsqueeze(1)) & (top > 0).unsqueeze(1)
    return (*hit.nonzero(as_tuple=True), hit.sum(dim=1))


def bias_gradient(shape: torch.Size, doc: torch.Tensor, pos: torch.Tensor, col: torch.Tensor,
                  share: torch.Tensor) -> torch.Tensor:
    """The sum over documents and positions of the gradient at the maxima, summed as a [B, T, F] map (as autograd
    sums a broadcast bias), so that the bias takes the same steps to the last bit."""
    spread = share.new_zeros(shape)
    spread.index_put_((doc, pos, col), share, accumulate=True)
    return spread.sum(dim=(0, 1))


class ConvMaxOverTime(torch.autograd.Function):
    """relu(max over valid t of y_t) [B, len(widths) * F] of each width's convolution, from distinct-word vectors
    ``words`` [U, D], their positions ``inverse`` [B, L], stacked kernels ``weight`` [sum(k) * F, D] (offset-major
    per width), biases ``bias`` [len(widths) * F] and ``valid`` [B, L] (a window starts on a real token)."""

    @staticmethod
    def forward(ctx: Any, words: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,  # type: ignore[override]
                inverse: torch.Tensor, valid: torch.Tensor, widths: tuple[int, ...]) -> torch.Tensor:
        filters = weight.shape[0] // sum(widths)
        products = words @ weight.t()
        maps, tops, first = [], [], 0
        for i, k in enumerate(widths):
            y = window_sums(products, inverse, first, k, filters)
            y += bias[i * filters:(i + 1) * filters]
            filled = y.masked_fill_(~valid[:, : y.shape[1]].unsqueeze(2), float("-inf"))
            top = filled.amax(dim=1)
            maps.append(filled)
            tops.append(torch.where(torch.isfinite(top), top, torch.zeros_like(top)))
            first += k
        ctx.save_for_backward(words, weight, inverse, *maps, *tops)
        ctx.widths = widths
        return torch.relu(torch.cat(tops, dim=1))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        words, weight, inverse, *saved = ctx.saved_tensors
        widths = ctx.widths
        maps, tops = saved[:len(widths)], saved[len(widths):]
        filters = weight.shape[0] // sum(widths)
        d_products = grad.new_zeros(words.shape[0], weight.shape[0])
        d_bias = grad.new_zeros(len(widths) * filters)
        first = 0
        for i, (k, filled, top) in enumerate(zip(widths, maps, tops)):
            doc, pos, col, ties = max_positions(filled, top)
            share = grad[:, i * filters:(i + 1) * filters][doc, col] / ties[doc, col]
            d_bias[i * filters:(i + 1) * filters] = bias_gradient(filled.shape, doc, pos, col, share)
            for j in range(k):
                d_products.index_put_((inverse[doc, pos + j], col + (first + j) * filters), share, accumulate=True)
            first += k
        d_words = d_products @ weight if ctx.needs_input_grad[0] else None  # frozen vectors: no gradient
        return d_words, d_products.t() @ words, d_bias, None, None, None


def stacked_kernels(convs: list[torch.nn.Conv1d]) -> torch.Tensor:
    """The kernels of ``convs`` as one [sum(k) * F, D] matrix: for each width, the F x D matrix of each offset."""
    return torch.cat([conv.weight[:, :, j] for conv in convs for j in range(conv.kernel_size[0])], dim=0)


def conv_max_over_time(embedding: torch.nn.Module, convs: list[torch.nn.Conv1d], ids: torch.Tensor) -> torch.Tensor:
    """[B, L] word ids (L >= the widest kernel, 0 = padding) -> [B, len(convs) * F]: max over the windows that
    start on a real token of relu(conv(embedding(ids))), each conv in turn; 0 for a document without words."""
    distinct, inverse = torch.unique(ids, return_inverse=True)
    widths = tuple(conv.kernel_size[0] for conv in convs)
    bias = torch.cat([conv.bias for conv in convs])
    return ConvMaxOverTime.apply(embedding(distinct), stacked_kernels(convs), bias, inverse, ids != 0, widths)
