"""Checks of a layer's input (its shape, ragged sequences).

The generic argument checks (counts, fractions, choices) are in ``nnprune.checks``.
"""

from __future__ import annotations

from typing import Any


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
