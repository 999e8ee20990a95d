r"""Exercise ch4.lasso_admm: §4.2 基于稀疏度的优化算法 (sparsity-driven algorithms: Lasso, ADMM).

Task
----
Solve the Lasso :math:`\min_x \tfrac12\lVert Ax-b\rVert^2 + \lambda\lVert x\rVert_1` with ADMM
as Boyd et al. (2011, §6.4) write it: split :math:`x = z`, solve a linear system for
:math:`x`, soft-threshold for :math:`z`, and accumulate the residual in the scaled dual
:math:`u`. Write one iteration and the loop. (The book's three sub-problems with A, b, X, Z
are not this algorithm: docs/errata.md, §4.2.)

Maths
-----
With penalty :math:`\rho > 0` and :math:`S_\kappa(v) = \mathrm{sign}(v)\max(|v| - \kappa, 0)`:

.. math::

    x &\leftarrow (A^\top A + \rho I)^{-1}\bigl(A^\top b + \rho (z - u)\bigr) \\
    z &\leftarrow S_{\lambda/\rho}(x + u) \\
    u &\leftarrow u + x - z

:math:`z` is exactly sparse at every iteration; at convergence :math:`x = z`.

Shapes
------
``A``: ``(m, n)``, ``b``: ``(m,)``, ``z``, ``u``: ``(n,)``. ``admm_lasso_step`` returns
``(x, z, u)``, three new ``(n,)`` arrays; ``admm_lasso`` returns ``z`` after ``iters``
iterations from ``z = u = 0``.

Rules
-----
NumPy only. Use ``np.linalg.solve``.

Hint
----
The threshold is :math:`\lambda/\rho`, not :math:`\lambda`: the z-step minimises
:math:`\lambda\lVert z\rVert_1 + \frac\rho2\lVert x + u - z\rVert^2`. Update ``z`` with the
new ``x``, then ``u`` with the new ``x`` and ``z``.

Check your work: ``nnprune check ch4.lasso_admm``
"""

import numpy as np


def soft_threshold(v, kappa):
    """``sign(v) * max(|v| - kappa, 0)``."""
    # BEGIN SOLUTION
    return np.sign(v) * np.maximum(np.abs(v) - kappa, 0.0)
    # END SOLUTION


def admm_lasso_step(A, b, lam, rho, z, u):
    """One ADMM iteration for the Lasso: return the new ``(x, z, u)``."""
    # BEGIN SOLUTION
    # Why: each line minimises the augmented Lagrangian in one variable with the others
    # fixed (Gauss-Seidel order), and u is the running sum of the residuals x - z. Usual
    # mistakes: thresholding at lam instead of lam / rho, or forgetting u in the z-step.
    x = np.linalg.solve(A.T @ A + rho * np.eye(A.shape[1]), A.T @ b + rho * (z - u))
    z = soft_threshold(x + u, lam / rho)
    u = u + x - z
    return x, z, u
    # END SOLUTION


def admm_lasso(A, b, lam, rho, iters):
    """``iters`` iterations from ``z = u = 0``; return ``z`` (exactly sparse)."""
    # BEGIN SOLUTION
    z = u = np.zeros(A.shape[1])
    for _ in range(iters):
        _, z, u = admm_lasso_step(A, b, lam, rho, z, u)
    return z
    # END SOLUTION
