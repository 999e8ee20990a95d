r"""Unit scores for structured pruning: one number per neuron or filter.

A *unit* is one output of a layer: a row :math:`W_j` of a ``Linear`` weight
``(out_features, in_features)``, or a filter :math:`F_j` of a ``Conv2d``
weight ``(out_channels, in_channels, kH, kW)``. Structured pruning ranks the
units by a score and removes the lowest. The scores here look only at the
unit's *incoming* weights, as in Li et al. (2017):

.. math::

    s^{(1)}_j = \sum_{k} |W_{jk}| \quad (\texttt{"l1"}),\qquad
    s^{(2)}_j = \Big(\sum_{k} W_{jk}^2\Big)^{1/2} \quad (\texttt{"l2"}),

where :math:`k` runs over every entry of the row or filter, and
``"random"`` draws :math:`s_j \sim U[0, 1)` from a seeded generator (the
baseline every criterion must beat). Any other score (first-order Taylor,
activation-based, ...) plugs in as a callable ``score(module) -> (n_units,)``
or as a ready array.

Torch-Pruning names the same scores ``MagnitudeImportance(p=1)``,
``MagnitudeImportance(p=2)`` and ``RandomImportance()``; its group variants
also add the outgoing weights and the BatchNorm scale of each unit.

References
----------
H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning Filters
for Efficient ConvNets", ICLR 2017.

Book: §3.1 (structural pruning), §3.2 (importance criteria).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..rng import SeedLike, as_generator

Criterion = str | Callable[[Any], Any] | Any

CRITERIA = ("l1", "l2", "random")


def unit_scores(module: Any, criterion: Criterion = "l1", seed: SeedLike = None) -> np.ndarray:
    r"""Score each output unit of a ``Linear`` or ``Conv2d`` layer (low = prune first).

    Parameters
    ----------
    module : Linear or Conv2d
        The layer whose units (rows of ``weight`` / filters) are scored.
    criterion : {"l1", "l2", "random"}, callable or array_like
        ``"l1"``/``"l2"``: norm of each unit's incoming weights (see module
        docstring); ``"random"``: seeded uniform scores; a callable
        ``score(module)`` returning ``n_units`` numbers; or the scores
        themselves, shape ``(n_units,)``.
    seed : int or numpy.random.Generator, optional
        Source of the ``"random"`` scores.

    Returns
    -------
    numpy.ndarray, shape ``(n_units,)``, float64
        The scores, on the host.

    Raises
    ------
    ValueError
        If ``criterion`` is an unknown name, or the scores do not have shape
        ``(n_units,)`` or are not finite.

    Book: §3.1, §3.2.
    """
    weight = to_numpy(module.weight.data)
    n_units = weight.shape[0]
    if isinstance(criterion, str):
        w = weight.reshape(n_units, -1).astype(np.float64)  # (n_units, fan_in)
        if criterion == "l1":
            scores = np.abs(w).sum(axis=1)
        elif criterion == "l2":
            scores = np.sqrt((w * w).sum(axis=1))
        elif criterion == "random":
            scores = as_generator(seed).random(n_units)
        else:
            raise ValueError(
                f"criterion must be one of {CRITERIA}, a callable or scores, got {criterion!r}"
            )
        return scores
    raw = criterion(module) if callable(criterion) else criterion
    scores = np.asarray(to_numpy(raw) if hasattr(raw, "shape") else raw, dtype=np.float64)
    if scores.shape != (n_units,):
        raise ValueError(
            f"scores must have shape ({n_units},), one per unit, got shape {scores.shape}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite, got NaN or infinity")
    return scores


def lowest(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` lowest scores, sorted; ties go to the lower index."""
    return np.sort(np.argsort(scores, kind="stable")[:count])


__all__ = ["CRITERIA", "lowest", "unit_scores"]
