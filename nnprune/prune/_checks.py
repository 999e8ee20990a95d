"""Argument checks for the pruning API: clear errors before anything is changed.

Every public pruning call validates here first, so a bad argument raises with
a message that names it and the model is left exactly as it was.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module
from ..nn.parameter import Parameter

_AMOUNT_RULE = "an int >= 0 (a count) or a float in [0, 1] (a fraction)"


def check_amount(amount: Any) -> int | float:
    """Return ``amount`` as ``int`` (a count) or ``float`` (a fraction in [0, 1]).

    Raises
    ------
    TypeError
        If ``amount`` is not a real number (bools are refused too).
    ValueError
        If it is a negative int or a float outside ``[0, 1]``.
    """
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"amount must be {_AMOUNT_RULE}, got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f"amount must be {_AMOUNT_RULE}, got {amount!r}")
        return int(amount)
    if not 0.0 <= float(amount) <= 1.0:  # also refuses NaN
        raise ValueError(f"amount must be {_AMOUNT_RULE}, got {amount!r}")
    return float(amount)


def amount_to_count(amount: Any, available: int, unit: str = "entries") -> int:
    r"""Turn PyTorch's ``amount`` into the number of units to prune among ``available``.

    The one amount-to-count rule of nnprune (``torch.nn.utils.prune``'s):

    .. math::

        k = \begin{cases} \text{amount} & \text{amount an int (a count)},\\
        \operatorname{round}(\text{amount}\cdot n) & \text{amount a float in } [0, 1],
        \end{cases}

    where :math:`n` = ``available`` counts the units *still kept* (entries,
    channels, heads, hidden units), and ``round`` is Python's (half to even).
    A float ``amount`` is thus relative to what is left; the absolute share of
    zeros is ``sparsity`` (see :func:`nnprune.prune.sparsity_to_count`).

    Raises
    ------
    TypeError
        If ``amount`` is not a real number (bools are refused too).
    ValueError
        If it is a negative int, a float outside [0, 1], or a count above ``available``.
    """
    amount = check_amount(amount)
    if isinstance(amount, int):
        if amount > available:
            raise ValueError(
                f"amount={amount} is larger than the number of {unit} still kept ({available})"
            )
        return amount
    return round(amount * available)


def get_parameter(module: Any, name: Any, *, force: bool = False) -> Parameter:
    """Return the parameter ``module.<name>`` after checking it may be pruned.

    Raises
    ------
    TypeError
        If ``module`` is not an nnprune ``Module`` or ``name`` is not a string.
    ValueError
        If the module has no such parameter (the message lists the ones it
        has), or the parameter has ``prunable=False`` and ``force`` is False.
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be an nnprune.nn.Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a parameter name (str), got {name!r}")
    params = {n: p for n, p in module.named_parameters() if "." not in n}  # its own
    if name not in params:
        if params:
            hint = f"its parameters are {list(params)}"
        else:
            hint = "it has no parameters of its own (prune one of its sub-modules)"
        raise ValueError(f"{type(module).__name__} has no parameter {name!r}; {hint}")
    param = params[name]
    if not param.prunable and not force:
        raise ValueError(
            f"parameter {name!r} of {type(module).__name__} is not prunable (prunable=False: "
            "biases and normalisation scales stay dense by default); pass force=True to "
            "prune it anyway"
        )
    return param


def check_scores(scores: Any, shape: tuple[int, ...], what: str = "importance_scores") -> Any:
    """Return ``scores`` as a host float array of ``shape``, or raise ``ValueError``."""
    if not hasattr(scores, "shape") or not hasattr(scores, "dtype"):
        raise TypeError(f"{what} must be an array of shape {shape}, got {type(scores).__name__}")
    arr = to_numpy(scores)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{what} must have the parameter's shape {shape}, got {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite (no NaN or inf)")
    return arr.astype(np.float64)


def check_dim(dim: Any, ndim: int, shape: tuple[int, ...]) -> int:
    """Return ``dim`` as a non-negative axis index of a tensor of ``shape``."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -ndim <= dim < ndim:
        raise ValueError(
            f"dim must be an int in [{-ndim}, {ndim - 1}] for a tensor of shape {shape}, "
            f"got {dim!r}"
        )
    return int(dim) % ndim


def check_norm_order(n: Any) -> float | str:
    """Return a valid ``ln_structured`` order: a positive number, ``inf``, ``-inf`` or 'fro'."""
    if isinstance(n, str):
        if n == "fro":
            return n
        raise ValueError(f"n must be a positive number, inf, -inf or 'fro', got {n!r}")
    ok = isinstance(n, numbers.Real) and not isinstance(n, bool) and not math.isnan(n)
    if not ok or not (n > 0 or n == -math.inf):
        raise ValueError(f"n must be a positive number, inf, -inf or 'fro', got {n!r}")
    return float(n)
