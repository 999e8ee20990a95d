r"""Reweighted L1 (Candès, Wakin & Boyd 2008): an L1 penalty with per-weight strengths.

.. math::

    \Omega(W) = \sum_{ij} w_{ij} |W_{ij}|,\qquad
    w_{ij} = \frac{1}{|W_{ij}^{(t)}| + \epsilon},

with :math:`W^{(t)}` the weights at the last call of :meth:`ReweightedL1.update_weights`
(call it every few epochs). Until then :math:`w_{ij} = 1` (plain L1, the paper's
start). Large weights are penalised little, small ones strongly, which pushes
small weights to zero while sparing the important ones: a closer surrogate of
the count :math:`\lVert W\rVert_0` than L1. Gradient and proximal operator are
those of L1 with per-entry strength :math:`\lambda w_{ij}`:

.. math::

    \partial\Omega/\partial W_{ij} \ni w_{ij}\operatorname{sign}(W_{ij})\ (0 \text{ at } 0),\qquad
    \operatorname{prox}_{t\lambda\Omega}(V) = \operatorname{sign}(V)\max(|V| - t\lambda w, 0).

Choose :math:`\epsilon > 0` a little below the magnitude of weights that should
survive; it keeps :math:`w` finite at :math:`W^{(t)}_{ij} = 0`.

Reference: Candès, Wakin & Boyd, *Enhancing sparsity by reweighted ℓ1 minimization*,
J. Fourier Anal. Appl. 14:877–905, 2008.

Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls): the book's IRLS update
:math:`\lambda = 1/(\alpha\,\mathrm{trace}(W))` is undefined for a non-square ``W``
and is not reweighting; its §4.1 "L1" term :math:`\sum |W/(W^2+\epsilon)|`
resembles this reweighted term, not L1.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_nonnegative, check_positive
from ..nn.parameter import Parameter
from .base import (
    ParamsLike,
    Penalty,
    as_parameter_list,
    check_array,
)
from .l1 import soft_threshold


class _Reweighting(Penalty):
    r"""A penalty with per-entry factors :math:`w = 1/(|W^{(t)}| + \epsilon)`, refreshed on demand.

    The state shared by :class:`ReweightedL1` and
    :class:`~nnprune.algorithms.IRLSPenalty`: ``eps``, the factors ``weights_``
    (weakly keyed by parameter) and :meth:`update_weights`.
    """

    def __init__(self, lam: float, eps: float = 1e-3) -> None:
        super().__init__(lam)
        self.eps = check_positive("eps", eps)
        self.weights_: weakref.WeakKeyDictionary[Parameter, Any] = weakref.WeakKeyDictionary()

    def update_weights(self, params: ParamsLike) -> None:
        r"""Set :math:`w = 1/(|W| + \epsilon)` from the current weights of ``params``."""
        for p in as_parameter_list(params):
            self.weights_[p] = 1.0 / (get_xp(p.data).abs(p.data) + self.eps)


class ReweightedL1(_Reweighting):
    r"""Reweighted L1 penalty :math:`\lambda \sum_{ij} |W_{ij}| / (|W^{(t)}_{ij}| + \epsilon)`.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    eps : float, default 1e-3
        :math:`\epsilon > 0`.

    Attributes
    ----------
    weights_ : dict-like, Parameter -> array
        The per-entry weights :math:`w` of each parameter seen by
        :meth:`update_weights` (weakly referenced; parameters not in it use 1).
    """

    def weights_for(self, p: Parameter) -> Any:
        r"""The factors :math:`w` of ``p`` on its backend, or ``None`` before the first refresh."""
        w = self.weights_.get(p)
        if w is None:
            return None
        if tuple(w.shape) != p.shape:
            raise ValueError(
                f"reweighting weights for {p.name or 'parameter'!r} have shape {tuple(w.shape)} "
                f"but the parameter has shape {p.shape}; call update_weights again"
            )
        return to_backend(w, backend_of(p.data))

    @staticmethod
    def _check_weights(W: Any, weights: Any) -> Any:
        if weights is None:
            return 1.0
        check_array("weights", weights)
        if tuple(weights.shape) != tuple(W.shape):
            raise ValueError(
                f"weights must have shape {tuple(W.shape)}, got {tuple(weights.shape)}"
            )
        return weights

    # ------------------------------------------------------- one array
    def omega(self, W: Any, weights: Any = None) -> float:
        r""":math:`\sum_{ij} w_{ij}|W_{ij}|` (``weights=None`` means :math:`w = 1`)."""
        check_array("W", W)
        return float((self._check_weights(W, weights) * get_xp(W).abs(W)).sum())

    def grad(self, W: Any, weights: Any = None) -> Any:
        r""":math:`\lambda\, w \operatorname{sign}(W)`, 0 at :math:`W_{ij} = 0`."""
        check_array("W", W)
        w = self._check_weights(W, weights)
        return (self.lam * w * get_xp(W).sign(W)).astype(W.dtype, copy=False)

    def prox(self, V: Any, step: float, weights: Any = None) -> Any:
        r"""Soft-thresholding with per-entry threshold :math:`\text{step}\,\lambda\,w`."""
        check_array("V", V)
        tau = check_nonnegative("step", step) * self.lam
        return soft_threshold(V, tau * self._check_weights(V, weights))

    # ------------------------------------------- per-parameter hooks
    def _param_omega(self, p: Parameter) -> float:
        return self.omega(p.data, self.weights_for(p))

    def _param_grad(self, p: Parameter) -> Any:
        return self.grad(p.data, self.weights_for(p))

    def _param_prox(self, p: Parameter, step: float) -> Any:
        return self.prox(p.data, step, self.weights_for(p))

    def __repr__(self) -> str:
        return f"ReweightedL1(lam={self.lam!r}, eps={self.eps!r})"
