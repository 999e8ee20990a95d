r"""Exercise ch4.admm_updates: §4.2 基于稀疏度的优化算法 (sparsity-driven algorithms).

Task
----
ADMM pruning (Zhang et al., 2018) keeps a copy :math:`Z` of the weights that is always
exactly :math:`k`-sparse and a scaled dual variable :math:`U`. Write its two closed-form
steps (the W-step is a few epochs of SGD on :math:`\mathrm{Loss}(W) + \frac\rho2\lVert W - Z +
U\rVert^2` and is not part of this exercise).

Maths
-----
.. math::

    Z \leftarrow \Pi_{S_k}(W + U),\qquad U \leftarrow U + W - Z,

where :math:`\Pi_{S_k}` keeps the :math:`k` entries of largest magnitude and zeroes the rest
(the Euclidean projection onto :math:`\{X : \lVert X\rVert_0 \le k\}`). Among equal
magnitudes, the smaller flat index is kept.

Shapes
------
``admm_z_update(W, U, k)``: ``W``, ``U`` of one shape, ``0 <= k <= W.size`` -> ``Z`` of that
shape with at most ``k`` non-zeros. ``admm_u_update(U, W, Z)`` -> the new ``U``.

Rules
-----
NumPy only (nnprune.algorithms.ADMMState and nnprune.regularizers.project_topk are what
the checker compares you with).

Hint
----
The projection is of :math:`W + U`, not of :math:`W`: the dual variable remembers how far
:math:`W` has been from a sparse point. ``np.argsort(-np.abs(V).ravel(), kind="stable")``
lists the entries from the largest magnitude down.

Check your work: ``nnprune check ch4.admm_updates``
"""

import numpy as np


def admm_z_update(W, U, k):
    """Z-step: keep the ``k`` largest-magnitude entries of ``W + U``, zero the rest."""
    # BEGIN SOLUTION
    # Why this is right: Z is the Euclidean projection of W + U onto k-sparse tensors (keep the k
    # largest |.|); U accumulates the residual W - Z, the scaled dual ascent step.
    # Usual mistake: projecting W alone (forgetting U), or U - W + Z (the wrong sign).
    V = W + U
    keep = np.zeros(V.size, dtype=bool)
    keep[np.argsort(-np.abs(V).reshape(-1), kind="stable")[:k]] = True
    return V * keep.reshape(V.shape)
    # END SOLUTION


def admm_u_update(U, W, Z):
    """U-step: the scaled dual variable accumulates the residual ``W - Z``."""
    # BEGIN SOLUTION
    return U + W - Z
    # END SOLUTION
