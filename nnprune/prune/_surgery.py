"""Package-internal primitives of structured surgery on a ``Sequential`` chain.

Shared by :mod:`~nnprune.prune.removal` (units), :mod:`~nnprune.prune.layer_removal`
(whole layers), :mod:`~nnprune.prune.residual` (coupled channels),
:mod:`~nnprune.prune.heads` (attention heads), :mod:`~nnprune.prune.recurrent`
(hidden units, embedding dimensions) and :mod:`nnprune.saliency.slimming`: the
layers of a chain (:func:`chain_sites`, :func:`find_site`), the checked index set
(:func:`check_indices`), and shrinking or masking a parameter along one axis
(:func:`shrink`, :func:`mask_out`). Not part of the public API: the public functions
live in those modules, and what a removal deletes (which rows, entries and columns)
is written out there (for a neuron or filter: :mod:`~nnprune.prune.removal`).

Book: §3.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_xp, to_numpy
from ..nn.module import Module, Sequential
from ..nn.parameter import Parameter


@dataclass(frozen=True)
class Site:
    """A layer of the chain: its dotted ``name``, the ``module``, and the ``parent`` holding it."""

    name: str
    module: Module
    parent: Sequential


def is_chain(module: Module) -> bool:
    """True for a ``Sequential`` whose ``forward`` is the plain chain (no override)."""
    return isinstance(module, Sequential) and type(module).forward is Sequential.forward


def chain_sites(model: Module) -> list[Site]:
    """The model's layers in forward order, nested ``Sequential`` flattened."""
    if not is_chain(model):
        raise ValueError(
            f"structured removal needs an nn.Sequential model (Sequentials may nest); "
            f"the forward of {type(model).__name__} cannot be read, so which layers use a "
            "unit is unknown (Torch-Pruning's DependencyGraph traces arbitrary graphs)"
        )
    out: list[Site] = []

    def walk(seq: Sequential, prefix: str) -> None:
        for key, child in seq.named_children():
            name = f"{prefix}{key}"
            if is_chain(child):
                walk(child, name + ".")
            else:
                out.append(Site(name, child, seq))

    walk(model, "")
    if len({id(s.module) for s in out}) != len(out):
        raise ValueError("the model uses the same layer object twice (shared weights); refused")
    return out


def find_site(sites: list[Site], layer: Any) -> int:
    """Position in ``sites`` of ``layer`` (a dotted name or the module itself)."""
    if isinstance(layer, Module):
        hits = [i for i, s in enumerate(sites) if s.module is layer]
        what = f"{type(layer).__name__} object"
    elif isinstance(layer, str):
        hits = [i for i, s in enumerate(sites) if s.name == layer]
        what = repr(layer)
    else:
        raise TypeError(f"layer must be a dotted name or a Module, got {type(layer).__name__}")
    if not hits:
        names = [s.name for s in sites]
        raise ValueError(f"layer {what} is not a layer of the Sequential chain {names}")
    return hits[0]


def check_indices(
    indices: Any,
    size: int,
    what: str = "indices",
    *,
    layer: str | None = None,
    refuse_all: bool = True,
) -> np.ndarray:
    """Sorted int64 copy of ``indices``: distinct ints in ``[0, size)``, else ``ValueError``.

    ``what`` names them in the messages and ``layer`` (optional) the layer they
    index; with ``refuse_all`` all ``size`` of them at once is refused too, since
    removing every unit would cut the model in two.
    """
    arr = np.asarray(to_numpy(indices) if hasattr(indices, "__array__") else indices)
    arr = arr.reshape(-1)
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    where = "" if layer is None else f" for layer {layer!r}"
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{what} must be in [0, {size}){where}, got {arr.tolist()}")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"{what} must not repeat, got {arr.tolist()}")
    if refuse_all and arr.size == size:
        whole = what if layer is None else f"units of layer {layer!r}"
        raise ValueError(f"cannot remove all {size} {whole}: the model would be cut in two")
    return np.sort(arr)


def take(arr: Any, axis: int, index: np.ndarray) -> Any:
    """``arr`` without the entries ``index`` along ``axis``."""
    keep = np.setdiff1d(np.arange(arr.shape[axis]), index)
    return get_xp(arr).take(arr, get_xp(arr).asarray(keep), axis=axis)


def shrink(p: Parameter | None, axis: int, index: np.ndarray) -> None:
    """Drop entries ``index`` along ``axis`` from ``p``'s data, grad and mask (``None``: no-op)."""
    if p is None:
        return
    mask = None if p.mask is None else take(p.mask, axis, index)
    grad = take(p.grad, axis, index)
    p.mask = None  # the data setter accepts a new shape only without a mask
    p.data = take(p.data, axis, index)
    p.mask, p.grad = mask, grad


def mask_out(p: Parameter, axis: int, index: np.ndarray) -> None:
    """Mask entries ``index`` along ``axis`` of ``p``, keeping its existing mask (logical and)."""
    keep = np.ones(p.shape, bool) if p.mask is None else to_numpy(p.mask).copy()
    keep[(slice(None),) * axis + (index,)] = False
    p.mask = keep


__all__ = [
    "Site",
    "chain_sites",
    "check_indices",
    "find_site",
    "is_chain",
    "mask_out",
    "shrink",
    "take",
]
