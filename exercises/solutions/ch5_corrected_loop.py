r"""Exercise ch5.corrected_loop: §5.3 剪枝算法的代码实现 (pruning code).

Task
----
The book's §5.3 pseudocode decides masks (``pruning_decision``) and then calls
``update_parameters(W_pruned, gradients, ...)``: the next gradient step makes the pruned
weights non-zero again, so the network is no longer pruned (docs/errata.md, §5.3). Write
the loop correctly, with plain NumPy arrays: decide global magnitude masks once, then
retrain with the mask applied after every update.

Maths
-----
Global magnitude decision: over all arrays together, prune the
:math:`k = \operatorname{round}(s \cdot n)` entries of smallest :math:`|w|` (:math:`n` = all
entries, :math:`s` = ``sparsity``). Retraining, for ``steps`` steps:

.. math::

    g = \nabla \mathrm{Loss}(W),\qquad W \leftarrow M \odot (W - \eta\, g).

Shapes
------
``params``: dict name -> float array; ``masks``: dict name -> bool array of the same shape
(True = kept). ``grad_fn(params)`` returns a dict of gradients shaped like ``params``.
``prune_retrain`` returns ``(params, masks)``, new dicts; the inputs are not modified.

Rules
-----
NumPy only.

Hint
----
Concatenate every ``np.abs(w).ravel()`` to rank all weights at once, then split the
verdict back with the arrays' sizes. A mask applied once, before the loop, is not
enough: apply it in ``update_parameters``.

Check your work: ``nnprune check ch5.corrected_loop``
"""

import numpy as np


def global_magnitude_masks(params, sparsity):
    """Bool masks (True = kept) pruning the round(sparsity * n) smallest |w| over all arrays."""
    # BEGIN SOLUTION
    # Why this is right: one global ranking of all |w| gives the masks, and multiplying by them
    # after every update keeps pruned weights at zero while retraining.
    # Usual mistake: masking once before training: the updates regrow the pruned weights (the book's
    # flaw).
    names = list(params)
    flat = np.concatenate([np.abs(params[n]).ravel() for n in names])
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat, kind="stable")[: round(sparsity * flat.size)]] = False
    masks, start = {}, 0
    for n in names:
        size = params[n].size
        masks[n] = keep[start : start + size].reshape(params[n].shape)
        start += size
    return masks
    # END SOLUTION


def update_parameters(params, grads, masks, lr):
    """One gradient step that keeps the masks: new dict ``{name: mask * (w - lr * grad)}``."""
    # BEGIN SOLUTION
    return {n: masks[n] * (w - lr * grads[n]) for n, w in params.items()}
    # END SOLUTION


def prune_retrain(params, grad_fn, sparsity, lr, steps):
    """Decide global masks, apply them, retrain ``steps`` steps; return ``(params, masks)``."""
    # BEGIN SOLUTION
    masks = global_magnitude_masks(params, sparsity)
    params = {n: w * masks[n] for n, w in params.items()}
    for _ in range(steps):
        params = update_parameters(params, grad_fn(params), masks, lr)
    return params, masks
    # END SOLUTION
