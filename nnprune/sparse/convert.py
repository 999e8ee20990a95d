r"""A whole model for sparse inference: every ``Linear``/``Conv2d`` replaced by its CSR twin.

:func:`to_sparse_model` turns a trained (pruned) ``Sequential`` into a new
``Sequential`` in which each :class:`~nnprune.nn.Linear` is a
:class:`~nnprune.sparse.SparseLinear` and each :class:`~nnprune.nn.Conv2d` a
:class:`~nnprune.sparse.SparseConv2d`; every other layer is copied. The copy
computes the same function,

.. math::

    f_\text{sparse}(x) = f(x) \quad\text{(up to floating-point summation order)},

in eval mode, so it can be timed against the masked dense model (latency of
CSR kernels vs BLAS) or deployed. The original model is not changed.

Book: §2.3 (compute benefits of sparsity), §3.3 (measured latency).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..backend import get_xp
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module, Sequential
from ..rng import SeedLike
from .layers import MODES, SparseConv2d, SparseLinear


def to_sparse_model(
    model: Sequential,
    mode: str = "sparse",
    *,
    input_shape: tuple[int, ...] | None = None,
    batch_size: int = 32,
    repeats: int = 7,
    seed: SeedLike = 0,
) -> Sequential:
    """A copy of ``model`` for inference, every ``Linear``/``Conv2d`` holding its weight in CSR.

    Nested ``Sequential`` containers are converted recursively; every other
    layer (activations, BatchNorm, pooling, ``Flatten``, ...) is deep-copied.
    The result is in eval mode (BatchNorm uses its running statistics, Dropout
    is off) and is inference-only: its ``backward`` raises.

    Parameters
    ----------
    model : Sequential
        A chain of layers, e.g. from :func:`nnprune.models.mlp` or
        :func:`~nnprune.models.small_cnn`; pruned entries are exactly zero.
    mode : {"sparse", "dense", "auto"}, default "sparse"
        The product of every converted layer (see :class:`SparseLinear`):
        always CSR, always dense, or whichever a timing on a probe batch finds
        faster, layer by layer.
    input_shape : tuple of int, optional
        One sample's shape, e.g. ``(1, 8, 8)``; needed for ``mode="auto"`` when
        the model has a ``Conv2d`` (its probe batch needs the image size), which
        is found by running a zero batch through the converted layers.
    batch_size, repeats, seed
        The probe batch and timing of ``mode="auto"``.

    Returns
    -------
    Sequential
        A new model; ``model`` itself is left unchanged.

    Raises
    ------
    TypeError
        If ``model`` is not a ``Sequential``, or a layer other than a
        ``Sequential`` contains a ``Linear``/``Conv2d`` (e.g. a residual block),
        which this function cannot rebuild.
    ValueError
        For an unknown ``mode``, or ``mode="auto"`` with a ``Conv2d`` and no
        ``input_shape``.

    Book: §2.3, §3.3
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnprune Sequential, got {type(model).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    has_conv = any(isinstance(m, Conv2d) for m in model.modules())
    if mode == "auto" and has_conv and input_shape is None:
        raise ValueError(
            "input_shape (one sample's shape) is needed for mode='auto' with a Conv2d, got None"
        )
    probe = None
    if input_shape is not None:
        dtype = next((p.data.dtype for p in model.parameters()), np.float32)
        first = next((p.data for p in model.parameters()), np.zeros(1))
        probe = get_xp(first).zeros((1, *input_shape), dtype=dtype)  # (1, *input_shape)
    options = {"mode": mode, "batch_size": batch_size, "repeats": repeats, "seed": seed}
    converted, _ = _convert(model, probe, options)
    return converted.eval()


def _convert(seq: Sequential, x: Any, options: dict[str, Any]) -> tuple[Sequential, Any]:
    """Convert ``seq`` layer by layer; ``x`` (or None) is the input that reaches it."""
    layers = []
    for layer in seq:
        if isinstance(layer, Sequential):
            new, x = _convert(layer, x, options)
        else:
            new = _convert_layer(layer, x, options)
            if x is not None:
                x = new.eval().forward(x)
        layers.append(new)
    return Sequential(*layers), x


def _convert_layer(layer: Module, x: Any, options: dict[str, Any]) -> Module:
    if isinstance(layer, Linear):
        return SparseLinear.from_linear(layer, **options)
    if isinstance(layer, Conv2d):
        size = None if x is None else tuple(int(s) for s in x.shape[2:])
        return SparseConv2d.from_conv(layer, input_size=size, **options)
    inner = [type(m).__name__ for m in layer.modules() if isinstance(m, Linear | Conv2d)]
    if inner:
        raise TypeError(
            f"cannot convert {type(layer).__name__}: it holds {inner[0]} layers, and only "
            "those of a Sequential are replaced"
        )
    return copy.deepcopy(layer)


__all__ = ["to_sparse_model"]
