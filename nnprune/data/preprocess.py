r"""What a loader does to the features, kept as data so it travels with the model.

A preprocessing record is a JSON-ready dict

.. math::

    x_{\text{model}} = (x_{\text{raw}} - \text{mean}) / \text{std},

with ``"mean"`` and ``"std"`` each a number or a list of one number per
feature of the flattened sample, and ``"fitted"``: ``True`` when the numbers
were learned from the training set (a CSV file's standardisation), ``False``
when the format fixes them (``uint8`` pixels divided by 255). The loaders of
:mod:`nnprune.data.sources` put the record in ``Dataset.info["preprocess"]``,
:func:`nnprune.experiments.workflow.architecture` stores it in the checkpoint,
the commands apply a checkpoint's *fitted* record to the raw data they are
given (never statistics refitted on other data), and
:func:`nnprune.export.onnx_export.export_onnx` writes it as ``Sub``/``Div``
nodes in front of the graph, so the exported model takes raw rows.

Book: §1.3 (statistics from the training set only), §8.3 (deployment).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def make_preprocess(mean: Any, std: Any, *, fitted: bool) -> dict[str, Any]:
    """The JSON-ready record of ``(x - mean) / std`` (numbers or per-feature lists)."""

    def plain(v: Any) -> Any:
        arr = np.asarray(v, dtype=np.float64)
        return float(arr) if arr.ndim == 0 else [float(a) for a in arr.ravel()]

    return {"mean": plain(mean), "std": plain(std), "fitted": bool(fitted)}


def preprocess_arrays(
    pre: dict[str, Any], n_features: int, what: str = "preprocess"
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` as float64 arrays of ``n_features`` (or scalars), checked.

    Raises
    ------
    ValueError
        For a malformed record, a length other than ``n_features``, a
        non-finite value or a standard deviation that is not positive.
    """
    if not isinstance(pre, dict) or "mean" not in pre or "std" not in pre:
        raise ValueError(f"{what} must be a dict with 'mean' and 'std', got {pre!r}")
    out = []
    for key in ("mean", "std"):
        try:
            arr = np.asarray(pre[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: {key!r} must be a number or a list of numbers") from None
        if arr.ndim > 1 or (arr.ndim == 1 and len(arr) != n_features):
            raise ValueError(
                f"{what}: {key!r} has {arr.size} values, the samples have {n_features} features"
            )
        if not np.all(np.isfinite(arr)) or (key == "std" and np.any(arr <= 0)):
            raise ValueError(f"{what}: {key!r} must be finite (std > 0)")
        out.append(arr)
    return out[0], out[1]


def apply_preprocess(X: np.ndarray, pre: dict[str, Any] | None) -> np.ndarray:
    """``(X - mean) / std`` per flattened feature, computed in float64, returned float32."""
    if pre is None:
        return X
    n_features = math.prod(X.shape[1:])
    mean, std = preprocess_arrays(pre, n_features)
    flat = X.reshape(len(X), n_features).astype(np.float64)  # (N, features)
    return ((flat - mean) / std).astype(np.float32).reshape(X.shape)


__all__ = ["apply_preprocess", "make_preprocess", "preprocess_arrays"]
