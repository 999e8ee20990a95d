"""Argument checks shared by the layers: clear errors at the public boundary."""

from __future__ import annotations

import numbers
from typing import Any


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as int, or raise ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nonnegative_int(name: str, value: Any) -> int:
    """Return ``value`` as int if it is >= 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """Turn an int or a pair of ints into a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum for v in pair
    ):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_probability(name: str, value: Any, *, upper_inclusive: bool = False) -> float:
    """Return ``value`` as float in ``[0, 1)`` (or ``[0, 1]``), else raise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and 0.0 <= value and (value <= 1.0 if upper_inclusive else value < 1.0)
    if not ok:
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def check_input(
    module: Any,
    x: Any,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    last_dim: int | None = None,
    channels: int | None = None,
) -> None:
    """Check the shape of a layer's input and name the layer in the error.

    Parameters
    ----------
    module : Module
        The layer (for the message).
    x : array
        The input.
    ndim, min_ndim : int, optional
        Required exact or minimum number of dimensions.
    last_dim : int, optional
        Required size of the last axis (features).
    channels : int, optional
        Required size of axis 1 (channels).
    """
    name = type(module).__name__
    shape = getattr(x, "shape", None)
    if shape is None or not hasattr(x, "dtype"):
        raise TypeError(f"{name} expects an array input, got {type(x).__name__}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name} expects a {ndim}-D input, got shape {tuple(shape)}")
    if min_ndim is not None and len(shape) < min_ndim:
        raise ValueError(
            f"{name} expects an input with at least {min_ndim} dimensions, got shape {tuple(shape)}"
        )
    if last_dim is not None and shape[-1] != last_dim:
        raise ValueError(
            f"{name} expects {last_dim} input features (last axis), got shape {tuple(shape)}"
        )
    if channels is not None and shape[1] != channels:
        raise ValueError(
            f"{name} expects {channels} input channels (axis 1), got shape {tuple(shape)}"
        )


def check_not_ragged(module: Any, x: Any, arg: str = "x") -> None:
    """Reject a list/tuple of sequences of different lengths with a padding hint."""
    if not isinstance(x, list | tuple) or not x:
        return
    lengths = [len(s) if hasattr(s, "__len__") else None for s in x]
    if None in lengths or len(set(lengths)) == 1:
        return
    shown = lengths if len(lengths) <= 8 else [*lengths[:8], "..."]
    raise ValueError(
        f"{type(module).__name__} got {arg} as {len(x)} sequences of different lengths "
        f"{shown}; pad them to one length T, stack them into one array of shape (N, T, ...) "
        "and pass key_padding_mask (bool (N, T), True = padding) to the attention layers"
    )
