r"""Exercise ch3.l1_unstructured: §3.1 传统剪枝方法 (traditional pruning methods).

Task
----
Compute the mask of ``torch.nn.utils.prune.l1_unstructured`` (and nnprune's): prune the
``amount`` entries of smallest magnitude. Mind the two details where a quick version
differs: how a fractional ``amount`` becomes a count, and which of several equal
magnitudes goes first.

Maths
-----
.. math::

    k = \begin{cases} \text{amount} & \text{amount an int (a count)} \\
                      \operatorname{round}(\text{amount} \cdot n) & \text{amount a float
                      (a fraction of the } n \text{ entries)}\end{cases},\qquad
    M_i = 0 \iff |W_i| \text{ is among the } k \text{ smallest}.

``round`` is Python's (half to even: ``round(2.5) == 2``), as PyTorch's. Among equal
magnitudes the entry with the smaller flat (row-major) index is pruned first.

Shapes
------
``W``: any shape; return a bool mask of ``W``'s shape, True = kept, with exactly ``k``
False entries.

Rules
-----
NumPy only: no torch, no nnprune.prune (what the checker compares you with).

Hint
----
``np.argsort`` with ``kind="stable"`` keeps equal values in index order; the default
quicksort does not.

Check your work: ``nnprune check ch3.l1_unstructured``
"""

import numpy as np


def l1_unstructured_mask(W, amount):
    """Bool mask (True = kept) pruning the ``amount`` smallest-magnitude entries of ``W``."""
    # BEGIN SOLUTION
    # Why this is right: k = round(amount * n) with Python's round (half to even) and a stable
    # argsort give exactly torch.nn.utils.prune's mask, ties included.
    # Usual mistake: int(amount * n) or ceil: one weight too few or too many.
    k = amount if isinstance(amount, int) else round(amount * W.size)
    order = np.argsort(np.abs(W).reshape(-1), kind="stable")
    keep = np.ones(W.size, dtype=bool)
    keep[order[:k]] = False
    return keep.reshape(W.shape)
    # END SOLUTION
