r"""Exercise ch4.irls_step: §4.2 基于稀疏度的优化算法 (sparsity-driven algorithms: IRLS).

Task
----
Iteratively reweighted least squares (IRLS) solves the Lasso
:math:`\min_x \tfrac12\lVert Ax-b\rVert^2 + \lambda\lVert x\rVert_1` by a sequence of
weighted ridge problems. Write one step, the loop, and the objective it decreases.
(The book's "λ_new = 1/(α·trace(W))" is not IRLS: docs/errata.md, §4.2.)

Maths
-----
At the current :math:`x^{(t)}`, each :math:`|x_i|` is replaced by the quadratic that touches
it there, :math:`|x_i| \le \frac{x_i^2}{2(|x_i^{(t)}| + \epsilon)} + \text{const}`, so the
next iterate solves a linear system:

.. math::

    x^{(t+1)} = \Bigl(A^\top A + \lambda\,\mathrm{diag}\bigl(1 / (|x^{(t)}| + \epsilon)\bigr)
                \Bigr)^{-1} A^\top b.

The loop starts from the ridge solution :math:`x^{(0)} = (A^\top A + \lambda I)^{-1}A^\top b`.
Entries heading to 0 get an ever larger weight :math:`1/(|x_i|+\epsilon)`: IRLS makes
them tiny, not exactly 0 (the threshold that follows is a separate decision).

Shapes
------
``A``: ``(m, n)``, ``b``: ``(m,)``, ``x``: ``(n,)``; ``lam > 0``, ``eps > 0``.
``irls_step`` and ``irls`` return ``(n,)``; ``lasso_objective`` a float.

Rules
-----
NumPy only. Solve the system with ``np.linalg.solve`` (no explicit inverse).

Hint
----
``np.diag(1.0 / (np.abs(x) + eps))`` is the weight matrix. The factor is :math:`\lambda`, not
:math:`\lambda / 2`: the ``1/2`` of the quadratic bound cancels when you differentiate.

Check your work: ``nnprune check ch4.irls_step``
"""

import numpy as np


def lasso_objective(A, b, x, lam):
    """``0.5 * ||A x - b||^2 + lam * ||x||_1``."""
    # BEGIN SOLUTION
    r = A @ x - b
    return float(0.5 * r @ r + lam * np.sum(np.abs(x)))
    # END SOLUTION


def irls_step(A, b, x, lam, eps=1e-6):
    """One IRLS step: the weighted ridge solve at the current ``x``."""
    # BEGIN SOLUTION
    # Why: minimising 0.5 ||Ax - b||^2 + lam * sum x_i^2 / (2 (|x_i| + eps)) sets the gradient
    # A^T (Ax - b) + lam * x / (|x| + eps) to 0. Usual mistake: the weight |x| + eps instead
    # of its inverse, which shrinks the LARGE entries.
    return np.linalg.solve(A.T @ A + lam * np.diag(1.0 / (np.abs(x) + eps)), A.T @ b)
    # END SOLUTION


def irls(A, b, lam, iters, eps=1e-6):
    """``iters`` IRLS steps from the ridge solution ``(A^T A + lam I)^{-1} A^T b``."""
    # BEGIN SOLUTION
    x = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ b)
    for _ in range(iters):
        x = irls_step(A, b, x, lam, eps)
    return x
    # END SOLUTION
