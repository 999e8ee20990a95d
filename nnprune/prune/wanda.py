r"""Wanda: prune by weight magnitude times input activation norm, per output row, no retraining.

For a ``Linear`` weight :math:`W` ``(out, in)`` and calibration inputs
:math:`X` ``(tokens, in)`` the score of a weight is

.. math::

    S_{ij} = |W_{ij}| \cdot \lVert X_{:,j} \rVert_2 ,

and the weights with the lowest scores are pruned **within each output row**
:math:`i` (the same share in every row), or, for N:M sparsity, within each
group of :math:`M` consecutive inputs of a row. A weight that multiplies a
large input matters more than its magnitude alone says; language models have
a few input features with very large activations, where magnitude pruning
goes wrong. Wanda needs one forward pass over the calibration data and no
weight update (compare :mod:`nnprune.prune.sparsegpt`).

M. Sun, Z. Liu, A. Bair, J. Z. Kolter, "A Simple and Effective Pruning Approach
for Large Language Models", ICLR 2024 (arXiv:2306.11695, 2023).

Book: §8.1 (beyond the book: one-shot pruning of language models).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from .nm import _check_nm, nm_mask


def _check_sparsity(sparsity: Any) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float | np.floating):
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return float(sparsity)


def _check_weight_norms(weight: Any, input_norms: Any) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(to_numpy(weight), dtype=np.float64)
    norms = np.asarray(to_numpy(input_norms), dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weight must be a (out, in) matrix, got shape {w.shape}")
    if norms.shape != (w.shape[1],):
        raise ValueError(
            f"input_norms must have shape (in,) = ({w.shape[1]},), got shape {norms.shape}"
        )
    if np.any(norms < 0) or not np.all(np.isfinite(norms)):
        raise ValueError("input_norms must be finite and >= 0 (they are the norms ||X_j||_2)")
    return w, norms


def wanda_scores(weight: Any, input_norms: Any) -> np.ndarray:
    r"""The Wanda score :math:`S_{ij} = |W_{ij}|\,\lVert X_{:,j}\rVert_2`.

    Parameters
    ----------
    weight : array, shape ``(out, in)``
    input_norms : array, shape ``(in,)``
        :math:`\lVert X_{:,j}\rVert_2` over all calibration tokens.

    Returns
    -------
    float64 array, shape ``(out, in)``

    Book: §8.1.
    """
    w, norms = _check_weight_norms(weight, input_norms)
    return np.abs(w) * norms[None, :]


def wanda_mask(
    weight: Any,
    input_norms: Any,
    sparsity: float = 0.5,
    n: int | None = None,
    m: int | None = None,
) -> np.ndarray:
    r"""Keep mask (True = kept) of Wanda: the lowest scores of each row are pruned.

    Unstructured: in every row :math:`i` the :math:`\lfloor s \cdot \text{in}\rfloor`
    entries with the smallest :math:`S_{ij}` are pruned (ties: the earlier
    column first), as in the authors' code. With ``n`` and ``m``: in every
    group of ``m`` consecutive inputs of a row the ``n`` largest scores are kept
    (:func:`nnprune.prune.nm_mask`); ``sparsity`` is then ignored.

    Parameters
    ----------
    weight : array, shape ``(out, in)``
    input_norms : array, shape ``(in,)``
    sparsity : float in [0, 1), default 0.5
    n, m : int, optional
        Both or neither: N:M sparsity (keep ``n`` of every ``m``).

    Returns
    -------
    bool array, shape ``(out, in)``

    Book: §8.1.
    """
    scores = wanda_scores(weight, input_norms)
    if (n is None) != (m is None):
        raise ValueError(f"give both n and m for N:M sparsity, or neither; got n={n}, m={m}")
    if n is not None:
        n, m = _check_nm(n, m)
        return nm_mask(scores, n, m, dim=1)
    sparsity = _check_sparsity(sparsity)
    pruned_per_row = int(scores.shape[1] * sparsity)
    order = np.argsort(scores, axis=1, kind="stable")  # (out, in), smallest first
    keep = np.ones(scores.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :pruned_per_row], False, axis=1)
    return keep


__all__ = ["wanda_mask", "wanda_scores"]
