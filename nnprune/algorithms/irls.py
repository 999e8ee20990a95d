r"""Iteratively reweighted least squares (IRLS) for the L1 penalty: each step a least-squares solve.

The book's §4.2 names IRLS. For the Lasso
:math:`F(x) = \tfrac12\lVert Ax - b\rVert^2 + \lambda\lVert x\rVert_1`, IRLS replaces
:math:`|x_i|` by its quadratic majoriser at the current iterate,

.. math::

    |x_i| \;\le\; \frac{x_i^2}{2(|x_i^{(t)}| + \epsilon)} + \text{const}
    \quad(\text{equality at } x_i = x_i^{(t)} \text{ when } \epsilon = 0),

and minimises the resulting **weighted ridge** problem exactly:

.. math::

    x^{(t+1)} = \arg\min_x\ \tfrac12\lVert Ax - b\rVert^2
        + \tfrac{\lambda}{2}\sum_i w_i x_i^2
      = \left(A^\top A + \lambda\operatorname{diag}(w)\right)^{-1} A^\top b,
    \qquad w_i = \frac{1}{|x_i^{(t)}| + \epsilon}.

With a fixed :math:`\epsilon > 0` this is a majorise-minimise scheme for the smoothed
objective :math:`F_\epsilon(x) = \tfrac12\lVert Ax-b\rVert^2 + \lambda\sum_i
\left(|x_i| - \epsilon\log(1 + |x_i|/\epsilon)\right)`, so :math:`F_\epsilon` never
increases; as :math:`\epsilon \to 0` its minimiser tends to the Lasso solution
(Daubechies, DeVore, Fornasier & Güntürk 2010 shrink :math:`\epsilon` along the way;
``eps_decay < 1`` does that here). Coordinates of the Lasso solution that are 0 come
out tiny (about :math:`\epsilon`-sized), **never exactly 0**: IRLS needs a final
threshold, unlike ISTA, ADMM or coordinate descent.

**IRLS is not reweighted L1.** Reweighted L1 (Candès, Wakin & Boyd 2008;
:func:`nnprune.algorithms.reweighted_l1_train`) keeps an L1 term with per-weight
strengths :math:`\lambda/(|x^{(t)}|+\epsilon)` and solves a *weighted Lasso* at every
outer step (soft-thresholding, exact zeros); it targets a log-sum (closer-to-L0)
penalty. IRLS keeps a *quadratic* term with the same-looking weights and solves a
*weighted least-squares* problem at every step (a linear solve, no exact zeros); it
targets the plain L1 penalty.

For a network, :func:`irls_train` uses the same majoriser as a per-weight L2 penalty
:math:`\tfrac{\lambda}{2}\sum W_{ij}^2/(|W^{(t)}_{ij}|+\epsilon)` (gradient
:math:`\lambda W_{ij}/(|W^{(t)}_{ij}|+\epsilon)`), refreshed every few epochs, inside the
usual SGD loop (the loss has no closed-form solve).

References: Daubechies, DeVore, Fornasier & Güntürk, *Iteratively reweighted least
squares minimization for sparse recovery*, Comm. Pure Appl. Math. 63:1–38, 2010;
Candès, Wakin & Boyd, *Enhancing sparsity by reweighted ℓ1 minimization*, 2008.

Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..checks import check_fraction, check_nonnegative, check_positive, check_positive_int
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..regularizers.reweighted import _Reweighting
from .ista import GradientHookOptimizer, TrainResult, fit_penalised, penalised_parameters
from .lasso import LassoResult, _check_problem, lasso_objective
from .reweighted import RefreshWeights

__all__ = ["IRLSPenalty", "irls_lasso", "irls_step", "irls_train", "smoothed_l1_objective"]


def smoothed_l1_objective(A, b, x, lam: float, eps: float) -> float:
    r""":math:`F_\epsilon(x)`, the objective IRLS with fixed :math:`\epsilon` decreases.

    .. math::

        F_\epsilon(x) = \tfrac12\lVert Ax-b\rVert^2
            + \lambda\sum_i \left(|x_i| - \epsilon\log(1 + |x_i|/\epsilon)\right).

    Book: §4.2 IRLS
    """
    A, b, lam = _check_problem(A, b, lam)
    eps = check_positive("eps", eps)
    x = np.asarray(x, dtype=np.float64)
    r = A @ x - b
    ax = np.abs(x)
    return float(0.5 * r @ r + lam * np.sum(ax - eps * np.log1p(ax / eps)))


def irls_step(A, b, x, lam: float, eps: float) -> np.ndarray:
    r"""One IRLS step, :math:`(A^\top A + \lambda\operatorname{diag}(w))^{-1}A^\top b`.

    With :math:`w = 1/(|x| + \epsilon)`.

    Solved in the stable form :math:`x^{+} = D^{1/2}(D^{1/2}A^\top A D^{1/2} + \lambda I)^{-1}
    D^{1/2}A^\top b` with :math:`D = \operatorname{diag}(|x| + \epsilon)` (the same
    vector, without dividing by a tiny :math:`|x_i|+\epsilon`).

    Parameters
    ----------
    A : array (n, d)
    b : array (n,)
    x : array (d,)
        Current iterate (gives the weights).
    lam : float >= 0
    eps : float > 0

    Returns
    -------
    ndarray (d,)

    Book: §4.2 IRLS
    """
    A, b, lam = _check_problem(A, b, lam)
    eps = check_positive("eps", eps)
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (A.shape[1],):
        raise ValueError(f"x must have shape ({A.shape[1]},), got {x.shape}")
    s = np.sqrt(np.abs(x) + eps)  # D^{1/2}, (d,)
    As = A * s  # A D^{1/2}, (n, d)
    M = As.T @ As + lam * np.eye(A.shape[1])  # (d, d), symmetric positive definite if lam > 0
    return s * np.linalg.solve(M, As.T @ b)


def irls_lasso(
    A,
    b,
    lam: float,
    *,
    eps: float = 1e-6,
    n_iter: int = 1000,
    tol: float = 1e-10,
    eps_decay: float = 1.0,
    eps_min: float = 1e-12,
) -> LassoResult:
    r"""Solve the Lasso approximately by IRLS, each step a weighted least-squares solve.

    From the least-squares (or, if :math:`A^\top A` is singular, minimum-norm) start
    :math:`x^{(0)}`, repeat

    .. math::

        x^{(t+1)} = \left(A^\top A + \lambda\operatorname{diag}
            \!\left(\frac{1}{|x^{(t)}| + \epsilon}\right)\right)^{-1} A^\top b,
        \qquad \epsilon \leftarrow \max(\epsilon\cdot\text{eps\_decay},\ \text{eps\_min}).

    Parameters
    ----------
    A : array (n, d)
    b : array (n,)
    lam : float >= 0
    eps : float > 0, default 1e-6
        Smoothing :math:`\epsilon` (the starting value when ``eps_decay < 1``).
    n_iter : int, default 1000
    tol : float > 0, default 1e-10
        Stop when :math:`\lVert x^{(t+1)} - x^{(t)}\rVert_\infty \le` ``tol``.
    eps_decay : float in (0, 1], default 1.0
        Multiply :math:`\epsilon` by this after each step (1: fixed :math:`\epsilon`).
    eps_min : float > 0, default 1e-12
        Floor of :math:`\epsilon`.

    Returns
    -------
    LassoResult
        ``coef`` is the last iterate (no exact zeros); ``history`` has ``"objective"``
        (the Lasso :math:`F`), ``"smoothed_objective"`` (:math:`F_\epsilon`, with the
        :math:`\epsilon` of that step), ``"change"`` and ``"eps"``.

    Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls)
    """
    A, b, lam = _check_problem(A, b, lam)
    eps = check_positive("eps", eps)
    n_iter = check_positive_int("n_iter", n_iter)
    tol = check_positive("tol", tol)
    eps_decay = check_fraction("eps_decay", eps_decay, low_inclusive=False, high_inclusive=True)
    eps_min = check_positive("eps_min", eps_min)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    hist: dict[str, list[float]] = {
        "objective": [],
        "smoothed_objective": [],
        "change": [],
        "eps": [],
    }
    converged = False
    for _ in range(n_iter):
        x_new = irls_step(A, b, x, lam, eps)
        change = float(np.max(np.abs(x_new - x)))
        x = x_new
        hist["objective"].append(lasso_objective(A, b, x, lam))
        hist["smoothed_objective"].append(smoothed_l1_objective(A, b, x, lam, eps))
        hist["change"].append(change)
        hist["eps"].append(eps)
        if change <= tol:
            converged = True
            break
        eps = max(eps * eps_decay, eps_min)
    return LassoResult(x, len(hist["objective"]), converged, hist)


class IRLSPenalty(_Reweighting):
    r"""IRLS majoriser of :math:`\lambda\lVert W\rVert_1`, a weighted L2 penalty.

    .. math::

        R(W) = \tfrac{\lambda}{2}\sum_{ij} w_{ij} W_{ij}^2 .

    :math:`w_{ij} = 1/(|W^{(t)}_{ij}| + \epsilon)` from the last :meth:`update_weights`;
    before it :math:`w_{ij} = 1` (plain L2 of strength :math:`\lambda`). Gradient
    :math:`\lambda w_{ij} W_{ij}`, proximal operator :math:`V/(1 + t\lambda w)`. Right
    after a refresh the gradient is :math:`\lambda W/(|W|+\epsilon) \approx
    \lambda\operatorname{sign}(W)`, the L1 gradient, and the value
    :math:`\tfrac{\lambda}{2}\sum W^2/(|W|+\epsilon) \approx \tfrac{\lambda}{2}\lVert W\rVert_1`
    (the majoriser touches :math:`\lambda\lVert W\rVert_1` up to a constant).

    Parameters
    ----------
    lam : float >= 0
    eps : float > 0, default 1e-3

    Attributes
    ----------
    weights_ : dict-like, Parameter -> array
        :math:`w` of each parameter seen by :meth:`update_weights` (weakly referenced).

    Book: §4.2 IRLS
    """

    def _w(self, p: Parameter) -> Any:
        return self.weights_.get(p, 1.0)

    def omega(self, W: Any) -> float:
        r""":math:`\tfrac12\sum W^2` (:math:`w` is per parameter: use :meth:`value`)."""
        return 0.5 * float((W * W).sum())

    def grad(self, W: Any) -> Any:
        r""":math:`\lambda W` (with :math:`w = 1`)."""
        return self.lam * W

    def prox(self, V: Any, step: float) -> Any:
        r""":math:`V/(1 + \text{step}\,\lambda)` (with :math:`w = 1`)."""
        return V / (1.0 + check_nonnegative("step", step) * self.lam)

    def _param_omega(self, p: Parameter) -> float:
        return 0.5 * float((self._w(p) * p.data * p.data).sum())

    def _param_grad(self, p: Parameter) -> Any:
        return (self.lam * self._w(p) * p.data).astype(p.data.dtype, copy=False)

    def _param_prox(self, p: Parameter, step: float) -> Any:
        return (p.data / (1.0 + step * self.lam * self._w(p))).astype(p.data.dtype, copy=False)

    def __repr__(self) -> str:
        return f"IRLSPenalty(lam={self.lam!r}, eps={self.eps!r})"


def irls_train(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    eps: float = 1e-3,
    refresh_every: int = 1,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    params: Any = None,
    callbacks: Iterable[Any] = (),
    **fit_kwargs: Any,
) -> TrainResult:
    r"""Train a network with the IRLS majoriser of :math:`\lambda\lVert W\rVert_1` as a weighted L2.

    Minimises :math:`\mathrm{Loss}(W) + \tfrac{\lambda}{2}\sum_{ij} W_{ij}^2 /
    (|W^{(t)}_{ij}| + \epsilon)` by SGD (the gradient :math:`\lambda W/(|W^{(t)}|+\epsilon)`
    is added before every step), refreshing :math:`W^{(t)}` every ``refresh_every``
    epochs (the first epochs use plain L2 of strength :math:`\lambda`). Weights are
    driven towards 0 but are **not exactly 0**: prune afterwards by a threshold or
    magnitude (compare :func:`nnprune.algorithms.reweighted_l1_train`, whose
    soft-threshold gives exact zeros).

    Parameters
    ----------
    model, loss_fn, optimizer, train, val
        As in :func:`nnprune.train.fit`.
    lam : float >= 0
    eps : float > 0, default 1e-3
    refresh_every : int >= 1, default 1
    epochs, batch_size, seed, params, callbacks, **fit_kwargs
        As in :func:`nnprune.algorithms.ista_train` (``params``: the penalised
        parameters, the model's prunable weights by default).

    Returns
    -------
    TrainResult
        ``penalty`` is the :class:`IRLSPenalty` (its ``weights_`` from the last refresh);
        ``zero_fraction`` is usually 0 (IRLS gives small weights, not zeros).

    Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls)
    """
    lam = check_nonnegative("lam", lam)
    penalty = IRLSPenalty(lam, eps=eps)
    refresh_every = check_positive_int("refresh_every", refresh_every)
    plist = penalised_parameters(model, params)
    hooked = GradientHookOptimizer(optimizer, lambda: penalty.add_grad(plist))
    refresh = RefreshWeights(penalty, plist, refresh_every)
    return fit_penalised(
        model,
        loss_fn,
        hooked,
        train,
        val,
        penalty,
        plist,
        [refresh, *callbacks],
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )
