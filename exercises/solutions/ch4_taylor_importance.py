r"""Exercise ch4.taylor_importance: §4.3 基于梯度敏感性的优化算法 (gradient-sensitivity algorithms).

Task
----
The usable form of the book's GSAP (docs/errata.md, §4.3): rank whole neurons or
channels by the first-order Taylor estimate of the loss change when their activation is
removed (Molchanov et al., 2017), averaged over the batch.

Maths
-----
For activations :math:`z` of a layer and their gradients :math:`\partial J/\partial z` on a
batch of :math:`N` samples, with :math:`P` positions per unit (1 for a ``Linear`` layer,
:math:`H W` for a ``Conv2d`` channel):

.. math::

    t_{n,j} = \frac1P \sum_{p} z_{n,j,p}\,\frac{\partial J}{\partial z_{n,j,p}},\qquad
    I_j = \frac1N \sum_n |t_{n,j}|.

The absolute value is taken per sample, *before* averaging over the batch (a unit whose
removal raises the loss for some samples and lowers it for others still matters).

Shapes
------
``z`` and ``dz`` of shape ``(N, units)`` or ``(N, channels, H, W)``; return ``(units,)``.

Rules
-----
NumPy only (nnprune.saliency.gsap_scores is what the checker compares you with).

Hint
----
``(z * dz).reshape(N, units, -1).mean(axis=2)`` gives :math:`t` for both shapes.

Check your work: ``nnprune check ch4.taylor_importance``
"""

import numpy as np


def taylor_unit_importance(z, dz):
    """Mean over the batch of |mean over positions of z * dz|, one score per unit."""
    # BEGIN SOLUTION
    # Why this is right: the first-order change of the loss when a unit is zeroed is z * dL/dz,
    # averaged over positions; |.| per example, then the mean.
    # Usual mistake: averaging the signed terms first, so opposite signs cancel.
    t = (z * dz).reshape(z.shape[0], z.shape[1], -1).mean(axis=2)  # (N, units)
    return np.abs(t).mean(axis=0)
    # END SOLUTION
