r"""Network slimming (Liu et al., 2017): L1 on BatchNorm scales, then remove small-|gamma| channels.

Each channel :math:`c` after a ``Linear``/``Conv2d`` and its BatchNorm is scaled by
:math:`\gamma_c`. Training minimises

.. math::

    \sum \ell(f(x, W), y) + \lambda \sum_{\gamma} |\gamma|,\qquad
    \frac{\partial}{\partial\gamma} \mathrel{+}= \lambda\,\operatorname{sign}(\gamma),

which drives the scales of unneeded channels towards zero. Then the channels are
ranked by :math:`|\gamma|` **globally** across every BatchNorm layer, the lowest
``fraction`` are removed physically (the producing layer's rows or filters, the
BatchNorm entries and the consumer's input columns or channels), and the smaller
network is fine-tuned. Liu et al. use :math:`\lambda = 10^{-4}` (VGG) and
:math:`10^{-5}` (ResNet, DenseNet).

BatchNorm scales are ``prunable=False`` (they are not weights to mask); the
penalty works on them directly through :class:`nnprune.regularizers.L1`.

References
----------
Z. Liu, J. Li, Z. Shen, G. Huang, S. Yan and C. Zhang, "Learning Efficient
Convolutional Networks through Network Slimming", ICCV 2017.

Book: §4.1, §4.3 (sparsity regularisation used as an importance criterion).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_probability
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..nn.pooling import AvgPool2d, MaxPool2d
from ..prune import RemovalRecord, remove_units
from ..prune.removal import plan_removal
from ..regularizers import L1
from .units import sequential_layers

_BETWEEN = (ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, MaxPool2d, AvgPool2d)


def bn_scales(model: Module) -> list[Parameter]:
    r"""The ``weight`` (:math:`\gamma`) of every affine BatchNorm layer of ``model``.

    Raises
    ------
    ValueError
        If the model has none.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    scales = [
        m.weight for m in model.modules() if isinstance(m, BatchNorm1d | BatchNorm2d) and m.affine
    ]
    if not scales:
        raise ValueError(
            "network slimming needs a model with BatchNorm layers (it ranks channels by the "
            f"BatchNorm scale |gamma|); {type(model).__name__} has none"
        )
    return scales


class SlimmingPenalty:
    r"""The sparsity term :math:`\lambda\sum|\gamma|` on every BatchNorm scale.

    Two ways to use it:

    * in your own loop, after ``model.backward(...)`` and before ``opt.step()``:
      ``penalty.add_grad(model)`` adds :math:`\lambda\operatorname{sign}(\gamma)` to
      each :math:`\partial J/\partial\gamma` (Liu et al.'s update, exact);
    * as a callback of :func:`nnprune.train.fit`: ``SlimmingPenalty(lam, optimizer=opt)``.
      ``fit`` calls ``on_step_end`` *after* the optimiser step, so the callback takes
      the decoupled step :math:`\gamma \leftarrow \gamma - \eta\lambda\operatorname{sign}(\gamma)`
      with the optimiser's current learning rate :math:`\eta`. For SGD without momentum
      this equals the coupled update unless the step moves :math:`\gamma` across 0;
      with momentum or Adam the penalty bypasses the optimiser's averaging (as AdamW's
      decay does).

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    optimizer : Optimizer, optional
        Needed only for the callback use (its ``param_groups[0]["lr"]``).

    Book: §4.1, §4.3
    """

    def __init__(self, lam: float, optimizer: Any = None) -> None:
        self._l1 = L1(lam)
        self.optimizer = optimizer

    @property
    def lam(self) -> float:
        r""":math:`\lambda`."""
        return self._l1.lam

    def value(self, model: Module) -> float:
        r""":math:`\lambda\sum|\gamma|`, to add to the reported loss."""
        return self._l1.value(bn_scales(model))

    def add_grad(self, model: Module) -> None:
        r"""Add :math:`\lambda\operatorname{sign}(\gamma)` into every BatchNorm ``weight.grad``."""
        self._l1.add_grad(bn_scales(model))

    def on_step_end(self, step: int, model: Module) -> None:
        r"""Callback: :math:`\gamma \leftarrow \gamma - \eta\lambda\operatorname{sign}(\gamma)`."""
        if self.optimizer is None:
            raise ValueError(
                "SlimmingPenalty used as a fit callback needs the optimizer (for its learning "
                "rate): SlimmingPenalty(lam, optimizer=opt); in a hand-written loop call "
                "add_grad(model) before opt.step() instead"
            )
        lr = float(self.optimizer.param_groups[0]["lr"])
        for g in bn_scales(model):
            if g.requires_grad:
                g.data[...] -= lr * self._l1.grad(g.data)

    def __repr__(self) -> str:
        return f"SlimmingPenalty(lam={self.lam!r})"


