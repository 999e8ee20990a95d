r"""Exercise ch3.threshold: §3.2 基于稀疏性的剪枝方法 (sparsity-based pruning methods).

Task
----
Write the threshold criterion (prune every weight whose magnitude is below a cut-off) and
Han et al.'s per-layer rule that sets the cut-off from the layer's spread,
:math:`\tau = q\,\sigma(W)`. Unlike ``l1_unstructured``, the number pruned is not fixed in
advance: it is whatever falls below :math:`\tau`.

Maths
-----
.. math::

    M_i = \mathbb 1\big[\,|W_i| \ge \tau\,\big],\qquad
    \sigma(W) = \sqrt{\tfrac{1}{N}\textstyle\sum_i (W_i - \bar W)^2}
    \ \ (\text{all } N \text{ entries, zeros included}).

Already pruned entries (``mask`` False) stay pruned.

Shapes
------
``threshold_mask(W, threshold, mask=None)`` -> bool mask of ``W``'s shape (True = kept).
``std_threshold_mask(W, q, mask=None)`` -> the same with :math:`\tau = q\,\sigma(W)`.

Rules
-----
NumPy only (nnprune.prune.threshold_unstructured is what the checker compares you with).

Hint
----
A weight exactly at the threshold is kept (``>=``). ``np.std`` uses :math:`1/N` by default.

Check your work: ``nnprune check ch3.threshold``
"""

import numpy as np


def threshold_mask(W, threshold, mask=None):
    """Keep ``|W| >= threshold``; entries already pruned (``mask`` False) stay pruned."""
    # BEGIN SOLUTION
    # Why this is right: |W| >= tau keeps a weight exactly at the threshold, and & mask keeps what
    # was pruned pruned; sigma is np.std over all entries (ddof=0).
    # Usual mistake: > instead of >=, or forgetting the earlier mask.
    keep = np.abs(W) >= threshold
    return keep if mask is None else keep & mask
    # END SOLUTION


def std_threshold_mask(W, q, mask=None):
    """:func:`threshold_mask` with the threshold ``q * std(W)`` (population std, all entries)."""
    # BEGIN SOLUTION
    return threshold_mask(W, q * float(np.std(W)), mask)
    # END SOLUTION
