r"""FLOPs as ShrinkBench counts them: multiply-accumulates of ``Linear`` and ``Conv2d``.

ShrinkBench (Blalock et al., *What is the State of Neural Network Pruning?*,
MLSys 2020; ``shrinkbench/metrics/flops.py``) counts, for one input sample,
the multiply-accumulates (MACs) of the dense and convolutional layers and
nothing else (no bias additions, activations, pooling or normalisation). Each
weight is used a fixed number of times :math:`u` per sample, so

.. math::

    \text{flops} = \sum_\ell |W_\ell|\, u_\ell, \qquad
    \text{flops}_{nz} = \sum_\ell \mathrm{nnz}(W_\ell)\, u_\ell,

with :math:`u = 1` for a ``Linear`` layer on a vector (the number of
positions for an input ``(N, T, D)``), and :math:`u = OH \cdot OW` for a
``Conv2d`` layer, the number of output positions. For a convolution this is
:math:`OH\,OW\,C_{out}\,C_{in}\,k_H k_W`, the cost of a direct convolution,
positions in the zero padding included. ``flops_nz`` counts only the MACs
whose weight is non-zero: the work a perfect sparse kernel would do.
ShrinkBench derives the output size of a convolution from its
``padding_mode`` string (``"zeros"`` is taken as "same"); here the real
output shape comes from a dry forward pass of one zero sample, layer by
layer, so padding and stride are always right.

``theoretical_speedup = flops / flops_nz`` is the speed-up such a kernel could
give at best; measured times are another matter (``benchmarks/bench_sparse.py``).

Book: §1.3 (effect of pruning on compute), §3.3 (comparing methods).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backend import get_backend
from ..nn import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from ..nn.module import Module
from ..sparse.layers import SparseConv2d, SparseLinear
from ._walk import LayerCall, trace
from .sparsity import count_zeros


def _dense_counts(call: LayerCall) -> tuple[int, int]:
    w = call.layer.weight
    return w.size, w.size - count_zeros(w)


def _sparse_counts(call: LayerCall) -> tuple[int, int]:
    return math.prod(call.layer.weight_shape), call.layer.nnz


def _linear_uses(call: LayerCall) -> int:
    return math.prod(call.input_shape[1:-1])  # positions per sample: 1 for (N, D)


def _conv2d_uses(call: LayerCall) -> int:
    return math.prod(call.output.shape[2:])  # OH * OW


# layer type -> (uses of each weight per sample, (weights, non-zero weights)); None = 0 MACs.
FLOP_RULES: dict[
    type, tuple[Callable[[LayerCall], int], Callable[[LayerCall], tuple[int, int]]] | None
] = {
    Linear: (_linear_uses, _dense_counts),
    Conv2d: (_conv2d_uses, _dense_counts),
    SparseLinear: (_linear_uses, _sparse_counts),
    SparseConv2d: (_conv2d_uses, _sparse_counts),
    ReLU: None,
    LeakyReLU: None,
    Tanh: None,
    Sigmoid: None,
    MaxPool2d: None,
    AvgPool2d: None,
    BatchNorm1d: None,
    BatchNorm2d: None,
    Dropout: None,
    Flatten: None,
}


def _rule(layer: Module, name: str) -> Any:
    for kind in type(layer).__mro__:
        if kind in FLOP_RULES:
            return FLOP_RULES[kind]
    known = ", ".join(sorted(k.__name__ for k in FLOP_RULES))
    raise TypeError(
        f"flops: unknown layer type {type(layer).__name__} at {name or '(model)'!r}; "
        f"known types: {known}"
    )


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    shape = (input_shape,) if isinstance(input_shape, numbers.Integral) else tuple(input_shape)
    if not shape or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in shape
    ):
        raise ValueError(
            "input_shape must be the shape of one sample (positive ints, no batch axis), "
            f"got {input_shape!r}"
        )
    return tuple(int(s) for s in shape)


def _dry_run(model: Module, input_shape: Sequence[int]) -> list[LayerCall]:
    shape = _check_input_shape(input_shape)
    first = next(iter(model.parameters()), None)
    dtype = np.float32 if first is None else first.dtype
    xp = get_backend(model.backend)
    return trace(model, xp.zeros((1, *shape), dtype=dtype))  # one zero sample


def layer_flops(model: Module, input_shape: Sequence[int]) -> dict[str, tuple[int, int]]:
    """``{layer name: (flops, flops_nz)}`` per sample for every ``Linear``/``Conv2d`` layer.

    Parameters
    ----------
    model : Module
        ``Sequential`` containers are opened; every layer must be of a type in
        ``FLOP_RULES``.
    input_shape : sequence of int
        Shape of one sample without the batch axis, e.g. ``(1, 28, 28)`` or ``(784,)``.

    Raises
    ------
    TypeError
        For a layer type not in ``FLOP_RULES``.
    ValueError
        For a malformed ``input_shape``.
    """
    out = {}
    for call in _dry_run(model, input_shape):
        rule = _rule(call.layer, call.name)
        if rule is not None:
            uses_of, counts_of = rule
            uses = uses_of(call)
            size, nnz = counts_of(call)
            out[call.name] = (int(size * uses), int(nnz * uses))
    return out


def flops(model: Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """``(flops, flops_nz)``: MACs per sample of ``Linear``/``Conv2d`` layers, dense and non-zero.

    See the module docstring for exactly what is counted; arguments as in
    :func:`layer_flops`.
    """
    per_layer = layer_flops(model, input_shape).values()
    return sum(f for f, _ in per_layer), sum(f for _, f in per_layer)


def theoretical_speedup(model: Module, input_shape: Sequence[int]) -> float:
    """``flops / flops_nz`` (``inf`` when every counted weight is zero).

    Raises
    ------
    ValueError
        If the model has no ``Linear`` or ``Conv2d`` layer (0 FLOPs).
    """
    total, nonzero = flops(model, input_shape)
    if total == 0:
        raise ValueError("theoretical_speedup: the model has no Linear or Conv2d layer (0 FLOPs)")
    return math.inf if nonzero == 0 else total / nonzero
