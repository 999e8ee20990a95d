r"""APoZ: remove the units whose ReLU output is almost always zero (activation-sparsity pruning).

Hu, Peng, Tai & Tang (2016) score unit :math:`c` of a layer by the **Average Percentage
of Zeros** of its output after the ReLU, over :math:`N` samples and the :math:`M`
positions of its feature map (:math:`M = 1` for a ``Linear`` neuron):

.. math::

    \mathrm{APoZ}_c = \frac{1}{N M}\sum_{k=1}^{N}\sum_{j=1}^{M}
        \mathbb{1}\!\left[O_{c,j}^{(k)} = 0\right].

A unit with APoZ near 1 is rarely active: it passes almost nothing to the next layer,
so removing it changes the network little. :func:`apoz_prune` removes the units of
highest APoZ physically (:func:`nnprune.prune.remove_units`), after which the network
is retrained (Hu et al. alternate pruning and retraining).

The output is read after the first ``ReLU`` that follows the layer (a BatchNorm,
Dropout in between is allowed), before any pooling: max-pooling would hide zeros.
Scores are computed in evaluation mode and leave the model as it was.

Reference: H. Hu, R. Peng, Y.-W. Tai and C.-K. Tang, "Network Trimming: A Data-Driven
Neuron Pruning Approach towards Efficient Deep Architectures", arXiv:1607.03250, 2016.

Book: §6.3 (activation-sparsity pruning), §2.1 (activation sparsity)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of, to_backend, to_numpy
from ..checks import check_positive_int
from ..nn.activation import ReLU
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..prune import RemovalRecord, prune_units
from ._common import check_model, preserved
from .units import find_layer, sequential_layers

__all__ = ["apoz_prune", "apoz_scores"]


def _relu_after(layers: list[tuple[str, Module]], i: int) -> int | None:
    """Index of the ReLU that reads layer ``i``'s units (BatchNorm/Dropout may sit between)."""
    j = i + 1
    while j < len(layers) and isinstance(layers[j][1], BatchNorm1d | BatchNorm2d | Dropout):
        j += 1
    return j if j < len(layers) and isinstance(layers[j][1], ReLU) else None


def _check_x(X: Any) -> Any:
    if isinstance(X, tuple | list) and len(X) == 2 and hasattr(X[0], "shape"):
        X = X[0]  # (X, y) accepted: labels are not needed
    if not hasattr(X, "shape") or len(X.shape) == 0 or X.shape[0] == 0:
        raise ValueError(f"data must be an array of samples (or a pair (X, y)), got {X!r:.60}")
    return X


def apoz_scores(
    model: Module,
    data: Any,
    layer: str | Module | None = None,
    *,
    batch_size: int = 256,
) -> dict[str, np.ndarray] | np.ndarray:
    r"""APoZ of every unit: the fraction of zeros of its post-ReLU output over ``data``.

    Parameters
    ----------
    model : Sequential
        A chain of layers (nested ``Sequential`` allowed).
    data : array (N, ...) or (X, y)
        Samples (labels are not used).
    layer : str or Module, optional
        One ``Linear`` or ``Conv2d`` layer (dotted name or object): return its scores.
        Default: every such layer that a ReLU follows, as a dict by name.
    batch_size : int, default 256

    Returns
    -------
    ndarray (n_units,) or dict of str -> ndarray
        Values in [0, 1]; 1 = never active.

    Raises
    ------
    ValueError
        If the chosen layer is not followed by a ReLU, or no layer is.

    Book: §6.3 (activation-sparsity pruning)
    """
    check_model(model)
    X = _check_x(data)
    batch_size = check_positive_int("batch_size", batch_size)
    layers = sequential_layers(model)
    if layer is not None:
        i = find_layer(layers, layer)
        r = _relu_after(layers, i)
        if r is None:
            raise ValueError(f"APoZ needs a ReLU after layer {layers[i][0]!r}; none follows it")
        points = {r: layers[i][0]}
    else:
        points = {}
        for i, (name, m) in enumerate(layers):
            if isinstance(m, Linear | Conv2d):
                r = _relu_after(layers, i)
                if r is not None:
                    points[r] = name
        if not points:
            raise ValueError("no Linear or Conv2d layer of the model is followed by a ReLU")
    zeros = {name: 0.0 for name in points.values()}
    count = {name: 0 for name in points.values()}
    backend = backend_of(next(model.parameters()).data)
    with preserved(model):
        for start in range(0, X.shape[0], batch_size):
            out = to_backend(X[start : start + batch_size], backend)
            for k, (_, m) in enumerate(layers):
                out = m.forward(out)
                if k in points:
                    a = to_numpy(out)  # (N, C) or (N, C, H, W)
                    axes = (0,) + tuple(range(2, a.ndim))
                    name = points[k]
                    zeros[name] = zeros[name] + (a == 0).sum(axis=axes)
                    count[name] += a.size // a.shape[1]
    scores = {name: np.asarray(zeros[name], dtype=np.float64) / count[name] for name in zeros}
    return scores[points[next(iter(points))]] if layer is not None else scores


def apoz_prune(
    model: Module,
    data: Any,
    amount: int | float,
    layers: str | Module | list[str] | None = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    batch_size: int = 256,
) -> list[RemovalRecord]:
    """Physically remove, in each layer, the ``amount`` units of highest APoZ.

    Parameters
    ----------
    model : Sequential
        Changed in place; build a new optimiser afterwards.
    data : array (N, ...) or (X, y)
        Samples on which APoZ is measured (a validation split, as in Hu et al.).
    amount : int or float
        Units to remove per layer: a count (int) or a fraction (float in [0, 1]).
    layers : str, Module or list of str, optional
        The layers to prune; default every hidden ``Linear``/``Conv2d`` a ReLU follows
        (the output layer is never pruned: it is not followed by a ReLU).
    input_shape : tuple, optional
        One sample's shape (needed when a ``Flatten`` follows a pruned layer);
        default ``data``'s sample shape.
    batch_size : int, default 256

    Returns
    -------
    list of RemovalRecord
        One per pruned layer, in model order. All layers are scored before any is
        pruned (one measurement, as Hu et al. prune one layer per round; call again
        after retraining for the next round).

    Book: §6.3 (activation-sparsity pruning)
    """
    X = _check_x(data)
    scores = apoz_scores(model, X, batch_size=batch_size)
    if layers is not None:
        names = [layers] if isinstance(layers, str | Module) else list(layers)
        seq = sequential_layers(model)
        names = [seq[find_layer(seq, n)][0] for n in names]
        missing = [n for n in names if n not in scores]
        if missing:
            raise ValueError(f"APoZ needs a ReLU after layers {missing}; none follows them")
    else:
        names = list(scores)
    shape = tuple(X.shape[1:]) if input_shape is None else input_shape
    records = []
    for name in names:
        # prune_units removes the lowest scores: the activity 1 - APoZ
        activity = 1.0 - scores[name]
        records.append(prune_units(model, name, amount, criterion=activity, input_shape=shape))
    return records
