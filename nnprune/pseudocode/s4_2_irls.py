r"""§4.2 IRLS: the book's iteration, as written, and iteratively reweighted least squares.

The book alternates "minimise ½‖Ax − b‖² + λΣ|W_ij|" with λ_new = 1/(α·trace(W)). The
trace is defined only for a square matrix; W here is a vector of coefficients (and a
network's layers are not square either), so the second line has no value: :func:`book_irls`
stops there with a one-sentence :class:`~nnprune.pseudocode._toy.UndefinedInBook` error.

:func:`corrected_irls` is IRLS for the Lasso (e.g. Daubechies et al. 2010): at the current
W, |W_i| ≈ W_i² / (2|W_i^t|), so each step is a *weighted least-squares* solve,
(AᵀA + diag(λ/(|W^t| + ε))) W = Aᵀb. This is not reweighted L1 (Candès et al. 2008), which
changes the weights of an L1 problem; see docs/errata.md#s4-2-irls.

Book: §4.2 (corrected, see docs/errata.md#s4-2-irls).
"""

from __future__ import annotations

import numpy as np

from ._toy import (
    Regression,
    UndefinedInBook,
    compare_line,
    lasso_ista,
    lasso_lambda,
    regression_problem,
)


def book_irls(
    A: np.ndarray, b: np.ndarray, lam: float, alpha: float, num_iterations: int
) -> np.ndarray:
    """The book's two lines, repeated; raises :class:`UndefinedInBook` at the λ update."""
    W = np.zeros(A.shape[1])

    def minimize_W(lam):  # ½‖Ax − b‖² + λΣ|W_ij|, x ≡ W (errata #s4-2-irls)
        return lasso_ista(Regression(A, b), lam)

    def update_lambda(W, alpha):  # λ_new = 1/(α·trace(W))
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise UndefinedInBook(
                f"the book's λ_new = 1/(α·trace(W)) has no value: trace is defined only for "
                f"a square matrix and W has shape {W.shape}"
            )
        return 1.0 / (alpha * np.trace(W))

    for _iteration in range(num_iterations):
        W = minimize_W(lam)
        lam = update_lambda(W, alpha)
    return W


def corrected_irls(
    A: np.ndarray, b: np.ndarray, lam: float, eps: float, num_iterations: int
) -> np.ndarray:
    """IRLS: each step a weighted least-squares solve, weights λ/(|W| + ε) from the last W.

    The library's solver is :func:`nnprune.algorithms.irls_lasso` (on a network,
    :func:`nnprune.algorithms.irls_train`).
    """
    weights = np.zeros(A.shape[1])  # fix: one weight per coefficient, not one λ

    def minimize_W(weights):  # fix: ½‖AW − b‖² + ½Σ weights_i W_i², a least-squares solve
        return np.linalg.solve(A.T @ A + np.diag(weights), A.T @ b)

    def update_lambda(W, eps):  # fix: λ|W_i| ≈ ½ (λ/|W_i^t|) W_i² at the current W
        return lam / (np.abs(W) + eps)

    for _iteration in range(num_iterations):
        W = minimize_W(weights)
        weights = update_lambda(W, eps)
    return W


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: the book's failure, IRLS against scikit-learn's Lasso."""
    reg = regression_problem()
    lam = lasso_lambda(reg)
    try:
        book_irls(*reg, lam, 1.0, 2)
        book = "ran"
    except UndefinedInBook as err:
        book = f"stops: {err}"
    W = corrected_irls(*reg, lam, 1e-8, 50 if quick else 200)
    small = int(np.sum(np.abs(W) < 1e-6))
    return (
        f"book {book}; IRLS (eps 1e-8): {small}/{W.size} coefficients below 1e-6 "
        f"(none exactly 0: a least-squares solve never gives 0), "
        f"{compare_line(reg, np.where(np.abs(W) < 1e-6, 0.0, W), lam)} after rounding those to 0"
    )
