r"""Structured pruning with physical removal: pruned units really leave the model.

Masking a neuron (a row of a ``Linear`` weight) or a filter (an output
channel of a ``Conv2d``) keeps every array at full size: the model computes
the same, but is neither smaller nor faster. Here the units are *removed*:
the arrays shrink, and what is left is an ordinary, smaller nnprune model
that trains, saves and loads like any other.

Dependencies
------------
Removing output unit :math:`j` of a layer changes the shape of everything
that reads it, up to and including the next layer that mixes units (the
*consumer*). Walking the layers after the pruned one (nested ``Sequential``
containers are walked as one flat list):

===========================  ===========================================  =========
module after the pruned one  what happens to it                           the walk
===========================  ===========================================  =========
ReLU, LeakyReLU, Tanh,       nothing: each entry is transformed alone     continues
Sigmoid, Dropout
BatchNorm1d, BatchNorm2d     ``weight``, ``bias``, ``running_mean``,      continues
                             ``running_var`` lose entry :math:`j`
MaxPool2d, AvgPool2d         nothing: each channel is pooled alone        continues
Flatten (after a Conv2d)     channel :math:`c` becomes the columns        continues
                             :math:`cHW, \dots, (c+1)HW - 1`
Linear                       loses input columns :math:`W_{:,j}`          stops
Conv2d                       loses input channels :math:`W_{:,j,:,:}`     stops
anything else, or the end    refused                                      --
===========================  ===========================================  =========

:math:`H, W` are the sizes of the map entering ``Flatten``, found by a
forward pass of two zero samples of ``input_shape`` (two, so that a
BatchNorm without running statistics still has a batch); the model is
restored afterwards, forward caches and train/eval flags included. Masks
already on the parameters shrink with the data, so pruned entries stay pruned.

Refused, with a message naming the layer (and the model left unchanged,
since everything is checked before anything changes): the output layer's
units (they are the classes), all units of a layer, a layer followed by a
module the table does not list, and a model that is not a ``Sequential``
(a custom ``forward`` may use a unit anywhere: residual additions,
concatenations). For those graphs, Torch-Pruning's ``DependencyGraph``
(Fang et al., 2023) traces the forward pass and groups every coupled
parameter; this module is the readable special case of a chain.

:func:`mask_units` is the masked twin of :func:`remove_units`: it zeroes the
unit's incoming row or filter *and* its outgoing columns in the consumer. The
outgoing mask is what matters: a masked row still outputs its bias, which a
BatchNorm shift :math:`\beta` would carry on; the zero columns stop it.
Removed and masked models compute the same function.

Reading order: :func:`remove_units` asks :func:`plan_removal` which arrays the
removal touches (the walk of the table above; nothing changes yet), then
:func:`remove_planned` deletes them: row :math:`j` of :math:`W_k` and entry :math:`j`
of :math:`b_k`, entry :math:`j` of every BatchNorm in between, column :math:`j` of
:math:`W_{k+1}`. Only the walk over nested ``Sequential`` containers (``chain_sites``)
and the index checks live in :mod:`nnprune.prune._surgery`, shared with the other
structural removals.

Whole layers leave only where that is exact: see
:mod:`nnprune.prune.layer_removal` (``remove_layer``, ``fold_batchnorm``,
``merge_linear``).

References
----------
H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning Filters
for Efficient ConvNets", ICLR 2017.
G. Fang, X. Ma, M. Song, M. B. Mi and X. Wang, "DepGraph: Towards Any
Structural Pruning", CVPR 2023.

Book: §3.1 (structural pruning of neurons, filters and layers).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_xp
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.flatten import Flatten
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.pooling import AvgPool2d, MaxPool2d
from ..rng import SeedLike
from ._checks import amount_to_count
from ._surgery import Site, chain_sites, check_indices, find_site, mask_out, shrink, take
from .importance import Criterion, lowest, unit_scores
from .log import emit_units

_ELEMENTWISE = (ReLU, LeakyReLU, Tanh, Sigmoid, Dropout)
_POOLS = (MaxPool2d, AvgPool2d)
# The layers that may follow a unit layer (Linear, Conv2d) before the next mixing layer:
# the last of them outputs the unit's values as the consumer reads them. Read by
# compensation (the means a consumer's bias absorbs) and saliency.units (the Taylor term).
UNIT_FOLLOWERS = (*_ELEMENTWISE, BatchNorm1d, BatchNorm2d, *_POOLS)


@dataclass(frozen=True)
class Edit:
    """One planned change: drop or mask entries ``index`` of ``site`` in the given ``role``."""

    site: Site
    role: str  # "producer" (rows/filters), "norm" (BatchNorm entries) or "consumer" (columns)
    index: np.ndarray  # positions along this module's unit axis


@dataclass(frozen=True)
class RemovalRecord:
    """What a structural change did.

    Attributes
    ----------
    action : str
        ``"removed"``, ``"masked"``, ``"deleted"``, ``"folded"`` or ``"merged"``.
    layer : str
        Dotted name of the layer acted on (as before the change).
    removed : tuple of int
        Output units removed or masked (empty for whole-layer changes).
    params_before, params_after : int
        ``model.num_parameters()`` before and after.
    affected : tuple of str
        Every module whose arrays changed, in model order.
    """

    action: str
    layer: str
    removed: tuple[int, ...]
    params_before: int
    params_after: int
    affected: tuple[str, ...] = ()


def _input_shapes(model: Module, sites: list[Site], input_shape: Any) -> dict[int, tuple]:
    """Shape entering each layer for a zero batch; the model is restored after."""
    shape = tuple(input_shape)
    if not shape or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in shape
    ):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
    first = next(model.parameters())
    x = get_xp(first.data).zeros((2, *shape), dtype=first.dtype)  # (2, *input_shape)
    saved = [(m, dict(m.__dict__)) for m in model.modules()]  # caches and train flags
    shapes: dict[int, tuple] = {}
    try:
        model.eval()
        for s in sites:
            shapes[id(s.module)] = tuple(x.shape)
            try:
                x = s.module.forward(x)
            except Exception as err:
                raise ValueError(
                    f"a forward pass of samples of input_shape {shape} failed at layer "
                    f"{s.name!r} ({type(s.module).__name__}): {err}"
                ) from err
    finally:
        for m, state in saved:
            m.__dict__.clear()
            m.__dict__.update(state)
    return shapes


def _producer(sites: list[Site], layer: Any) -> int:
    i = find_site(sites, layer)
    if not isinstance(sites[i].module, Linear | Conv2d):
        raise ValueError(
            f"layer {sites[i].name!r} is a {type(sites[i].module).__name__}; only the output "
            "units of Linear and Conv2d layers can be removed"
        )
    return i


def plan_removal(
    model: Module, layer: Any, indices: Any, input_shape: Any
) -> tuple[Site, list[Edit]]:
    """Every array a removal touches, checked; nothing is changed here.

    Package-internal, also used by :mod:`~nnprune.prune.residual` and
    :mod:`nnprune.saliency.slimming` (to check a removal before doing it).
    """
    sites = chain_sites(model)
    i = _producer(sites, layer)
    site = sites[i]
    idx = check_indices(indices, site.module.weight.shape[0], layer=site.name)
    channels = isinstance(site.module, Conv2d)  # units on axis 1 of a 4-D map, else features
    count = site.module.weight.shape[0]
    edits, shapes = [Edit(site, "producer", idx)], None
    for later in sites[i + 1 :]:
        m = later.module
        if isinstance(m, _ELEMENTWISE) or (channels and isinstance(m, _POOLS)):
            continue
        if isinstance(m, BatchNorm2d if channels else BatchNorm1d) and m.num_features == count:
            edits.append(Edit(later, "norm", idx))
            continue
        if isinstance(m, Flatten):
            if input_shape is None:
                raise ValueError(
                    f"input_shape is needed to follow layer {site.name!r} through Flatten "
                    f"{later.name!r}; pass the shape of one sample, e.g. (C, H, W)"
                )
            shapes = shapes or _input_shapes(model, sites, input_shape)
            seen = shapes[id(m)]
            if channels and m.start_dim == 1 and len(seen) == 4:
                hw = seen[2] * seen[3]  # each channel becomes a block of H*W columns
                idx = (idx[:, None] * hw + np.arange(hw)).reshape(-1)  # (len(idx)*H*W,)
                count, channels = count * hw, False
                continue
            if not channels and len(seen) == 2:
                continue
        if isinstance(m, Linear) and not channels and m.in_features == count:
            return site, [*edits, Edit(later, "consumer", idx)]
        if isinstance(m, Conv2d) and channels and m.in_channels == count:
            return site, [*edits, Edit(later, "consumer", idx)]
        kind = "channels" if channels else "features"
        raise ValueError(
            f"cannot remove units of layer {site.name!r}: it is followed by {later.name!r} "
            f"({type(m).__name__}), which cannot take {count} {kind} with some removed; "
            "see the dependency table in nnprune.prune.removal"
        )
    raise ValueError(
        f"cannot remove units of layer {site.name!r}: it is the output layer, its units are "
        "the model's outputs (the classes)"
    )


def remove_planned(model: Module, layer: str, edits: list[Edit], before: int) -> RemovalRecord:
    """Carry out a checked plan of :func:`plan_removal` (shrink its arrays); return the record.

    Package-internal, shared with :mod:`~nnprune.prune.residual`; ``before`` is
    ``model.num_parameters()`` taken before the plan.
    """
    for e in edits:
        m, j = e.site.module, e.index  # j: the positions to delete along this module's unit axis
        if e.role == "producer":  # the pruned layer k: row j of W_k (filter j) and entry j of b_k
            shrink(m.weight, 0, j)
            shrink(m.bias, 0, j)
            if isinstance(m, Linear):
                m.out_features -= len(j)
            else:
                m.out_channels -= len(j)
        elif e.role == "norm":  # a BatchNorm between: entry j of gamma, beta and the statistics
            shrink(m.weight, 0, j)
            shrink(m.bias, 0, j)
            for buf in ("running_mean", "running_var"):
                if getattr(m, buf) is not None:
                    setattr(m, buf, take(getattr(m, buf), 0, j))
            m.num_features -= len(j)
        else:  # the consumer k+1: column j of W_{k+1} (input channel j of a Conv2d)
            shrink(m.weight, 1, j)
            if isinstance(m, Linear):
                m.in_features -= len(j)
            else:
                m.in_channels -= len(j)
    removed = tuple(int(j) for j in edits[0].index)
    names = tuple(e.site.name for e in edits)
    return RemovalRecord("removed", layer, removed, before, model.num_parameters(), names)


def mask_planned(model: Module, layer: str, edits: list[Edit], before: int) -> RemovalRecord:
    """Masked twin of :func:`remove_planned`: mask producers' rows and consumers' inputs.

    BatchNorm entries (role ``"norm"``) are not masked: the consumer's masked
    columns stop whatever they carry (see the module docstring).
    """
    for e in edits:
        if e.role != "norm":
            mask_out(e.site.module.weight, 0 if e.role == "producer" else 1, e.index)
    removed = tuple(int(j) for j in edits[0].index)
    names = tuple(e.site.name for e in edits if e.role != "norm")
    return RemovalRecord("masked", layer, removed, before, model.num_parameters(), names)


def remove_units(
    model: Module, layer: str | Module, indices: Any, input_shape: tuple[int, ...] | None = None
) -> RemovalRecord:
    """Physically remove output units (neurons or filters) of one layer.

    Parameters
    ----------
    model : Sequential
        The model, changed in place (nested ``Sequential`` allowed).
    layer : str or Module
        Dotted name from ``model.named_modules()`` (e.g. ``"0"``, ``"features.3"``)
        or the layer itself; a ``Linear`` or ``Conv2d``.
    indices : sequence of int
        Output units to remove (rows of ``weight`` / filters).
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(3, 32, 32)``; needed when a
        ``Flatten`` lies between the layer and its consumer.

    Returns
    -------
    RemovalRecord
        ``action="removed"``, the layer, the sorted indices and the
        parameter counts.

    Raises
    ------
    ValueError
        For anything the dependency table refuses (see module docstring);
        the model is then unchanged.

    Notes
    -----
    Optimisers hold references to the old arrays: build a new one after a
    removal. Torch-Pruning: ``DG.get_pruning_group(layer, prune_*_out_channels,
    idxs).prune()``.

    Examples
    --------
    >>> from nnprune import nn
    >>> model = nn.Sequential(nn.Linear(4, 8, seed=0), nn.ReLU(), nn.Linear(8, 2, seed=1))
    >>> record = remove_units(model, "0", [1, 5])
    >>> model[0].weight.shape, model[2].weight.shape
    ((6, 4), (2, 6))
    >>> record.params_before - record.params_after  # 2 rows of 4, 2 biases, 2 columns of 2
    14

    Book: §3.1.
    """
    return _remove(model, layer, indices, input_shape, {"function": "remove_units"})


def _remove(model: Module, layer: Any, indices: Any, input_shape: Any, why: dict) -> RemovalRecord:
    """Remove the units and, inside a ``PruningLog`` block, record why (``why``)."""
    before = model.num_parameters()
    site, edits = plan_removal(model, layer, indices, input_shape)
    total_units = site.module.weight.shape[0]
    record = remove_planned(model, site.name, edits, before)
    _log(record, total_units, why)
    return record


def _log(record: RemovalRecord, total_units: int, why: dict) -> None:
    emit_units(
        {
            **why,
            "action": record.action,
            "layer": record.layer,
            "units": list(record.removed),
            "total_units": total_units,
            "params_before": record.params_before,
            "params_after": record.params_after,
            "affected": list(record.affected),
        }
    )


def mask_units(
    model: Module, layer: str | Module, indices: Any, input_shape: tuple[int, ...] | None = None
) -> RemovalRecord:
    """Mask output units without shrinking: the masked twin of :func:`remove_units`.

    The unit's incoming weights (rows of a ``Linear`` weight, filters of a
    ``Conv2d``) and its outgoing weights in the consumer (input columns or
    input channels) are masked; existing masks are kept (logical and).
    The model then computes exactly what :func:`remove_units` would leave.
    Arguments, refusals and return value as :func:`remove_units`, with
    ``action="masked"``.

    Book: §3.1.
    """
    before = model.num_parameters()
    site, edits = plan_removal(model, layer, indices, input_shape)
    record = mask_planned(model, site.name, edits, before)
    _log(record, site.module.weight.shape[0], {"function": "mask_units"})
    return record


def prune_units(
    model: Module,
    layer: str | Module,
    amount: int | float,
    criterion: Criterion = "l1",
    input_shape: tuple[int, ...] | None = None,
    seed: SeedLike = None,
) -> RemovalRecord:
    r"""Remove the ``amount`` lowest-scoring output units of a layer.

    The scores come from :func:`nnprune.prune.importance.unit_scores`:
    ``"l1"`` (:math:`\sum_k |W_{jk}|`, Li et al., 2017), ``"l2"``,
    ``"random"`` (seeded), a callable ``score(module) -> (n_units,)`` or an
    array of scores. Ties go to the lower index.

    Parameters
    ----------
    model, layer, input_shape
        As in :func:`remove_units`.
    amount : int or float
        Number of units (int) or fraction of them (float in ``[0, 1]``).
    criterion : str, callable or array_like, default "l1"
    seed : int or numpy.random.Generator, optional
        For ``criterion="random"``.

    Returns
    -------
    RemovalRecord

    Book: §3.1, §3.2.
    """
    sites = chain_sites(model)
    module = sites[_producer(sites, layer)].module
    scores = unit_scores(module, criterion, seed)
    count = amount_to_count(amount, len(scores), "units")
    chosen = lowest(scores, count)
    why = {
        "function": "prune_units",
        "criterion": criterion if isinstance(criterion, str) else "custom scores",
        "amount": amount,
        "max_pruned_score": float(np.max(scores[chosen])) if len(chosen) else None,
    }
    return _remove(model, layer, chosen, input_shape, why)


__all__ = [
    "RemovalRecord",
    "mask_units",
    "prune_units",
    "remove_units",
]
