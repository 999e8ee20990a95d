r"""The book's linear Lasso, solved three standard ways: ISTA, ADMM and coordinate descent.

The book's §4.2 writes the Lasso for a linear model :math:`Ax \approx b`:

.. math::

    \min_x\; F(x) = \tfrac12\lVert Ax - b\rVert_2^2 + \lambda\lVert x\rVert_1,
    \qquad A \in \mathbb{R}^{n\times d},\ b \in \mathbb{R}^n,\ \lambda \ge 0 .

Three solvers, each the textbook algorithm:

* :func:`lasso_ista`: proximal gradient with step :math:`1/L`,
  :math:`L = \lVert A\rVert_2^2` (Beck & Teboulle 2009);
* :func:`lasso_admm`: scaled-form ADMM on the split :math:`x = z` (Boyd et al. 2011,
  §6.4), the x-update a linear solve with a Cholesky factor computed once;
* :func:`lasso_cd`: cyclic coordinate descent with soft-thresholding of one
  coordinate at a time (Friedman, Hastie & Tibshirani 2010).

The three converge to the same minimiser (it is unique when :math:`A` has full
column rank). **scikit-learn's scaling.** ``sklearn.linear_model.Lasso(alpha)``
minimises :math:`\frac{1}{2n}\lVert y - Xw - w_0\rVert^2 + \alpha\lVert w\rVert_1`
with an unpenalised intercept :math:`w_0`. Multiplying by :math:`n` and profiling out
:math:`w_0` (the optimal intercept makes the residual mean zero) gives the book's
problem with :math:`A = X - \bar X` (columns centred), :math:`b = y - \bar y` and
:math:`\lambda = n\alpha`; the intercept is then :math:`\bar y - \bar X w`.

References: Tibshirani, *Regression shrinkage and selection via the lasso*, JRSS-B
1996; Beck & Teboulle, *A fast iterative shrinkage-thresholding algorithm*, SIAM J.
Imaging Sci. 2009; Boyd, Parikh, Chu, Peleato & Eckstein, *Distributed optimization
and statistical learning via the alternating direction method of multipliers*, FnT ML
2011, §6.4; Friedman, Hastie & Tibshirani, *Regularization paths for generalized
linear models via coordinate descent*, J. Stat. Softw. 2010.

Book: §4.2 Lasso (the linear problem as the book writes it)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import check_nonnegative, check_positive, check_positive_int
from ..regularizers.l1 import soft_threshold

__all__ = [
    "LassoResult",
    "lasso_admm",
    "lasso_cd",
    "lasso_ista",
    "lasso_objective",
]


@dataclass
class LassoResult:
    r"""What the linear Lasso solvers return.

    Attributes
    ----------
    coef : ndarray, shape (d,)
        The solution :math:`x` (for ADMM the sparse iterate :math:`z`: exact zeros).
    n_iter : int
        Iterations (ISTA steps, ADMM rounds, or full coordinate sweeps) run.
    converged : bool
        Whether the stopping test met ``tol`` before ``n_iter`` ran out.
    history : dict of str -> list of float
        Per iteration: ``"objective"`` :math:`F(x)` for all three; ADMM adds
        ``"primal_residual"`` :math:`\lVert x - z\rVert_2` and ``"dual_residual"``
        :math:`\rho\lVert z - z_{\text{prev}}\rVert_2`; ISTA and CD add ``"change"``,
        the largest coordinate change :math:`\lVert x - x_{\text{prev}}\rVert_\infty`.
    """

    coef: np.ndarray
    n_iter: int
    converged: bool
    history: dict[str, list[float]] = field(default_factory=dict)


def _check_problem(A, b, lam) -> tuple[np.ndarray, np.ndarray, float]:
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"A must be a non-empty 2-D array (n, d), got shape {A.shape}")
    if b.shape != (A.shape[0],):
        raise ValueError(f"b must have shape ({A.shape[0]},) to match A, got {b.shape}")
    if not (np.isfinite(A).all() and np.isfinite(b).all()):
        raise ValueError("A and b must be finite (no nan or inf)")
    return A, b, check_nonnegative("lam", lam)


def lasso_objective(A, b, x, lam: float) -> float:
    r""":math:`F(x) = \tfrac12\lVert Ax - b\rVert^2 + \lambda\lVert x\rVert_1`.

    Book: §4.2 Lasso
    """
    A, b, lam = _check_problem(A, b, lam)
    x = np.asarray(x, dtype=np.float64)
    r = A @ x - b
    return float(0.5 * r @ r + lam * np.abs(x).sum())


def lasso_ista(
    A, b, lam: float, *, n_iter: int = 10_000, tol: float = 1e-10, x0=None
) -> LassoResult:
    r"""Solve :math:`\min_x \tfrac12\lVert Ax-b\rVert^2 + \lambda\lVert x\rVert_1` by ISTA.

    .. math::

        x^{k+1} = S_{\lambda/L}\!\left(x^k - \tfrac1L A^\top(Ax^k - b)\right),
        \qquad L = \lVert A\rVert_2^2,\quad S_t(v) = \operatorname{sign}(v)\max(|v|-t, 0).

    :math:`F(x^k) - F^\star \le L\lVert x^0 - x^\star\rVert^2/(2k)` (Beck & Teboulle 2009,
    Thm 3.1); the objective never increases.

    Parameters
    ----------
    A : array (n, d)
    b : array (n,)
    lam : float >= 0
    n_iter : int, default 10000
        Maximum number of steps.
    tol : float > 0, default 1e-10
        Stop when :math:`\lVert x^{k+1} - x^k\rVert_\infty \le` ``tol``.
    x0 : array (d,), optional
        Starting point (zeros by default).

    Returns
    -------
    LassoResult

    Book: §4.2 Lasso
    """
    A, b, lam = _check_problem(A, b, lam)
    n_iter = check_positive_int("n_iter", n_iter)
    tol = check_positive("tol", tol)
    d = A.shape[1]
    x = np.zeros(d) if x0 is None else _check_x0(x0, d)
    L = float(np.linalg.norm(A, 2) ** 2)
    if L == 0.0:
        return LassoResult(np.zeros(d), 0, True, {"objective": [0.5 * float(b @ b)]})
    Atb = A.T @ b
    AtA = A.T @ A
    hist: dict[str, list[float]] = {"objective": [], "change": []}
    converged = False
    for _ in range(n_iter):
        x_new = soft_threshold(x - (AtA @ x - Atb) / L, lam / L)
        change = float(np.max(np.abs(x_new - x)))
        x = x_new
        hist["change"].append(change)
        hist["objective"].append(lasso_objective(A, b, x, lam))
        if change <= tol:
            converged = True
            break
    return LassoResult(x, len(hist["objective"]), converged, hist)


def _check_x0(x0, d: int) -> np.ndarray:
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},), got {x0.shape}")
    return x0.copy()


def lasso_admm(
    A,
    b,
    lam: float,
    *,
    rho: float = 1.0,
    n_iter: int = 10_000,
    tol: float = 1e-10,
) -> LassoResult:
    r"""Solve the Lasso by scaled-form ADMM (Boyd et al. 2011, §6.4).

    Split :math:`\min_{x,z} \tfrac12\lVert Ax-b\rVert^2 + \lambda\lVert z\rVert_1` s.t.
    :math:`x = z`; with the scaled dual :math:`u`:

    .. math::

        x^{k+1} &= (A^\top A + \rho I)^{-1}\left(A^\top b + \rho(z^k - u^k)\right)
            \quad(\text{Cholesky factor of } A^\top A + \rho I \text{ computed once}) \\
        z^{k+1} &= S_{\lambda/\rho}(x^{k+1} + u^k) \\
        u^{k+1} &= u^k + x^{k+1} - z^{k+1}.

    Primal residual :math:`r = \lVert x^{k+1} - z^{k+1}\rVert_2`, dual residual
    :math:`s = \rho\lVert z^{k+1} - z^k\rVert_2` (Boyd et al. §3.3); both tend to 0.

    Parameters
    ----------
    A : array (n, d)
    b : array (n,)
    lam : float >= 0
    rho : float > 0, default 1.0
        Augmented-Lagrangian penalty; any value converges, the speed depends on it.
    n_iter : int, default 10000
    tol : float > 0, default 1e-10
        Stop when both residuals are :math:`\le` ``tol``.

    Returns
    -------
    LassoResult
        ``coef`` is :math:`z` (exactly sparse); ``history`` holds the residuals.

    Book: §4.2 ADMM and Lasso (the book's A, b, x sub-problems, corrected: see
    docs/errata.md#s4-2-admm)
    """
    import scipy.linalg  # lazily: `import nnprune` does not load scipy

    A, b, lam = _check_problem(A, b, lam)
    rho = check_positive("rho", rho)
    n_iter = check_positive_int("n_iter", n_iter)
    tol = check_positive("tol", tol)
    d = A.shape[1]
    factor = scipy.linalg.cho_factor(A.T @ A + rho * np.eye(d))  # (d, d), once
    Atb = A.T @ b
    x = np.zeros(d)
    z = np.zeros(d)
    u = np.zeros(d)
    hist: dict[str, list[float]] = {"objective": [], "primal_residual": [], "dual_residual": []}
    converged = False
    for _ in range(n_iter):
        x = scipy.linalg.cho_solve(factor, Atb + rho * (z - u))
        z_prev = z
        z = soft_threshold(x + u, lam / rho)
        u = u + x - z
        r = float(np.linalg.norm(x - z))
        s = float(rho * np.linalg.norm(z - z_prev))
        hist["primal_residual"].append(r)
        hist["dual_residual"].append(s)
        hist["objective"].append(lasso_objective(A, b, z, lam))
        if r <= tol and s <= tol:
            converged = True
            break
    return LassoResult(z, len(hist["objective"]), converged, hist)


def lasso_cd(A, b, lam: float, *, n_iter: int = 10_000, tol: float = 1e-10) -> LassoResult:
    r"""Solve the Lasso by cyclic coordinate descent (Friedman et al. 2010).

    For :math:`j = 1..d` in turn, with the residual :math:`r = b - Ax` kept up to date:

    .. math::

        x_j \leftarrow \frac{S_\lambda\!\left(a_j^\top r + \lVert a_j\rVert^2 x_j\right)}
            {\lVert a_j\rVert^2},

    the exact minimiser of :math:`F` over :math:`x_j` with the other coordinates fixed.
    A zero column keeps :math:`x_j = 0`.

    Parameters
    ----------
    A : array (n, d)
    b : array (n,)
    lam : float >= 0
    n_iter : int, default 10000
        Maximum number of full sweeps.
    tol : float > 0, default 1e-10
        Stop after a sweep whose largest coordinate change is :math:`\le` ``tol``.

    Returns
    -------
    LassoResult

    Book: §4.2 Lasso
    """
    A, b, lam = _check_problem(A, b, lam)
    n_iter = check_positive_int("n_iter", n_iter)
    tol = check_positive("tol", tol)
    d = A.shape[1]
    col_sq = (A * A).sum(axis=0)  # (d,)
    x = np.zeros(d)
    r = b.copy()
    hist: dict[str, list[float]] = {"objective": [], "change": []}
    converged = False
    for _ in range(n_iter):
        change = 0.0
        for j in range(d):
            if col_sq[j] == 0.0:
                continue
            old = x[j]
            rho_j = A[:, j] @ r + col_sq[j] * old
            new = np.sign(rho_j) * max(abs(rho_j) - lam, 0.0) / col_sq[j]  # S_lam(rho_j)/|a_j|^2
            if new != old:
                r -= A[:, j] * (new - old)
                x[j] = new
                change = max(change, abs(new - old))
        hist["change"].append(change)
        hist["objective"].append(lasso_objective(A, b, x, lam))
        if change <= tol:
            converged = True
            break
    return LassoResult(x, len(hist["objective"]), converged, hist)
