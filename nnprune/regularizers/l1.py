r"""L1 (Lasso) penalty :math:`\Omega(W) = \sum_{ij} |W_{ij}|` and soft-thresholding.

.. math::

    \Omega(W) = \lVert W \rVert_1 = \sum_{ij} |W_{ij}|,\qquad
    \partial\Omega/\partial W_{ij} \ni \operatorname{sign}(W_{ij}),\qquad
    \operatorname{prox}_{t\lambda\Omega}(V) = \operatorname{sign}(V)\,\max(|V| - t\lambda, 0).

The subgradient at :math:`W_{ij} = 0` is chosen as 0 (``sign(0) = 0``), the
subgradient of smallest norm. Adding :math:`\lambda\operatorname{sign}(W)` to
the gradient (plain SGD on loss + :math:`\lambda\lVert W\rVert_1`, as in the
book's Appendix C) makes weights small but almost never exactly zero: each step
overshoots 0. The proximal step (ISTA: :math:`V = W - \eta\nabla\mathrm{Loss}`,
then soft-threshold :math:`V` by :math:`\eta\lambda`) sets every entry with
:math:`|V| \le \eta\lambda` to exactly zero, so the sparsity is real.

References: Tibshirani, *Regression shrinkage and selection via the lasso*,
JRSS-B 1996; Beck & Teboulle, *A fast iterative shrinkage-thresholding algorithm
for linear inverse problems*, SIAM J. Imaging Sci. 2009.

Book: §4.1, §4.2 Lasso (corrected, see docs/errata.md#s4-1-l1: the book's "L1" term
:math:`\sum |W/(W^2+\epsilon)|` is not L1; see :mod:`.reweighted`).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_nonnegative
from .base import Penalty, check_array


def soft_threshold(V: Any, threshold: Any) -> Any:
    r"""Soft-thresholding :math:`\operatorname{sign}(V)\max(|V| - \tau, 0)`.

    Parameters
    ----------
    V : array
        Any shape.
    threshold : float or array broadcastable to ``V``
        :math:`\tau \ge 0` (an array gives a per-entry threshold, as in
        reweighted L1).

    Returns
    -------
    array
        Same shape and dtype as ``V``; entries with :math:`|V| \le \tau` are exactly 0.
    """
    xp = get_xp(V)
    return (xp.sign(V) * xp.maximum(xp.abs(V) - threshold, 0)).astype(V.dtype, copy=False)


class L1(Penalty):
    r"""L1 penalty :math:`\lambda \sum_{ij} |W_{ij}|` (Lasso).

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.

    Examples
    --------
    >>> import numpy as np
    >>> L1(lam=0.5).prox(np.array([-2.0, 0.3, 1.0]), step=1.0)
    array([-1.5,  0. ,  0.5])
    """

    def omega(self, W: Any) -> float:
        r""":math:`\sum_{ij} |W_{ij}|`."""
        check_array("W", W)
        return float(get_xp(W).abs(W).sum())

    def grad(self, W: Any) -> Any:
        r""":math:`\lambda\operatorname{sign}(W)`, with 0 at :math:`W_{ij} = 0`."""
        check_array("W", W)
        return (self.lam * get_xp(W).sign(W)).astype(W.dtype, copy=False)

    def prox(self, V: Any, step: float) -> Any:
        r"""Soft-thresholding by :math:`\text{step}\cdot\lambda`."""
        check_array("V", V)
        return soft_threshold(V, check_nonnegative("step", step) * self.lam)
