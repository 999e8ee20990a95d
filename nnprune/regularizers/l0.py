r"""L0: the count of non-zeros, its projection, and the hard-concrete relaxation.

.. math::

    \Omega(W) = \lVert W \rVert_0 = \sum_{ij} 1[W_{ij} \ne 0].

The count is piecewise constant: its gradient is zero wherever it exists, so
gradient descent cannot use it. Three usable forms:

* **Projection** onto the k-sparse set :math:`S_k = \{W : \lVert W\rVert_0 \le k\}`:
  :math:`\Pi_{S_k}(W)` keeps the k entries of largest :math:`|W_{ij}|` and zeroes the
  rest (the Euclidean projection: it minimises :math:`\lVert X - W\rVert_F` over
  :math:`S_k`). Per tensor (:func:`project_topk`) or across tensors
  (:func:`project_topk_global`). This is the Z-step of ADMM pruning (Zhang et al. 2018).
* **Hard thresholding**, the proximal operator of :math:`t\lambda\lVert\cdot\rVert_0`:
  keep :math:`V_{ij}` if :math:`V_{ij}^2 > 2t\lambda`, else 0 (iterative hard
  thresholding, Blumensath & Davies 2008); :meth:`L0.prox`.
* **Hard-concrete gates** (Louizos, Welling & Kingma, *Learning sparse neural
  networks through L0 regularization*, ICLR 2018): a stochastic gate
  :math:`z \in [0, 1]` per unit whose probability of being non-zero is smooth in
  its parameter :math:`\log\alpha`; :class:`HardConcreteGate`.

Book: §4.1 (corrected, see docs/errata.md#s4-1-l0: the book writes L0 as :math:`\sum|W_{ij}|`,
which is L1).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_int, check_nonnegative, check_positive, check_positive_int, check_real
from ..nn._validate import check_input
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..rng import SeedLike, as_generator
from .base import Penalty, check_array

_U_EPS = 1e-6  # keeps log(u) and log(1 - u) finite, as in the reference implementation


def topk_mask(W: Any, k: int) -> Any:
    r"""Bool array, True at the k entries of largest :math:`|W_{ij}|` (ties: first index wins).

    Raises
    ------
    ValueError
        If ``W`` is not a float array or ``k`` is not an integer in ``[0, W.size]``.
    """
    check_array("W", W)
    k = check_int("k", k, minimum=0, maximum=int(W.size))
    xp = get_xp(W)
    keep = xp.zeros(W.size, dtype=bool)
    neg = -xp.abs(W.reshape(-1))  # (W.size,)
    # CuPy's argsort is always stable and (in older versions) takes no ``kind``
    order = np.argsort(neg, kind="stable") if xp is np else xp.argsort(neg)
    keep[order[:k]] = True
    return keep.reshape(W.shape)


def project_topk(W: Any, k: int) -> Any:
    r"""Project onto :math:`\{X : \lVert X\rVert_0 \le k\}`: keep the k largest :math:`|W_{ij}|`.

    This is the Euclidean projection (no k-sparse array is closer to ``W``).

    Parameters
    ----------
    W : array
        Any shape.
    k : int
        Number of entries kept, :math:`0 \le k \le` ``W.size``.

    Returns
    -------
    array
        A copy of ``W`` with all but the k largest-magnitude entries set to 0.
    """
    return W * topk_mask(W, k)


def project_topk_global(arrays: Sequence[Any], k: int) -> list[Any]:
    r"""Project several arrays jointly: keep the k largest :math:`|W|` over all of them.

    The projection onto :math:`\{(W_1, \dots, W_L) : \sum_l \lVert W_l\rVert_0 \le k\}`;
    layers with larger weights keep more entries (global magnitude pruning).

    Returns
    -------
    list of arrays
        Same shapes as ``arrays``.
    """
    if isinstance(arrays, str | bytes) or not isinstance(arrays, Sequence) or not arrays:
        raise ValueError(f"arrays must be a non-empty list of arrays, got {arrays!r:.80}")
    for i, W in enumerate(arrays):
        check_array(f"arrays[{i}]", W)
    xp = get_xp(*arrays)
    flat = xp.concatenate([xp.abs(W).reshape(-1).astype(np.float64) for W in arrays])  # (sum size,)
    keep = topk_mask(flat, check_int("k", k, minimum=0, maximum=int(flat.size)))
    out, start = [], 0
    for W in arrays:
        out.append(W * keep[start : start + W.size].reshape(W.shape))
        start += W.size
    return out


class L0(Penalty):
    r"""L0 penalty :math:`\lambda \sum_{ij} 1[W_{ij} \ne 0]` (the count of non-zeros).

    It has no useful gradient (zero almost everywhere, undefined at 0), so
    :meth:`grad` and :meth:`add_grad` raise; use :meth:`prox` / :meth:`apply_prox`
    (hard thresholding), :func:`project_topk`, or :class:`HardConcreteGate`.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    """

    def omega(self, W: Any) -> float:
        r""":math:`\sum_{ij} 1[W_{ij} \ne 0]`."""
        check_array("W", W)
        return float(get_xp(W).count_nonzero(W))

    def grad(self, W: Any) -> Any:
        """Raise ``NotImplementedError``: the count has no useful gradient."""
        raise NotImplementedError(
            "L0 has no useful gradient (it is zero almost everywhere); use L0.apply_prox "
            "(hard thresholding), project_topk, or HardConcreteGate"
        )

    def prox(self, V: Any, step: float) -> Any:
        r"""Hard thresholding: :math:`V_{ij}` if :math:`V_{ij}^2 > 2\,\text{step}\,\lambda`, else 0.

        At equality both 0 and :math:`V_{ij}` minimise; 0 is returned.
        """
        check_array("V", V)
        tau = 2.0 * check_nonnegative("step", step) * self.lam
        return V * (V * V > tau)


def _sigmoid(x: Any) -> Any:
    return 0.5 * (1.0 + get_xp(x).tanh(0.5 * x))  # never overflows


class HardConcreteGate(Module):
    r"""Hard-concrete gates :math:`z \in [0, 1]^n` multiplying axis 1 of the input.

    Training (one gate sample per example and unit, :math:`u \sim U(0, 1)`):

    .. math::

        s = \sigma\!\Big(\frac{\log u - \log(1-u) + \log\alpha}{\beta}\Big),\quad
        \bar s = s(\zeta - \gamma) + \gamma,\quad
        z = \min(1, \max(0, \bar s)),\quad y = x \odot z.

    Evaluation (deterministic): :math:`z = \min(1, \max(0, \sigma(\log\alpha)(\zeta-\gamma)
    + \gamma))`.
    Stretching to :math:`(\gamma, \zeta) \supset [0, 1]` and clipping gives exact zeros
    and ones with non-zero probability. Gradients (1 inside the clip, 0 outside):

    .. math::

        \frac{\partial L}{\partial x} = \delta \odot z,\qquad
        \frac{\partial L}{\partial \log\alpha_j} = \sum \delta\,x\;
            1[0 < \bar s < 1]\,(\zeta-\gamma)\,\frac{s(1-s)}{\beta}
            \quad(\text{eval: } \sigma(1-\sigma) \text{ instead of } s(1-s)/\beta).

    The expected L0 norm of the gates is smooth in :math:`\log\alpha`:

    .. math::

        \mathbb E\,\lVert z\rVert_0 = \sum_j P(z_j \ne 0)
            = \sum_j \sigma\!\Big(\log\alpha_j - \beta\log\frac{-\gamma}{\zeta}\Big).

    Parameters
    ----------
    n_gates : int
        Number of gates :math:`n` (size of input axis 1: features or channels).
    beta : float, default 2/3
        Temperature :math:`\beta > 0`.
    gamma, zeta : float, default -0.1, 1.1
        Stretch interval, :math:`\gamma < 0` and :math:`\zeta > 1`.
    loga_init : float or array of shape ``(n_gates,)``, default 0.0
        Initial :math:`\log\alpha` (0 is the reference code's ``droprate_init=0.5``).
    seed : int or numpy.random.Generator, optional
        Source of :math:`u` in training mode (attribute ``rng``; reassign it to
        replay the same noise).

    Attributes
    ----------
    log_alpha : Parameter, shape ``(n_gates,)``, not prunable.

    Book: §4.1 (corrected, see docs/errata.md#s4-1-l0).
    """

    def __init__(
        self,
        n_gates: int,
        beta: float = 2.0 / 3.0,
        gamma: float = -0.1,
        zeta: float = 1.1,
        loga_init: float | Any = 0.0,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.n_gates = check_positive_int("n_gates", n_gates)
        self.beta = check_positive("beta", beta)
        self.gamma = check_real("gamma", gamma, high=0.0, high_inclusive=False)
        self.zeta = check_real("zeta", zeta, low=1.0, low_inclusive=False)
        if isinstance(loga_init, numbers.Real) and not isinstance(loga_init, bool):
            init = np.full(self.n_gates, float(loga_init), np.float32)
        else:
            init = np.asarray(loga_init)
            if init.shape != (self.n_gates,) or init.dtype.kind not in "fi":
                raise ValueError(
                    f"loga_init must be a real number or an array of shape ({self.n_gates},), "
                    f"got {init.dtype} {init.shape}"
                )
        self.rng = as_generator(seed)
        self.log_alpha = Parameter(init.astype(np.float32), prunable=False)
        self._x = None
        self._z = None
        self._dz_dloga = None

    # ------------------------------------------------------------- gates
    def deterministic_gates(self) -> Any:
        r"""Test-time gates :math:`\min(1, \max(0, \sigma(\log\alpha)(\zeta-\gamma)+\gamma))`.

        Returns
        -------
        array, shape ``(n_gates,)``
        """
        s = _sigmoid(self.log_alpha.data)
        return get_xp(s).clip(s * (self.zeta - self.gamma) + self.gamma, 0.0, 1.0)

    def prob_nonzero(self) -> Any:
        r"""Per-gate :math:`P(z_j \ne 0) = \sigma(\log\alpha_j - \beta\log(-\gamma/\zeta))`."""
        return _sigmoid(self.log_alpha.data - self.beta * math.log(-self.gamma / self.zeta))

    def expected_l0(self) -> float:
        r"""Expected number of non-zero gates :math:`\sum_j P(z_j \ne 0)`."""
        return float(self.prob_nonzero().sum())

    def expected_l0_grad(self) -> Any:
        r"""Gradient :math:`\partial\mathbb E\lVert z\rVert_0/\partial\log\alpha_j = p_j(1-p_j)`."""
        p = self.prob_nonzero()
        return p * (1.0 - p)

    def add_expected_l0_grad(self, lam: float) -> None:
        r"""Add :math:`\lambda\,\partial\mathbb E\lVert z\rVert_0/\partial\log\alpha` to grad."""
        self.log_alpha.grad += check_nonnegative("lam", lam) * self.expected_l0_grad()

    # ----------------------------------------------------------- compute
    def forward(self, x: Any) -> Any:
        check_input(self, x, min_ndim=2, channels=self.n_gates)
        xp = get_xp(x)
        loga = self.log_alpha.data
        stretch = self.zeta - self.gamma
        if self.training:
            u = self.rng.uniform(_U_EPS, 1.0 - _U_EPS, size=x.shape[:2])  # (N, n), host draw
            u = xp.asarray(to_backend(u, backend_of(x)), dtype=loga.dtype)
            s = _sigmoid((xp.log(u) - xp.log(1.0 - u) + loga) / self.beta)  # (N, n)
            ds = s * (1.0 - s) / self.beta
        else:
            s = _sigmoid(loga)[None, :]  # (1, n)
            ds = s * (1.0 - s)
        s_bar = s * stretch + self.gamma
        inside = (s_bar > 0) & (s_bar < 1)
        z = xp.clip(s_bar, 0.0, 1.0)
        shape = (z.shape[0], self.n_gates) + (1,) * (x.ndim - 2)  # broadcast over trailing axes
        self._x = x
        self._z = z.reshape(shape)
        self._dz_dloga = (inside * stretch * ds).reshape(shape)
        return x * self._z

    def backward(self, dout: Any) -> Any:
        if self._x is None:
            raise RuntimeError("HardConcreteGate.backward called before forward")
        dz = dout * self._x * self._dz_dloga
        axes = (0,) + tuple(range(2, dout.ndim))
        self.log_alpha.grad += dz.sum(axis=axes).astype(self.log_alpha.dtype, copy=False)
        return dout * self._z

    def extra_repr(self) -> str:
        return f"n_gates={self.n_gates}, beta={self.beta:.4g}, gamma={self.gamma}, zeta={self.zeta}"
