r"""Channel pruning of a whole CNN in one call: rank every convolution's filters, remove the lowest.

:func:`prune_channels` does, for every prunable ``Conv2d`` of a model, what
:func:`~nnprune.prune.removal.prune_units` does for one layer: score its output
channels, pick the lowest ``amount`` of them and remove them physically, with
the BatchNorm after it and the input channels (or ``Flatten`` columns) of the
next layer. In a residual network the channels that meet at an addition are
removed together from their whole group (:func:`~nnprune.prune.residual.channel_groups`),
and a block's inner ``conv1`` on its own, as :mod:`nnprune.prune.residual` does.

Criteria (a low score is removed first); :math:`F_j` is filter :math:`j` of the
layer, :math:`\gamma_j` the scale of the BatchNorm after it, :math:`W'` the
weight of the next layer that reads channel :math:`j` (input channel
:math:`W'_{:, j}` of a convolution, or the :math:`HW` columns channel :math:`j`
becomes after a ``Flatten``):

=================  ===========================================  ==========================
criterion          score :math:`s_j`                            source
=================  ===========================================  ==========================
``"l1"``           :math:`\sum |F_j|`                           Li et al. (2017)
``"l2"``           :math:`\lVert F_j \rVert_2`                  Li et al. (2017)
``"bn_scale"``     :math:`|\gamma_j|`                           Liu et al. (2017)
``"next_input"``   :math:`\lVert W'_{:, j} \rVert_2`            the next layer's input-
                                                                channel importance
callable           ``criterion(module)``, one score a channel   yours
=================  ===========================================  ==========================

``"bn_scale"`` needs a BatchNorm after every pruned convolution (the scale is
what network slimming trains towards zero; here it is only read). In a residual
group the scores of its producers are summed (``"l2"``: root of the summed
squares), as :func:`~nnprune.prune.residual.coupled_channel_scores` does.

Every score is computed on the model as given, before anything is removed (Li et
al.'s *independent* strategy), and every removal is planned and checked before
the first array changes: a refused call leaves the model as it was. With
``physical=False`` the same channels are *masked* instead
(:func:`~nnprune.prune.removal.mask_units`' rule: producer filters and consumer
inputs); the masked and the shrunk model compute the same function.

``amount`` is the fraction of each layer's output channels removed,
:math:`k = \operatorname{round}(\text{amount}\cdot n)`, at most :math:`n - 1` (a layer keeps
a channel); or a dict ``{layer name: fraction}``, where layers left out keep
all their channels. This is a share of *channels*, not of weights: removing a
fraction :math:`a` of every layer's channels removes about :math:`1-(1-a)^2`
of a middle convolution's weights (its filters and its inputs both shrink).

References
----------
H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning Filters
for Efficient ConvNets", ICLR 2017.
Z. Liu, J. Li, Z. Shen, G. Huang, S. Yan and C. Zhang, "Learning Efficient
Convolutional Networks through Network Slimming", ICCV 2017.

Book: §3.1 (structural pruning of filters), §3.2 (importance criteria), §4.3 (BN scale).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.batchnorm import BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.module import Module
from ..nn.residual import BasicBlock
from ._surgery import chain_sites
from .importance import lowest, unit_scores
from .log import emit_units
from .removal import Edit, RemovalRecord, mask_planned, plan_removal, remove_planned
from .residual import _block_edits, channel_groups

CHANNEL_CRITERIA = ("l1", "l2", "bn_scale", "next_input")


@dataclass(frozen=True)
class _Target:
    """One prunable set of channels: its name, channel count and the planned edits (all of them)."""

    name: str
    channels: int
    edits: list[Edit]  # planned for every channel but the last (the layout of any subset)


def _targets(model: Module, input_shape: Any) -> list[_Target]:
    """Every set of output channels the model lets us remove, in model order."""
    sites = chain_sites(model)
    out: list[_Target] = []
    if any(isinstance(s.module, BasicBlock) for s in sites):
        for g in channel_groups(model):
            if g.prunable and g.channels > 1:
                edits = [Edit(site, role, np.arange(g.channels)) for site, role in g.parts]
                out.append(_Target(g.name, g.channels, edits))
        for s in sites:
            if isinstance(s.module, BasicBlock) and s.module.conv1.out_channels > 1:
                n = s.module.conv1.out_channels
                name, edits = _block_edits(model, s.module, list(range(n - 1)))
                out.append(_Target(name, n, _widen(edits, n)))
        return out
    for s in sites:
        if not isinstance(s.module, Conv2d) or s.module.out_channels < 2:
            continue
        n = s.module.out_channels
        try:
            _, edits = plan_removal(model, s.name, list(range(n - 1)), input_shape)
        except ValueError as err:
            if "input_shape is needed" in str(err):
                raise
            continue  # the output layer, or a reader the removal table refuses
        out.append(_Target(s.name, n, _widen(edits, n)))
    return out


def _widen(edits: list[Edit], n: int) -> list[Edit]:
    """Edits planned for channels ``0..n-2`` turned into the layout for all ``n`` channels."""
    wide = []
    for e in edits:
        per = len(e.index) // (n - 1)  # 1, or H*W columns per channel after a Flatten
        wide.append(Edit(e.site, e.role, np.arange(n * per)))
    return wide


def _select(edits: list[Edit], n: int, chosen: np.ndarray) -> list[Edit]:
    """The edits that remove channels ``chosen`` (sorted) of a target with ``n`` channels."""
    out = []
    for e in edits:
        per = len(e.index) // n
        idx = (chosen[:, None] * per + np.arange(per)).reshape(-1)  # (len(chosen) * per,)
        out.append(Edit(e.site, e.role, idx))
    return out


def _norm(rows: np.ndarray, p: str) -> np.ndarray:
    return np.abs(rows).sum(axis=1) if p == "l1" else np.sqrt((rows * rows).sum(axis=1))


def channel_scores(model: Module, target: _Target, criterion: Any) -> np.ndarray:
    """Scores of ``target``'s channels (see the table of the module docstring)."""
    n = target.channels
    producers = [e.site.module for e in target.edits if e.role == "producer"]
    if callable(criterion) or not isinstance(criterion, str):
        parts = [unit_scores(m, criterion) for m in producers]
        return np.sum(parts, axis=0)
    if criterion in ("l1", "l2"):
        parts = [unit_scores(m, criterion) for m in producers]
        if criterion == "l1":
            return np.sum(parts, axis=0)
        return np.sqrt(np.sum(np.square(parts), axis=0))
    if criterion == "bn_scale":
        norms = [e.site.module for e in target.edits if e.role == "norm"]
        if not norms or not all(isinstance(m, BatchNorm2d) and m.affine for m in norms):
            raise ValueError(
                f"criterion 'bn_scale' needs a BatchNorm2d after layer {target.name!r}; "
                "use 'l1', 'l2' or 'next_input' for a model without BatchNorm"
            )
        return np.sum([np.abs(to_numpy(m.weight.data)).astype(np.float64) for m in norms], axis=0)
    if criterion == "next_input":
        total = np.zeros(n)
        for e in target.edits:
            if e.role != "consumer":
                continue
            w = np.moveaxis(to_numpy(e.site.module.weight.data).astype(np.float64), 1, 0)
            per = len(e.index) // n
            cols = w.reshape(n, per, -1).reshape(n, -1)  # (channels, every weight reading it)
            total += (cols * cols).sum(axis=1)
        return np.sqrt(total)
    raise ValueError(
        f"criterion must be one of {CHANNEL_CRITERIA} or a callable, got {criterion!r}"
    )


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"amount for layer {name!r} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def prune_channels(
    model: Module,
    amount: float | Mapping[str, float],
    criterion: str | Callable[[Any], Any] = "l1",
    input_shape: tuple[int, ...] | None = None,
    *,
    physical: bool = True,
) -> list[RemovalRecord]:
    r"""Remove the lowest-scoring output channels of every prunable convolution.

    Parameters
    ----------
    model : Sequential
        A CNN (a chain of layers, nested ``Sequential`` allowed) or a ResNet of
        ``BasicBlock``; changed in place.
    amount : float or dict of str to float
        Fraction in ``[0, 1)`` of each layer's output channels to remove
        (:math:`\operatorname{round}(\text{amount}\cdot n)`, every layer keeps one),
        or ``{layer name: fraction}``: only the named layers (a chain's
        ``Conv2d`` names; in a ResNet the group names of
        :func:`~nnprune.prune.channel_groups` and ``"<block>.conv1"``).
    criterion : {"l1", "l2", "bn_scale", "next_input"} or callable, default "l1"
        Channel score, low is removed first (see the module docstring);
        a callable gets the producing ``Conv2d`` and returns one score per channel.
    input_shape : tuple of int, optional
        One sample's shape, e.g. ``(3, 32, 32)``; needed when a ``Flatten``
        follows the last convolution.
    physical : bool, default True
        ``False`` masks the same channels instead of removing them.

    Returns
    -------
    list of RemovalRecord
        One per layer (or group) that lost channels, in model order.

    Raises
    ------
    ValueError
        A bad ``amount``, criterion or layer name, ``"bn_scale"`` without
        BatchNorm, or a model without prunable convolutions; the model is
        then unchanged.

    Examples
    --------
    >>> from nnprune.models import small_cnn
    >>> model = small_cnn(1, 10, 8, channels=(8, 16), batchnorm=True, seed=0)
    >>> records = prune_channels(model, 0.5, "bn_scale", input_shape=(1, 8, 8))
    >>> model[0].out_channels, model[4].out_channels, model[9].in_features
    (4, 8, 32)

    Book: §3.1, §3.2; §4.3 (``"bn_scale"``).
    """
    targets = _targets(model, input_shape)
    if not targets:
        raise ValueError(
            f"{type(model).__name__} has no convolution whose output channels can be removed"
        )
    names = [t.name for t in targets]
    if isinstance(amount, Mapping):
        unknown = sorted(set(amount) - set(names))
        if unknown:
            raise ValueError(f"amount names layers {unknown} that are not prunable; use {names}")
        fractions = {k: _fraction(k, v) for k, v in amount.items()}
    else:
        fractions = {n: _fraction(n, amount) for n in names}
    plans = []
    for t in targets:
        if fractions.get(t.name, 0.0) == 0.0:
            continue
        scores = channel_scores(model, t, criterion)
        if scores.shape != (t.channels,) or not np.all(np.isfinite(scores)):
            raise ValueError(
                f"scores of layer {t.name!r} must be {t.channels} finite numbers, got "
                f"shape {scores.shape}"
            )
        count = min(int(round(fractions[t.name] * t.channels)), t.channels - 1)
        if count:
            plans.append((t, lowest(scores, count), scores))
    records = []
    why = criterion if isinstance(criterion, str) else "custom scores"
    for t, chosen, scores in plans:
        before = model.num_parameters()
        edits = _select(t.edits, t.channels, chosen)
        do = remove_planned if physical else mask_planned
        record = do(model, t.name, edits, before)
        emit_units(
            {
                "function": "prune_channels",
                "criterion": why,
                "amount": fractions[t.name],
                "max_pruned_score": float(np.max(scores[chosen])),
                "action": record.action,
                "layer": record.layer,
                "units": list(record.removed),
                "total_units": t.channels,
                "params_before": record.params_before,
                "params_after": record.params_after,
                "affected": list(record.affected),
            }
        )
        records.append(record)
    return records


def channel_layers(model: Module, input_shape: tuple[int, ...] | None = None) -> dict[str, int]:
    """``{name: output channels}`` of every layer (or group) :func:`prune_channels` can prune.

    The names are those a per-layer ``amount`` dict takes.
    """
    return {t.name: t.channels for t in _targets(model, input_shape)}


__all__ = ["CHANNEL_CRITERIA", "channel_layers", "prune_channels"]
