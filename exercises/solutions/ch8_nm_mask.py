r"""Exercise ch8.nm_mask: §8.1 神经网络剪枝优化的发展趋势 (trends).

Task
----
N:M semi-structured sparsity (2:4 on NVIDIA Ampere tensor cores) keeps ``n`` of every
``m`` consecutive weights along the input dimension: regular enough for hardware to skip
the zeros, fine enough to keep accuracy. Write the mask that keeps the ``n`` largest
magnitudes in each group.

Maths
-----
For a ``Linear`` weight :math:`W \in \mathbb R^{out \times in}` (or a convolution
``(C_out, C_in, kH, kW)``), the groups are :math:`\{W_{r, gm}, \dots, W_{r, gm + m - 1}\}`
along axis 1, for every row :math:`r` (and every kernel position):

.. math::

    M_{r,i} = 1 \iff |W_{r,i}| \text{ is among the } n \text{ largest of its group}.

Among equal magnitudes the earlier entry is kept.

Shapes
------
``W``: ``(out, in)`` or ``(C_out, C_in, kH, kW)`` with axis 1 divisible by ``m``; return a
bool mask of ``W``'s shape (True = kept) with exactly ``n`` True per group.

Rules
-----
NumPy only (nnprune.prune.nm_mask is what the checker compares you with).

Hint
----
Move axis 1 last (``np.moveaxis``), reshape to ``(..., in // m, m)``, rank each group with
``np.argsort(-abs, axis=-1, kind="stable")``, mark the first ``n`` with
``np.put_along_axis``, and undo the reshape and the move.

Check your work: ``nnprune check ch8.nm_mask``
"""

import numpy as np


def nm_mask(W, n=2, m=4):
    """Keep the ``n`` largest ``|W|`` of every ``m`` consecutive entries along axis 1."""
    # BEGIN SOLUTION
    # Why this is right: groups of m consecutive weights along the input axis (axis 1), keeping the
    # n largest |w| of each: the 2:4 layout sparse tensor cores expect.
    # Usual mistake: grouping along the output axis (axis 0).
    last = np.moveaxis(np.abs(W), 1, -1)  # (..., in)
    groups = last.reshape(*last.shape[:-1], last.shape[-1] // m, m)  # (..., in/m, m)
    order = np.argsort(-groups, axis=-1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    return np.moveaxis(keep.reshape(last.shape), -1, 1)
    # END SOLUTION
