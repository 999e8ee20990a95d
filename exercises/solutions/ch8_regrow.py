r"""Exercise ch8.regrow: §8.2 未来研究的方向 (future directions: dynamic pruning).

Task
----
Dynamic sparse training keeps the number of weights fixed but moves them: every few steps
it drops the weakest active weights and grows as many new connections. SET (Mocanu et
al., 2018) grows at random; RigL (Evci et al., 2020) grows where the dense gradient is
largest. Write one drop-and-grow step of each.

Maths
-----
With :math:`a` active weights (mask True) and :math:`k = \operatorname{round}(f \cdot a)`
for ``fraction`` :math:`f`:

* drop: the :math:`k` active weights of smallest :math:`|W|` (ties: smaller flat index
  first) become inactive and zero;
* grow: :math:`k` of the weights that were inactive *before* this step become active,
  with value 0: SET chooses them uniformly at random; RigL takes the :math:`k` of largest
  :math:`|\nabla L|` (ties: smaller flat index first).

So the number of active weights stays :math:`a`, and a weight dropped now cannot be grown
back in the same step.

Shapes
------
``W``, ``mask`` (bool), ``grad`` share one shape. ``set_step(W, mask, fraction, seed)`` and
``rigl_step(W, mask, grad, fraction)`` return ``(new_W, new_mask)``; new arrays, inputs
unchanged. ``seed`` is an int for ``np.random.default_rng``.

Rules
-----
NumPy only.

Hint
----
Rank the candidates only: ``np.flatnonzero(mask)`` are the active entries,
``np.flatnonzero(~mask)`` the ones that may grow. For SET,
``rng.choice(candidates, size=k, replace=False)``.

Check your work: ``nnprune check ch8.regrow``
"""

import numpy as np


def drop_smallest(W, mask, fraction):
    """Helper (optional): flat indices of the k dropped weights, and k (SET and RigL share it)."""
    # BEGIN SOLUTION
    # Why this is right: SET and RigL drop the smallest |w| among active weights and grow as many
    # inactive ones (random, or largest |grad|), so the sparsity stays fixed.
    # Usual mistake: growing among weights that were active, or a different count than dropped.
    active = np.flatnonzero(mask)
    k = round(fraction * active.size)
    order = np.argsort(np.abs(W.reshape(-1)[active]), kind="stable")
    return active[order[:k]], k
    # END SOLUTION


def apply_changes(W, mask, dropped, grown):
    """Helper (optional): new ``(W, mask)``, ``dropped`` turned off, ``grown`` turned on at 0."""
    # BEGIN SOLUTION
    new_mask = mask.copy().reshape(-1)
    new_mask[dropped] = False
    new_mask[grown] = True
    new_w = W.copy().reshape(-1)
    new_w[dropped] = 0.0
    new_w[grown] = 0.0
    return new_w.reshape(W.shape), new_mask.reshape(mask.shape)
    # END SOLUTION


def set_step(W, mask, fraction, seed):
    """SET: drop the k smallest active weights, grow k random previously inactive ones at 0."""
    # BEGIN SOLUTION
    dropped, k = drop_smallest(W, mask, fraction)
    rng = np.random.default_rng(seed)
    grown = rng.choice(np.flatnonzero(~mask), size=k, replace=False)
    return apply_changes(W, mask, dropped, grown)
    # END SOLUTION


def rigl_step(W, mask, grad, fraction):
    """RigL: drop the k smallest active weights, grow the k inactive ones of largest |grad| at 0."""
    # BEGIN SOLUTION
    dropped, k = drop_smallest(W, mask, fraction)
    inactive = np.flatnonzero(~mask)
    order = np.argsort(-np.abs(grad.reshape(-1)[inactive]), kind="stable")
    return apply_changes(W, mask, dropped, inactive[order[:k]])
    # END SOLUTION