def _producers(model: Module) -> list[tuple[Module, Module]]:
    """``(producer, batchnorm)`` pairs: each affine BatchNorm and the Linear/Conv2d feeding it."""
    layers = sequential_layers(model)
    pairs = []
    for i, (name, m) in enumerate(layers):
        if not (isinstance(m, BatchNorm1d | BatchNorm2d) and m.affine):
            continue
        j = i - 1
        while j >= 0 and isinstance(layers[j][1], _BETWEEN):
            j -= 1
        prod = layers[j][1] if j >= 0 else None
        if not isinstance(prod, Linear | Conv2d) or prod.weight.shape[0] != m.num_features:
            raise ValueError(
                f"BatchNorm {name!r} does not follow a Linear or Conv2d layer with "
                f"{m.num_features} outputs; its channels cannot be removed"
            )
        pairs.append((prod, m))
    return pairs


def slim_channels(
    model: Module, fraction: float, input_shape: tuple[int, ...] | None = None
) -> list[RemovalRecord]:
    r"""Remove the ``fraction`` of BatchNorm channels with the smallest :math:`|\gamma|`, globally.

    All :math:`|\gamma_c|` of all BatchNorm layers are ranked together; the
    :math:`\operatorname{round}(\text{fraction}\cdot C_\text{total})` smallest go (ties: the
    earlier layer and channel first), except that every layer keeps at least its
    largest-:math:`|\gamma|` channel. Each layer's channels are removed with
    :func:`nnprune.prune.remove_units` on its producing ``Linear``/``Conv2d``.

    Parameters
    ----------
    model : Sequential
        A chain with BatchNorm layers; shrunk in place.
    fraction : float in [0, 1)
        Fraction of all BatchNorm channels to remove.
    input_shape : tuple of int, optional
        One sample's shape; needed when a ``Flatten`` follows a pruned layer.

    Returns
    -------
    list of RemovalRecord
        One per layer that lost channels, in model order.

    Raises
    ------
    ValueError
        For a model without BatchNorm, a bad ``fraction``, or a removal the dependency
        rules refuse; every removal is checked before the first one, so the model is
        then unchanged.

    Book: §4.3 (network slimming)
    """
    fraction = check_probability("fraction", fraction)
    bn_scales(model)
    pairs = _producers(model)
    gammas = [np.abs(to_numpy(bn.weight.data).astype(np.float64)) for _, bn in pairs]
    flat = np.concatenate(gammas)
    k = round(fraction * flat.size)
    chosen = np.zeros(flat.size, bool)
    chosen[np.argsort(flat, kind="stable")[:k]] = True
    plans, start = [], 0
    for (prod, _), g in zip(pairs, gammas, strict=True):
        drop = chosen[start : start + g.size].copy()
        start += g.size
        if drop.all():
            drop[int(np.argmax(g))] = False  # never cut the network in two
        idx = np.flatnonzero(drop)
        if idx.size:
            plan_removal(model, prod, idx, input_shape)  # raises before anything changes
            plans.append((prod, idx))
    return [remove_units(model, prod, idx, input_shape) for prod, idx in plans]


__all__ = ["SlimmingPenalty", "bn_scales", "slim_channels"]
