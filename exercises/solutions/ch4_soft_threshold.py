r"""Exercise ch4.soft_threshold: §4.2 基于稀疏度的优化算法 (sparsity-driven algorithms).

Task
----
Lasso for a network, :math:`\min_W \mathrm{Loss}(W) + \lambda \lVert W\rVert_1`, is solved by
proximal gradient (ISTA): a gradient step on the loss, then the proximal operator of the
L1 term, soft-thresholding. Unlike a subgradient step, it sets small weights *exactly* to
zero. Write both.

Maths
-----
.. math::

    \operatorname{soft}(V, \tau) = \operatorname{sign}(V)\,\max(|V| - \tau, 0),\qquad
    W \leftarrow \operatorname{soft}\big(W - \eta\,\nabla \mathrm{Loss}(W),\ \eta\lambda\big).

Note the threshold of the ISTA step: :math:`\eta\lambda`, the step size times the
penalty weight.

Shapes
------
``soft_threshold(V, tau)``: ``V`` any shape, ``tau`` a float >= 0 or an array broadcastable
to ``V`` (a per-entry threshold); returns an array of ``V``'s shape.
``ista_step(W, grad, lr, lam)``: returns the new ``W``.

Rules
-----
NumPy only (nnprune.regularizers.soft_threshold is what the checker compares you with).

Hint
----
Soft-thresholding shrinks every surviving entry by :math:`\tau` towards zero; keeping
the survivors unchanged is *hard* thresholding, a different operator.

Check your work: ``nnprune check ch4.soft_threshold``
"""

import numpy as np


def soft_threshold(V, tau):
    """``sign(V) * max(|V| - tau, 0)``, element-wise."""
    # BEGIN SOLUTION
    # Why this is right: the prox of tau * |v| moves every entry tau towards zero and stops at zero;
    # an ISTA step is a gradient step, then that prox with lr * lam.
    # Usual mistake: np.where(|V| > tau, V, 0): hard thresholding, survivors not shrunk.
    return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)
    # END SOLUTION


def ista_step(W, grad, lr, lam):
    """One proximal-gradient step for ``Loss(W) + lam * ||W||_1``."""
    # BEGIN SOLUTION
    return soft_threshold(W - lr * grad, lr * lam)
    # END SOLUTION
