r"""Exercise ch4.group_lasso_prox: §4.1 稀疏性优化的目标函数 (the objective function).

Task
----
The group lasso :math:`\lambda \sum_g \lVert W_g\rVert_2` drives whole groups (a neuron's
incoming weights, a filter) to zero together, which makes structured pruning possible.
Write its proximal operator, block soft-thresholding.

Maths
-----
For each group :math:`g` (``dim=0``: ``W[i]``, one per output neuron / filter; ``dim=1``:
``W[:, j]``, one per input feature / channel) and step :math:`t`:

.. math::

    \operatorname{prox}(V)_g = V_g \,\max\!\Big(0,\ 1 - \frac{t\lambda}{\lVert V_g\rVert_2}\Big),

and a group with :math:`\lVert V_g\rVert_2 \le t\lambda` (a zero group included) becomes 0.

Shapes
------
``V``: 2 or 4 axes; ``dim`` 0 or 1; returns an array of ``V``'s shape.

Rules
-----
NumPy only (nnprune.regularizers.GroupLasso is what the checker compares you with).

Hint
----
Compute the norms over every axis except ``dim`` with ``keepdims=True`` so they broadcast;
guard the division for a zero group (``np.where(norms > 0, norms, 1.0)``).

Check your work: ``nnprune check ch4.group_lasso_prox``
"""

import numpy as np


def group_lasso_prox(V, step, lam, dim=0):
    """Block soft-thresholding of the groups of ``V`` along ``dim`` with threshold step * lam."""
    # BEGIN SOLUTION
    # Why this is right: the prox of lam * ||group||_2 scales each group by max(0, 1 - step * lam /
    # ||g||): whole groups reach zero together.
    # Usual mistake: soft-thresholding each entry (that is the plain L1 prox).
    axes = tuple(a for a in range(V.ndim) if a != dim)
    norms = np.sqrt((V * V).sum(axis=axes, keepdims=True))
    safe = np.where(norms > 0, norms, 1.0)
    return V * np.maximum(0.0, 1.0 - step * lam / safe)
    # END SOLUTION
