r"""The pruning functions, named and behaving like ``torch.nn.utils.prune``.

Each function prunes one parameter of a module in place and returns the
module: ``prune.l1_unstructured(layer, "weight", amount=0.3)``. ``amount`` is
an int (a count) or a float in [0, 1] (a fraction); pruning a tensor again
applies the new amount to what is *still kept*, as PyTorch's
``PruningContainer`` does. Given identical tensors (and no ties), the masks
equal PyTorch's; ``tests/test_prune_torch_parity.py`` checks this.

Where the mask lives (differs from PyTorch)
-------------------------------------------
nnprune keeps the mask **on the parameter**: ``layer.weight.mask`` is a bool
array (True = kept) and ``layer.weight.data`` is already multiplied by it, so
the pruned entries are exactly zero in the array the layer computes with.
PyTorch instead renames the tensor to ``weight_orig``, stores ``weight_mask``
as a float buffer and recomputes ``weight = weight_orig * weight_mask`` in a
forward pre-hook. Readers will meet both: ``weight_mask`` there is
``weight.mask`` here, and there is no ``weight_orig`` here (the pruned
values are not kept; ``state_dict`` still saves the mask as ``"weight_mask"``).

Prunable parameters
-------------------
Only parameters created with ``prunable=True`` (layer weights) may be pruned
by default; biases and normalisation scales are refused with a clear error.
Every function takes ``force=True`` to prune such a parameter anyway.

Book: §3.1 (weight and structured pruning), §3.2 (criteria).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module
from ..rng import SeedLike
from . import log
from ._apply import apply_global, apply_method, current_mask
from ._checks import get_parameter
from .methods import (
    BasePruningMethod,
    CustomFromMask,
    Identity,
    L1Unstructured,
    LnStructured,
    RandomStructured,
    RandomUnstructured,
)


def identity(module: Module, name: str, *, force: bool = False) -> Module:
    """Attach a mask of ones to ``module.<name>`` without pruning anything.

    A parameter that is already pruned keeps its mask. Returns ``module``.

    Book: §3.1
    """
    return apply_method(Identity(), module, name, force=force, function="identity")


def l1_unstructured(
    module: Module,
    name: str,
    amount: int | float,
    importance_scores: Any = None,
    *,
    force: bool = False,
) -> Module:
    r"""Prune the ``amount`` kept entries of ``module.<name>`` with the smallest magnitude.

    .. math::

        s_i = |w_i| \ \text{(or } |\text{importance\_scores}_i|\text{)},\qquad
        \text{prune the } k \text{ smallest } s_i,\quad
        k = \texttt{amount} \text{ or } \operatorname{round}(\texttt{amount}\cdot n_\text{kept}).

    Han, Pool, Tran, Dally, *Learning both Weights and Connections for
    Efficient Neural Networks*, NeurIPS 2015.

    Parameters
    ----------
    module : Module
        Module that owns the parameter.
    name : str
        Parameter name, e.g. ``"weight"``.
    amount : int or float
        Entries to prune: a count, or a fraction of the entries still kept.
    importance_scores : array, optional
        Scores of the parameter's shape to rank by instead of the weights.
    force : bool, default False
        Prune a parameter with ``prunable=False`` (e.g. a bias).

    Returns
    -------
    Module
        ``module``, pruned in place.

    Book: §3.1
    """
    return apply_method(
        L1Unstructured(amount),
        module,
        name,
        importance_scores=importance_scores,
        force=force,
        function="l1_unstructured",
        amount=amount,
    )


def random_unstructured(
    module: Module, name: str, amount: int | float, seed: SeedLike = None, *, force: bool = False
) -> Module:
    """Prune ``amount`` kept entries of ``module.<name>`` chosen at random.

    The same ``seed`` gives the same mask; ``None`` draws from the process-wide
    generator (:func:`nnprune.manual_seed`). Returns ``module``.

    Book: §3.1 (random pruning, the baseline every criterion must beat)
    """
    return apply_method(
        RandomUnstructured(amount, seed=seed),
        module,
        name,
        force=force,
        function="random_unstructured",
        amount=amount,
        extra={"seed": seed},
    )


def ln_structured(
    module: Module,
    name: str,
    amount: int | float,
    n: float | str,
    dim: int,
    importance_scores: Any = None,
    *,
    force: bool = False,
) -> Module:
    r"""Prune the ``amount`` channels along ``dim`` of smallest :math:`L_n` norm.

    .. math::

        s_j = \|W_{[j]}\|_n = \Big(\sum_{\text{axes} \ne \texttt{dim}} |W_{[j]}|^n\Big)^{1/n},
        \qquad \text{prune the } k \text{ channels of smallest } s_j .

    ``dim=0`` prunes output units (rows of a ``Linear`` weight, filters of a
    ``Conv2d`` weight); ``dim=1`` prunes inputs. ``n=1, dim=0`` on a
    convolution is Li et al.'s L1-norm filter pruning (*Pruning Filters for
    Efficient ConvNets*, ICLR 2017). Only channels that still hold a kept entry
    count towards ``amount``. The channels are zeroed, not removed: the tensor
    keeps its shape.

    Parameters
    ----------
    amount : int or float
        Channels to prune: a count, or a fraction of the channels still kept.
    n : float, inf, -inf or 'fro'
        Norm order.
    dim : int
        Axis that indexes the channels.
    importance_scores : array, optional
        Scores of the parameter's shape whose norms are ranked instead.
    force : bool, default False
        Prune a parameter with ``prunable=False``.

    Book: §3.1 (structured pruning of neurons and filters)
    """
    return apply_method(
        LnStructured(amount, n, dim),
        module,
        name,
        importance_scores=importance_scores,
        force=force,
        function="ln_structured",
        amount=amount,
        extra={"n": n if isinstance(n, str) or math.isfinite(n) else str(n)},
    )


def random_structured(
    module: Module,
    name: str,
    amount: int | float,
    dim: int,
    seed: SeedLike = None,
    *,
    force: bool = False,
) -> Module:
    """Prune ``amount`` channels along ``dim`` chosen at random (among those still kept).

    Returns ``module``.

    Book: §3.1
    """
    return apply_method(
        RandomStructured(amount, dim, seed=seed),
        module,
        name,
        force=force,
        function="random_structured",
        amount=amount,
        extra={"seed": seed},
    )


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type[BasePruningMethod],
    amount: int | float,
    importance_scores: dict | None = None,
    *,
    force: bool = False,
    **kwargs: Any,
) -> None:
    r"""Rank the kept entries of several parameters together and prune ``amount`` of them.

    .. math::

        \text{prune the } k \text{ smallest } s_i \text{ over } \textstyle\bigcup_l \{i \in W_l\},

    so layers with many small weights lose more than others (layer-wise pruning
    with the same ``amount`` would prune each layer equally).

    Parameters
    ----------
    parameters : iterable of (Module, str)
        E.g. ``[(model[0], "weight"), (model[2], "weight")]``.
    pruning_method : class
        An unstructured method class: ``prune.L1Unstructured`` or
        ``prune.RandomUnstructured`` (or your own subclass).
    amount : int or float
        Entries to prune across all parameters: a count or a fraction of the
        entries still kept.
    importance_scores : dict, optional
        ``{(module, name): scores}``; parameters without an entry rank by their
        weights.
    force : bool, default False
        Allow parameters with ``prunable=False``.
    **kwargs
        Passed to ``pruning_method`` (e.g. ``seed=0`` for ``RandomUnstructured``).

    Returns
    -------
    None
        As in PyTorch; the modules are pruned in place.

    Book: §3.1 (global vs layer-wise magnitude pruning)
    """
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(
            "pruning_method must be a pruning method class such as prune.L1Unstructured or "
            f"prune.RandomUnstructured, got {pruning_method!r}"
        )
    apply_global(parameters, pruning_method, amount, importance_scores, force, kwargs)


def custom_from_mask(module: Module, name: str, mask: Any, *, force: bool = False) -> Module:
    """Prune ``module.<name>`` with a given bool ``mask`` (True = kept), on top of its current mask.

    Raises
    ------
    ValueError
        If ``mask`` is not a bool array of the parameter's shape.

    Book: §3.1
    """
    param = get_parameter(module, name, force=force)
    if not hasattr(mask, "dtype") or mask.dtype != np.bool_:
        raise ValueError(
            f"mask must be a bool array (True = kept), got "
            f"{getattr(mask, 'dtype', type(mask).__name__)}; convert with mask.astype(bool)"
        )
    if tuple(mask.shape) != param.shape:
        raise ValueError(f"mask must have the parameter's shape {param.shape}, got {mask.shape}")
    return apply_method(
        CustomFromMask(to_numpy(mask)), module, name, force=force, function="custom_from_mask"
    )


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: drop the mask, keep the zeros.

    PyTorch's ``prune.remove`` deletes ``weight_orig`` and the ``weight_mask``
    buffer and leaves a plain ``weight`` holding the zeros. Here there is no
    ``weight_orig`` to delete: the mask is set to ``None`` and ``data`` (already
    zero where pruned) is unchanged. Afterwards the zeros are ordinary values:
    training may make them non-zero again, and ``is_pruned`` no longer counts
    the parameter.

    Raises
    ------
    ValueError
        If the parameter does not exist or is not pruned.

    Book: §3.1
    """
    param = get_parameter(module, name, force=True)
    if param.mask is None:
        raise ValueError(
            f"parameter {name!r} of {type(module).__name__} has to be pruned before "
            "pruning can be removed"
        )
    kept = current_mask(param)
    param.mask = None
    if log.is_logging():
        total, n_kept = int(kept.size), int(kept.sum())
        log.emit(
            module,
            name,
            {
                "function": "remove",
                "method": "remove",
                "criterion": "none",
                "scope": "layer",
                "shape": list(param.shape),
                "kept_before": n_kept,
                "pruned_before": total - n_kept,
                "kept_after": n_kept,
                "pruned_after": total - n_kept,
                "newly_pruned": 0,
                "total": total,
                "sparsity": (total - n_kept) / total if total else 0.0,
            },
        )
    return module


def is_pruned(module: Module) -> bool:
    """True when any parameter of ``module`` or its sub-modules has a mask."""
    if not isinstance(module, Module):
        raise TypeError(f"module must be an nnprune.nn.Module, got {type(module).__name__}")
    return any(p.mask is not None for p in module.parameters())
