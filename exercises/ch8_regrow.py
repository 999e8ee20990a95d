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
    raise NotImplementedError("your code here")


def apply_changes(W, mask, dropped, grown):
    """Helper (optional): new ``(W, mask)``, ``dropped`` turned off, ``grown`` turned on at 0."""
    raise NotImplementedError("your code here")


def set_step(W, mask, fraction, seed):
    """SET: drop the k smallest active weights, grow k random previously inactive ones at 0."""
    raise NotImplementedError("your code here")


def rigl_step(W, mask, grad, fraction):
    """RigL: drop the k smallest active weights, grow the k inactive ones of largest |grad| at 0."""
    raise NotImplementedError("your code here")
