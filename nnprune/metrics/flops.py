r"""FLOPs as ShrinkBench counts them: multiply-accumulates of ``Linear``, convolution,
recurrent and attention layers.

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

Sequence layers, in the same spirit (MACs per sample, inputs ``(N, T, D)``):

* ``Conv1d``: :math:`|W|\,L_{out}`, the 1-D case of ``Conv2d``.
* ``RNN``/``LSTM``/``GRU`` (``batch_first=True``): each step multiplies
  ``weight_ih`` and ``weight_hh`` once, :math:`G(D_k + H)H` MACs per layer
  :math:`k` and step with :math:`G` = 1, 4, 3 gates, so
  :math:`T \sum_k (|W_{ih,k}| + |W_{hh,k}|)`; ``flops_nz`` counts their
  non-zeros. Gate non-linearities and element-wise products are not counted.
* ``MultiHeadSelfAttention``: the four projections count as ``Linear``
  layers on :math:`T` positions (reported as ``name.q_proj`` ...), plus the
  two attention products :math:`QK^\top` and :math:`PV` under the layer's
  own name: :math:`2T^2 H d` MACs (:math:`= 2T^2 D` before head removal).
  These multiply activations by activations, so they are counted dense in
  both ``flops`` and ``flops_nz``: weight sparsity does not reduce them, only
  removing heads (smaller :math:`Hd`) or shorter sequences do.
* ``BasicBlock`` (residual): its ``conv1``, ``conv2`` and the 1x1 ``downsample``
  convolution as ``Conv2d`` layers (reported as ``name.conv1`` ...); the
  addition, BatchNorm and ReLU are not counted.
* ``TransformerEncoderLayer``: through its sub-modules, ``self_attn`` as
  above and ``linear1``/``linear2`` as ``Linear`` on :math:`T` positions
  (residual additions, ``LayerNorm``, activations and dropout are not counted).
* ``Embedding``: 0 MACs, a table lookup (its rows are read, not multiplied);
  ``PositionalEncoding``, ``SequenceMeanPool``, ``LayerNorm``, ``GELU`` and
  ``GlobalAvgPool2d`` likewise count 0, like BatchNorm and activations.
* ``Transpose`` and ``LastTimeStep`` (:mod:`nnprune.nn.sequence`): 0 MACs, they
  only move or pick entries.

A model whose first layer is an ``Embedding`` (the first child, recursively,
for a model that is not a ``Sequential``) gets a dry-run sample of integer
token ids (zeros) instead of floats.

Custom models: a ``Module`` that is not a ``Sequential`` is traced as one
call. If its type (or a base class) is in ``FLOP_RULES`` that rule counts it;
otherwise it may define the hook

.. code-block:: python

    def flops_rule(self, call: LayerCall) -> dict[str, tuple[int, int]]: ...

which returns ``{name: (flops, flops_nz)}`` for its sub-modules, typically
through :func:`sub_flops` (a rule that needs only the input shape) or
:func:`layer_flops` (a part that needs a dry run). ``call.input_shape`` is
``(1, *input_shape)`` and ``call.name`` the prefix for the names. A hook on
the class takes precedence over ``FLOP_RULES``.

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
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LastTimeStep,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    MultiHeadSelfAttention,
    PositionalEncoding,
    ReLU,
    SequenceMeanPool,
    Sigmoid,
    Tanh,
    TransformerEncoderLayer,
    Transpose,
)
from ..nn._im2col import conv_output_size
from ..nn.global_pool import GlobalAvgPool2d
from ..nn.module import Module
from ..nn.residual import BasicBlock
from ..nn.rnn import RNNBase
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


def _rnn_uses(call: LayerCall) -> int:
    if not call.layer.batch_first:
        raise ValueError(
            f"flops: {type(call.layer).__name__} at {call.name!r} has batch_first=False; "
            "input_shape is one sample (T, D), which needs batch_first=True"
        )
    return call.input_shape[1]  # T: every step uses each weight once


def _rnn_counts(call: LayerCall) -> tuple[int, int]:
    weights = [p for n, p in call.layer.named_parameters() if n.startswith("weight_")]
    size = sum(p.size for p in weights)
    return size, size - sum(count_zeros(p) for p in weights)


def sub_flops(layer: Module, name: str, input_shape: tuple[int, ...]) -> dict[str, tuple]:
    """``{name: (flops, flops_nz)}`` of a sub-module whose rule reads only its input shape.

    For composite rules and ``flops_rule`` hooks: ``Linear``, recurrent layers,
    attention and encoder layers are counted from ``input_shape`` alone (with
    the batch axis, e.g. ``(1, T, D)``), without running them. Layers whose
    count needs their output (convolutions) must go through
    :func:`layer_flops` instead.

    Raises
    ------
    TypeError
        For a layer type not in ``FLOP_RULES`` and without a ``flops_rule`` hook.
    """
    return _layer_entries(LayerCall(name, layer, tuple(input_shape), None))


def _attention_flops(call: LayerCall) -> dict[str, tuple[int, int]]:
    attn, shape, prefix = call.layer, call.input_shape, call.name + "." if call.name else ""
    out: dict[str, tuple[int, int]] = {}
    for key in ("q_proj", "k_proj", "v_proj"):
        out.update(sub_flops(getattr(attn, key), prefix + key, shape))  # shape (1, T, D)
    inner = (*shape[:-1], attn.num_heads * attn.head_dim)  # (1, T, H*d)
    out.update(sub_flops(attn.out_proj, prefix + "out_proj", inner))
    t = shape[1]
    products = 2 * t * t * attn.num_heads * attn.head_dim  # QK^T and PV, activations only
    out[call.name] = (products, products)
    return out


def _encoder_flops(call: LayerCall) -> dict[str, tuple[int, int]]:
    layer, shape, prefix = call.layer, call.input_shape, call.name + "." if call.name else ""
    hidden = (*shape[:-1], layer.linear1.out_features)  # (1, T, dim_feedforward)
    out = sub_flops(layer.self_attn, prefix + "self_attn", shape)
    out.update(sub_flops(layer.linear1, prefix + "linear1", shape))
    out.update(sub_flops(layer.linear2, prefix + "linear2", hidden))
    return out


def _conv_entry(conv: Conv2d, name: str, hw: tuple[int, int]) -> tuple[dict, tuple[int, int]]:
    """FLOPs of ``conv`` on an ``hw`` input, and its output ``(OH, OW)``."""
    out_hw = tuple(
        conv_output_size(size, k, s, p)
        for size, k, s, p in zip(hw, conv.kernel_size, conv.stride, conv.padding, strict=True)
    )
    size, nnz = _dense_counts(LayerCall(name, conv, None, None))
    uses = out_hw[0] * out_hw[1]
    return {name: (size * uses, nnz * uses)}, out_hw


def _block_flops(call: LayerCall) -> dict[str, tuple[int, int]]:
    block, prefix = call.layer, call.name + "." if call.name else ""
    hw = tuple(call.input_shape[2:])  # (H, W) of the block input
    out, mid = _conv_entry(block.conv1, prefix + "conv1", hw)
    out.update(_conv_entry(block.conv2, prefix + "conv2", mid)[0])
    if block.downsample is not None:
        out.update(_conv_entry(block.downsample[0], prefix + "downsample.0", hw)[0])
    return out


Counts = tuple[Callable[[LayerCall], int], Callable[[LayerCall], tuple[int, int]]]

# layer type -> one of: None (0 MACs); (uses of each weight per sample, (weights,
# non-zero weights)); or a function call -> {name: (flops, flops_nz)} for layers
# counted through their sub-modules.
FLOP_RULES: dict[type, Counts | Callable[[LayerCall], dict[str, tuple[int, int]]] | None] = {
    Linear: (_linear_uses, _dense_counts),
    Conv2d: (_conv2d_uses, _dense_counts),
    Conv1d: (_conv2d_uses, _dense_counts),  # L_out positions
    RNNBase: (_rnn_uses, _rnn_counts),
    MultiHeadSelfAttention: _attention_flops,
    TransformerEncoderLayer: _encoder_flops,
    BasicBlock: _block_flops,
    Embedding: None,
    PositionalEncoding: None,
    SequenceMeanPool: None,
    LayerNorm: None,
    GELU: None,
    GlobalAvgPool2d: None,
    Transpose: None,
    LastTimeStep: None,
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
    hook = getattr(layer, "flops_rule", None)
    if callable(hook):
        return hook
    for kind in type(layer).__mro__:
        if kind in FLOP_RULES:
            return FLOP_RULES[kind]
    known = ", ".join(sorted(k.__name__ for k in FLOP_RULES))
    raise TypeError(
        f"flops: unknown layer type {type(layer).__name__} at {name or '(model)'!r}; "
        f"known types: {known}; a custom Module can define flops_rule(call) instead"
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
    first_layer = model
    while next(first_layer.children(), None) is not None:
        first_layer = next(first_layer.children())
    if isinstance(first_layer, Embedding):
        dtype = np.int64  # token ids
    xp = get_backend(model.backend)
    return trace(model, xp.zeros((1, *shape), dtype=dtype))  # one zero sample


def _layer_entries(call: LayerCall) -> dict[str, tuple[int, int]]:
    """``{name: (flops, flops_nz)}`` of one traced layer (several for composites)."""
    rule = _rule(call.layer, call.name)
    if rule is None:
        return {}
    if callable(rule):
        return rule(call)
    uses_of, counts_of = rule
    uses = uses_of(call)
    size, nnz = counts_of(call)
    return {call.name: (int(size * uses), int(nnz * uses))}


def layer_flops(model: Module, input_shape: Sequence[int]) -> dict[str, tuple[int, int]]:
    """``{layer name: (flops, flops_nz)}`` per sample for every layer with MACs.

    Composite layers report their sub-modules (``"enc.self_attn.q_proj"``,
    ``"enc.linear1"``, ...); an attention layer's own name holds its
    :math:`QK^\top` and :math:`PV` products (see the module docstring).

    Parameters
    ----------
    model : Module
        ``Sequential`` containers are opened; every layer must be of a type in
        ``FLOP_RULES`` or define a ``flops_rule`` hook (module docstring).
    input_shape : sequence of int
        Shape of one sample without the batch axis, e.g. ``(1, 28, 28)`` or ``(784,)``.

    Raises
    ------
    TypeError
        For a layer type not in ``FLOP_RULES`` and without a ``flops_rule`` hook.
    ValueError
        For a malformed ``input_shape``.
    """
    out = {}
    for call in _dry_run(model, input_shape):
        out.update(_layer_entries(call))
    return out


def flops(model: Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """``(flops, flops_nz)``: MACs per sample (see the module docstring), dense and non-zero.

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
        If the model has no layer with MACs (0 FLOPs).
    """
    total, nonzero = flops(model, input_shape)
    if total == 0:
        raise ValueError("theoretical_speedup: the model has no layer with MACs (0 FLOPs)")
    return math.inf if nonzero == 0 else total / nonzero
