r"""Group lasso (:math:`L_{2,1}`): a penalty that removes whole neurons or filters.

For a weight split into groups :math:`W_g` along axis ``dim``,

.. math::

    \Omega(W) = \sum_g \lVert W_g \rVert_2,\qquad
    \frac{\partial\Omega}{\partial W_g} = \frac{W_g}{\lVert W_g\rVert_2}
        \ (0 \text{ at } W_g = 0),\qquad
    \operatorname{prox}_{t\lambda\Omega}(V)_g
        = V_g \max\!\Big(0,\ 1 - \frac{t\lambda}{\lVert V_g\rVert_2}\Big).

``dim=0`` groups the slices ``W[i]``: the output neurons (rows of a ``Linear``
weight, shape ``(out_features, in_features)``) or the filters of a ``Conv2d``
weight ``(out_channels, in_channels, kH, kW)``. ``dim=1`` groups ``W[:, j]``:
input features or input channels. The proximal step (block soft-thresholding)
sets whole groups to exactly zero; those units can then be removed physically
by structured pruning (drop row ``i`` of this layer and the matching input of the
next), so the model really gets smaller and faster. :func:`zero_groups` lists them.

Yuan & Lin (2006) scale each group by :math:`\sqrt{|g|}`; Wen et al. (2016, SSL)
and this module use the plain sum, which is the same when groups are equal-sized
(up to a factor absorbed in :math:`\lambda`).

References: Yuan & Lin, *Model selection and estimation in regression with grouped
variables*, JRSS-B 2006; Wen, Wu, Wang, Chen & Li, *Learning structured sparsity
in deep neural networks*, NIPS 2016.

Book: §4.1 (group :math:`L_{2,1}`), §3.1 (structured pruning).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_nonnegative
from .base import Penalty, check_array

_DIMS = (0, 1)


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or dim not in _DIMS:
        raise ValueError(
            f"dim must be 0 (output neurons / filters) or 1 (input features / channels), "
            f"got {dim!r}"
        )
    return int(dim)


def group_norms(W: Any, dim: int = 0) -> Any:
    r"""The norms :math:`\lVert W_g\rVert_2` of the groups along ``dim``.

    Parameters
    ----------
    W : array
        Shape ``(out, in, ...)``; a 1-D array (a bias) only with ``dim=0``.
    dim : {0, 1}
        0: one group per ``W[i]``; 1: one group per ``W[:, j]``.

    Returns
    -------
    array
        Shape ``(W.shape[dim],)``.
    """
    check_array("W", W)
    dim = _check_dim(dim)
    if dim >= W.ndim:
        raise ValueError(f"dim={dim} needs an array with at least {dim + 1} axes, got {W.shape}")
    xp = get_xp(W)
    axes = tuple(a for a in range(W.ndim) if a != dim)
    return xp.sqrt((W * W).sum(axis=axes))


def zero_groups(W: Any, dim: int = 0) -> Any:
    """Indices of the groups along ``dim`` that are entirely zero (units that can be removed)."""
    return get_xp(W).flatnonzero(group_norms(W, dim) == 0)


def _expand(norms: Any, W: Any, dim: int) -> Any:
    shape = [1] * W.ndim
    shape[dim] = W.shape[dim]
    return norms.reshape(shape)  # broadcastable against W


class GroupLasso(Penalty):
    r"""Group lasso :math:`\lambda \sum_g \lVert W_g\rVert_2` over neurons/filters or inputs.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    dim : {0, 1}, default 0
        0 groups output neurons / filters, 1 groups input features / channels.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[3.0, 4.0], [0.3, 0.4]])  # row norms 5 and 0.5
    >>> GroupLasso(lam=1.0).prox(W, step=1.0)  # row 0 shrinks by 1/5, row 1 vanishes
    array([[2.4, 3.2],
           [0. , 0. ]])
    """

    def __init__(self, lam: float, dim: int = 0) -> None:
        super().__init__(lam)
        self.dim = _check_dim(dim)

    def omega(self, W: Any) -> float:
        r""":math:`\sum_g \lVert W_g\rVert_2`."""
        return float(group_norms(W, self.dim).sum())

    def grad(self, W: Any) -> Any:
        r""":math:`\lambda W_g / \lVert W_g\rVert_2` per group, 0 for a zero group."""
        norms = _expand(group_norms(W, self.dim), W, self.dim)
        xp = get_xp(W)
        safe = xp.where(norms > 0, norms, 1.0)
        return (self.lam * W / safe).astype(W.dtype, copy=False)

    def prox(self, V: Any, step: float) -> Any:
        r"""Block soft-thresholding :math:`V_g \max(0, 1 - t\lambda / \lVert V_g\rVert_2)`.

        Here :math:`t` = ``step``; a group with :math:`\lVert V_g\rVert_2 \le t\lambda` becomes 0.
        """
        tau = check_nonnegative("step", step) * self.lam
        norms = _expand(group_norms(V, self.dim), V, self.dim)
        xp = get_xp(V)
        safe = xp.where(norms > 0, norms, 1.0)
        return (V * xp.maximum(0.0, 1.0 - tau / safe)).astype(V.dtype, copy=False)

    def __repr__(self) -> str:
        return f"GroupLasso(lam={self.lam!r}, dim={self.dim})"
