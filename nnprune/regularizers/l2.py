r"""L2 penalty (weight decay) :math:`\Omega(W) = \tfrac12 \sum_{ij} W_{ij}^2`.

.. math::

    \Omega(W) = \tfrac12 \lVert W \rVert_F^2,\qquad
    \frac{\partial\Omega}{\partial W} = W,\qquad
    \operatorname{prox}_{t\lambda\Omega}(V) = \frac{V}{1 + t\lambda}.

``L2(lam).add_grad(params)`` adds :math:`\lambda W` to the gradient: that is
exactly what SGD's ``weight_decay=lam`` does (in nnprune and in PyTorch), so use
one or the other, not both. With Adam the two differ: Adam's ``weight_decay``
is this coupled L2 term, AdamW's decoupled decay is not (Loshchilov & Hutter 2019).
L2 shrinks every weight proportionally and never produces exact zeros; it
helps magnitude pruning by keeping weights small (Han et al. 2015 found L2
better than L1 when the pruned network is retrained).

Book: §4.1.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_nonnegative
from .base import Penalty, check_array


class L2(Penalty):
    r"""L2 penalty :math:`\tfrac{\lambda}{2} \sum_{ij} W_{ij}^2` (weight decay).

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`, the same number as SGD's ``weight_decay``.

    Examples
    --------
    >>> import numpy as np
    >>> L2(lam=1.0).prox(np.array([2.0, -4.0]), step=1.0)
    array([ 1., -2.])
    """

    def omega(self, W: Any) -> float:
        r""":math:`\tfrac12 \sum_{ij} W_{ij}^2`."""
        check_array("W", W)
        return 0.5 * float(get_xp(W).sum(W * W))

    def grad(self, W: Any) -> Any:
        r""":math:`\lambda W`."""
        check_array("W", W)
        return (self.lam * W).astype(W.dtype, copy=False)

    def prox(self, V: Any, step: float) -> Any:
        r""":math:`V / (1 + \text{step}\cdot\lambda)`."""
        check_array("V", V)
        return (V / (1.0 + check_nonnegative("step", step) * self.lam)).astype(V.dtype, copy=False)
