r"""§4.2 Lasso: the book's iteration, as written, and corrected (ISTA).

The book gives the objective, ½‖Ax − b‖² + λΣ|W_ij|, and says the weights are "updated
iteratively" so that non-zeros decrease; read with x ≡ W (errata #s4-2-lasso) and the
update as gradient descent on that objective (:func:`book_lasso`), the |W| term contributes
λ·sign(W): coefficients oscillate around 0 and are never exactly 0. :func:`corrected_lasso`
replaces that step by the proximal one (ISTA), which reaches the Lasso solution and its exact
zeros; both are compared with scikit-learn's ``Lasso`` on the diabetes data.

Book: §4.2 (corrected, see docs/errata.md#s4-2-lasso).
"""

from __future__ import annotations

import numpy as np

from ._toy import Regression, compare_line, lasso_lambda, regression_problem, soft_threshold


def book_lasso(A: np.ndarray, b: np.ndarray, lam: float, num_iterations: int) -> np.ndarray:
    """minimize_W ½‖Ax − b‖² + λ Σ|W_ij| "by updating W iteratively": (sub)gradient steps."""
    learning_rate = 1.0 / np.linalg.norm(A, 2) ** 2
    W = np.zeros(A.shape[1])  # x ≡ W: the book's two names for one variable (errata #s4-2-lasso)
    for _iteration in range(num_iterations):
        gradients = A.T @ (A @ W - b) + lam * np.sign(W)
        W = W - learning_rate * gradients
    return W


def corrected_lasso(A: np.ndarray, b: np.ndarray, lam: float, num_iterations: int) -> np.ndarray:
    """The same loop with the proximal step: ISTA (Beck & Teboulle 2009).

    The library's solvers: :func:`nnprune.algorithms.lasso_ista`, ``lasso_cd``, ``lasso_admm``.
    """
    learning_rate = 1.0 / np.linalg.norm(A, 2) ** 2
    W = np.zeros(A.shape[1])
    for _iteration in range(num_iterations):
        gradients = A.T @ (A @ W - b)  # fix: the smooth part only
        W = soft_threshold(W - learning_rate * gradients, learning_rate * lam)  # fix: prox
    return W


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: both against scikit-learn on the diabetes data (``seed`` is unused)."""
    reg: Regression = regression_problem()
    lam, steps = lasso_lambda(reg), 500 if quick else 5000
    return (
        f"diabetes, lambda {lam:.4g}: book (subgradient) "
        f"{compare_line(reg, book_lasso(*reg, lam, steps), lam)}; corrected (ISTA) "
        f"{compare_line(reg, corrected_lasso(*reg, lam, steps), lam)}"
    )
