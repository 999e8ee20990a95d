r"""§4.2 ADMM: the book's three sub-problems, as written, and ADMM for the Lasso.

The book iterates three minimisations: over W of ½‖Ax − b‖² + λΣ|W_ij| (read with
x ≡ W), over X of ½‖X − W‖² + ρΣ|X_i|, and over Z of ½‖Z − X‖² + ρΣ|Z_j|. Solved exactly
(:func:`book_admm`), the first is the whole Lasso and depends on neither X nor Z, the other
two are soft-thresholds: the "iteration" reaches its fixed point after one round and returns
the Lasso solution shrunk twice by ρ. There is no multiplier, so it is not ADMM
(errata #s4-2-admm).

:func:`corrected_admm` is ADMM for the Lasso (Boyd et al. 2011, §6.4): split x = z,
x ← (AᵀA + ρI)⁻¹(Aᵀb + ρ(z − u)), z ← S_{λ/ρ}(x + u), u ← u + x − z.

Book: §4.2 (corrected, see docs/errata.md#s4-2-admm).
"""

from __future__ import annotations

import numpy as np

from ._toy import (
    Regression,
    compare_line,
    lasso_ista,
    lasso_lambda,
    regression_problem,
    soft_threshold,
)


def book_admm(
    A: np.ndarray, b: np.ndarray, lam: float, rho: float, num_iterations: int
) -> tuple[np.ndarray, list[float]]:
    """The book's three sub-problems, each solved exactly; returns Z and ‖ΔW‖ per round."""
    n = A.shape[1]
    W, X, Z = np.zeros(n), np.zeros(n), np.zeros(n)
    changes = []

    def minimize_W():  # ½‖Ax − b‖² + λΣ|W_ij|, x ≡ W (errata #s4-2-admm): no X, no Z in it
        return lasso_ista(Regression(A, b), lam)

    def minimize_X(W):  # ½‖X − W‖² + ρΣ|X_i|
        return soft_threshold(W, rho)

    def minimize_Z(X):  # ½‖Z − X‖² + ρΣ|Z_j|
        return soft_threshold(X, rho)

    for _iteration in range(num_iterations):
        W_new = minimize_W()
        changes.append(float(np.abs(W_new - W).max()))
        W = W_new
        X = minimize_X(W)
        Z = minimize_Z(X)
    return Z, changes


def corrected_admm(
    A: np.ndarray, b: np.ndarray, lam: float, rho: float, num_iterations: int
) -> tuple[np.ndarray, list[float]]:
    """ADMM for the Lasso; returns z and the primal residual ‖W − Z‖ per round.

    The library's solver is :func:`nnprune.algorithms.lasso_admm` (same iterates; on a
    network, :func:`nnprune.algorithms.admm_l1_train`).
    """
    n = A.shape[1]
    W, Z, U = np.zeros(n), np.zeros(n), np.zeros(n)  # fix: U, the scaled multiplier
    residuals = []
    factor = np.linalg.cholesky(A.T @ A + rho * np.eye(n))

    def minimize_W(Z, U):  # ½‖AW − b‖² + ρ/2‖W − Z + U‖²: a ridge solve
        rhs = A.T @ b + rho * (Z - U)
        return np.linalg.solve(factor.T, np.linalg.solve(factor, rhs))

    def minimize_Z(W, U):  # λ‖Z‖₁ + ρ/2‖W − Z + U‖²: soft-threshold by λ/ρ
        return soft_threshold(W + U, lam / rho)

    def update_U(U, W, Z):  # fix: the dual step the book leaves out
        return U + W - Z

    for _iteration in range(num_iterations):
        W = minimize_W(Z, U)
        Z = minimize_Z(W, U)
        U = update_U(U, W, Z)
        residuals.append(float(np.linalg.norm(W - Z)))
    return Z, residuals


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: the book's fixed point against ADMM, both against scikit-learn."""
    reg = regression_problem()
    lam = lasso_lambda(reg)
    steps = 3 if quick else 10
    z_book, changes = book_admm(*reg, lam, 1.0, steps)
    z, residuals = corrected_admm(*reg, lam, 100.0, 300 if quick else 3000)
    return (
        f"book (rho 1): W changes {changes[1]:.1g} after round 1 (fixed point), "
        f"{compare_line(reg, z_book, lam)}; ADMM (rho 100, residual {residuals[-1]:.1g}): "
        f"{compare_line(reg, z, lam)}"
    )
