r"""Physically remove units that no longer contribute: the step from masks to a smaller model.

A hidden unit (a neuron of a ``Linear``, a filter of a ``Conv2d``) is *dead*
when every weight that reads its output is zero: the consumer's columns
(``W_next[:, j]``, or its input channel ``j`` of a convolution, or the ``H*W``
columns channel ``j`` becomes after a ``Flatten``). Whatever the unit
computes is then multiplied by zero, so removing it (its row, bias, BatchNorm
entries and the consumer's zero columns) leaves every output exactly as it was:

.. math::

    y = W_{\text{next}}\,\sigma(W x + b) = W_{\text{next}}[:, K]\,\sigma(W[K] x + b[K])
    \quad\text{when } W_{\text{next}}[:, j] = 0 \text{ for every } j \notin K.

Structured methods (whole units masked, e.g. GSAP, network slimming) leave
such units; unstructured pruning at high sparsity leaves a few. Each layer
keeps at least one unit.

Book: §3.1 (structured pruning and physical removal).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..backend import to_numpy
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ._surgery import chain_sites
from .removal import RemovalRecord, plan_removal, remove_units


def dead_units(model: Module, input_shape: Sequence[int] | None = None) -> dict[str, list[int]]:
    """``{layer name: [unit indices]}`` of the hidden units whose consumers read only zeros.

    Layers whose units cannot be removed (the output layer, a layer followed by
    one the removal table refuses) are left out.
    """
    found: dict[str, list[int]] = {}
    for site in chain_sites(model):
        if not isinstance(site.module, Linear | Conv2d):
            continue
        n = site.module.weight.shape[0]
        if n < 2:
            continue
        try:  # a plan may not remove every unit: plan all but the last, which has the same layout
            _, edits = plan_removal(model, site.name, list(range(n - 1)), input_shape)
        except ValueError:
            continue
        consumer = edits[-1]
        weight = to_numpy(consumer.site.module.weight.data)
        per_unit = len(consumer.index) // (n - 1)  # 1, or H*W columns per channel after Flatten
        cols = np.arange(n)[:, None] * per_unit + np.arange(per_unit)  # (units, columns per unit)
        zero = np.array([not np.any(weight[:, c]) for c in cols])
        dead = [int(j) for j in np.flatnonzero(zero)]
        if len(dead) == n:  # keep one unit so that the layer still exists
            dead = dead[1:]
        if dead:
            found[site.name] = dead
    return found


def remove_dead_units(
    model: Module, input_shape: Sequence[int] | None = None
) -> list[RemovalRecord]:
    """Remove every dead hidden unit (see the module docstring), in place; outputs unchanged.

    Parameters
    ----------
    model : Module
        A ``Sequential`` chain (nested chains allowed), pruned.
    input_shape : sequence of int, optional
        One sample's shape; needed when a ``Flatten`` follows a convolution.

    Returns
    -------
    list of RemovalRecord
        One per layer that lost units.
    """
    records = []
    for name, units in dead_units(model, input_shape).items():
        records.append(remove_units(model, name, units, input_shape))
    return records


__all__ = ["dead_units", "remove_dead_units"]
