r"""Unit removal with bias compensation: the next layer absorbs a removed unit's mean output.

The book's pipeline (§5.1, step 5) asks to adjust weights and biases after pruning so
that the loss changes as little as possible. The simplest exact form: when unit
:math:`j` of a layer is removed, the next mixing layer (the *consumer*, a ``Linear``)
loses the term :math:`W^{next}_{:,j}\,a_j(x)`, where :math:`a_j(x)` is the unit's
output as the consumer reads it (after its BatchNorm, activation and pooling). Its
mean over calibration data :math:`\bar a_j = \frac1N\sum_n a_j(x_n)` is put into the
consumer's bias,

.. math::

    b' = b + \sum_{j \in \text{removed}} W^{next}_{:,j}\,\bar a_j ,

so the consumer's output is unchanged **on average over the calibration data**
(exactly, by linearity: :math:`\frac1N\sum_n (W'a'(x_n) + b') = \frac1N\sum_n
(Wa(x_n) + b)`), and per sample only the fluctuation :math:`a_j(x) - \bar a_j` is
lost instead of the whole :math:`a_j(x)`. A unit that is nearly constant (a dead
ReLU that outputs its bias, a unit of high APoZ) is then removed almost for free.
When a ``Flatten`` lies between a ``Conv2d`` and the consumer, channel :math:`c`
is the columns :math:`cHW, \dots, (c+1)HW - 1` and its mean map
:math:`\bar a_{c,h,w}` is absorbed position by position (equally exact).

This is the mean-replacement compensation used by data-driven structured pruning
(e.g. the bias correction of ThiNet-style and "mean replacement" methods; Mussay et
al. 2020 call the idea data-independent neuron replacement). A ``Conv2d`` consumer
is refused: with zero padding a constant input map does not give a constant output,
so a bias cannot absorb it exactly.

Book: §5.1 (step 5, weight/bias compensation after pruning)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend, to_numpy
from ..nn.conv import Conv2d
from ..nn.flatten import Flatten
from ..nn.linear import Linear
from ..nn.module import Module
from ._surgery import chain_sites, find_site
from .removal import UNIT_FOLLOWERS, RemovalRecord, plan_removal, remove_units

__all__ = ["remove_units_compensated", "unit_means"]



def _locate(model: Module, layer: Any) -> tuple[list, int, int, bool]:
    """(sites, output point, consumer index, flatten between) for ``layer``.

    The output point is the last of the BatchNorm, activations, Dropout and pooling
    that follow the layer: its output is what the consumer reads (through Flatten).
    """
    sites = chain_sites(model)
    i = find_site(sites, layer)
    if not isinstance(sites[i].module, Linear | Conv2d):
        raise ValueError(
            f"layer {sites[i].name!r} is a {type(sites[i].module).__name__}; only Linear and "
            "Conv2d layers have units"
        )
    point = i
    while point + 1 < len(sites) and isinstance(sites[point + 1].module, UNIT_FOLLOWERS):
        point += 1
    k = point + 1
    flat = k < len(sites) and isinstance(sites[k].module, Flatten)
    if flat:
        k += 1
    if k >= len(sites):
        raise ValueError(f"layer {sites[i].name!r} is the output layer: its units are the outputs")
    consumer = sites[k].module
    if not isinstance(consumer, Linear):
        raise ValueError(
            f"compensation needs a Linear consumer after layer {sites[i].name!r}, got "
            f"{type(consumer).__name__} {sites[k].name!r}"
        )
    if consumer.bias is None:
        raise ValueError(f"the consumer {sites[k].name!r} has no bias to absorb the mean")
    return sites, point, k, flat


def unit_means(model: Module, layer: str | Module, calibration_x: Any, batch_size: int = 256):
    r"""Mean output :math:`\bar a` of ``layer``'s units as the next Linear reads it.

    Returns
    -------
    ndarray, float64
        ``(units,)`` for a ``Linear`` layer, ``(channels, H, W)`` for a ``Conv2d``.

    Book: §5.1
    """
    X = _check_x(calibration_x)
    sites, point, _, _ = _locate(model, layer)
    total, n = 0.0, 0
    backend = backend_of(next(model.parameters()).data)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()  # BatchNorm on its running statistics, Dropout off
    try:
        for start in range(0, X.shape[0], batch_size):
            out = to_backend(X[start : start + batch_size], backend)
            for site in sites[: point + 1]:
                out = site.module.forward(out)
            total = total + to_numpy(out).astype(np.float64).sum(axis=0)
            n += out.shape[0]
    finally:
        for m, training in modes:
            object.__setattr__(m, "training", training)
    return total / n


def _check_x(X: Any) -> Any:
    if not hasattr(X, "shape") or len(X.shape) < 2 or X.shape[0] == 0:
        raise ValueError(
            "calibration_x must be an array of samples (N, ...) with N >= 1, got "
            f"{getattr(X, 'shape', type(X).__name__)}"
        )
    return X


def remove_units_compensated(
    model: Module,
    layer: str | Module,
    units: Any,
    calibration_x: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
) -> RemovalRecord:
    r"""Remove ``units`` of ``layer`` physically; the next Linear's bias absorbs their mean.

    :math:`b' = b + \sum_{j} W^{next}_{:,j}\,\bar a_j` with :math:`\bar a_j` the mean
    output of unit :math:`j` over ``calibration_x`` (see the module docstring), then
    :func:`nnprune.prune.remove_units`.

    Parameters
    ----------
    model : Sequential
        Changed in place (build a new optimiser afterwards).
    layer : str or Module
        A hidden ``Linear`` or ``Conv2d`` whose consumer is a ``Linear`` (possibly
        after ``Flatten``).
    units : sequence of int
        Output units to remove.
    calibration_x : array (N, ...)
        Samples whose mean activation is absorbed (e.g. a slice of the training set).
    input_shape : tuple, optional
        One sample's shape; default ``calibration_x.shape[1:]``.

    Returns
    -------
    RemovalRecord

    Raises
    ------
    ValueError
        For a consumer that is not a ``Linear`` with bias, an output layer, or
        anything :func:`nnprune.prune.remove_units` refuses (the model is then
        unchanged: the bias is only changed after the removal is planned).

    Book: §5.1 (weight/bias compensation)
    """
    X = _check_x(calibration_x)
    shape = tuple(X.shape[1:]) if input_shape is None else tuple(input_shape)
    sites, _, k, flat = _locate(model, layer)
    plan_removal(model, layer, units, shape)  # validates everything, changes nothing
    idx = np.unique(np.asarray(units, dtype=np.int64))
    mean = unit_means(model, layer, X)  # (units,) or (C, H, W)
    consumer = sites[k].module
    W = to_numpy(consumer.weight.data).astype(np.float64)  # (out, in)
    if flat:
        per = int(np.prod(mean.shape[1:]))  # H * W columns per channel
        cols = (idx[:, None] * per + np.arange(per)[None, :]).reshape(-1)
        shift = W[:, cols] @ mean.reshape(mean.shape[0], -1)[idx].reshape(-1)
    else:
        shift = W[:, idx] @ mean[idx]
    bias = consumer.bias.data
    xp = get_xp(bias)
    record = remove_units(model, layer, idx.tolist(), shape)
    consumer.bias.data[...] = bias + xp.asarray(shift.astype(bias.dtype))
    return record
