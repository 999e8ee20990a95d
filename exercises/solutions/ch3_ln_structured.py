r"""Exercise ch3.ln_structured: §3.1 传统剪枝方法 (traditional pruning methods).

Task
----
Compute the mask of ``torch.nn.utils.prune.ln_structured``: prune whole channels (rows of
a ``Linear`` weight, filters of a ``Conv2d`` weight when ``dim=0``) of smallest
:math:`L_n` norm, the norm taken over every axis except ``dim``.

Maths
-----
.. math::

    s_j = \Big(\sum_{\text{all axes but dim}} |W_{[j]}|^n\Big)^{1/n},\qquad
    k = \text{amount or } \operatorname{round}(\text{amount} \cdot \#\text{channels}),

and every entry of the :math:`k` channels of smallest :math:`s_j` is pruned (ties: the
smaller channel index first). ``n`` is a positive number (1, 2, ...).

Shapes
------
``W``: 2 or 4 axes; ``dim`` in ``range(W.ndim)``; return a bool mask of ``W``'s shape
(True = kept) in which every slice ``W[.., j, ..]`` along ``dim`` is all True or all False.

Rules
-----
NumPy only: no torch, no nnprune.prune.

Hint
----
``axes = tuple(a for a in range(W.ndim) if a != dim)`` are the axes to sum over; to
broadcast the per-channel verdict back, reshape it to 1 everywhere except along ``dim``.

Check your work: ``nnprune check ch3.ln_structured``
"""

import numpy as np


def ln_structured_mask(W, amount, n, dim):
    """Bool mask (True = kept) pruning the ``amount`` channels along ``dim`` of least L_n norm."""
    # BEGIN SOLUTION
    # Why this is right: the norm runs over every axis but dim, so each channel gets one score; the
    # k smallest channels are zeroed whole.
    # Usual mistake: taking the norm along dim instead of over the other axes (the wrong axis).
    axes = tuple(a for a in range(W.ndim) if a != dim)
    norms = (np.abs(W) ** n).sum(axis=axes) ** (1.0 / n)
    k = amount if isinstance(amount, int) else round(amount * norms.size)
    keep = np.ones(norms.size, dtype=bool)
    keep[np.argsort(norms, kind="stable")[:k]] = False
    shape = [1] * W.ndim
    shape[dim] = W.shape[dim]
    return np.broadcast_to(keep.reshape(shape), W.shape).copy()
    # END SOLUTION
