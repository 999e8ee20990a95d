r"""Exercise ch8.wanda_mask: §8.1 神经网络剪枝优化的发展趋势 (trends).

Task
----
Wanda (Sun et al. 2023) prunes a trained language model in one shot, without retraining
and without any weight update: a weight matters by its magnitude *times* the size of the
input it multiplies, measured on a few calibration sequences. Write the score of one
``Linear`` layer and the mask it gives.

Maths
-----
For a weight :math:`W \in \mathbb R^{out \times in}` and calibration inputs
:math:`X \in \mathbb R^{tokens \times in}` (every token of every calibration sequence is a row):

.. math::

    S_{ij} = |W_{ij}| \cdot \lVert X_{:,j} \rVert_2
           = |W_{ij}| \sqrt{\textstyle\sum_t X_{tj}^2}.

The comparison group is each **output row** :math:`i`: in every row, the
:math:`k = \lfloor s \cdot in \rfloor` weights with the smallest scores are pruned (among
equal scores the earlier column is pruned first), so every row keeps the same number.

Shapes
------
``wanda_scores(W, X)``: ``(out, in)``, ``(tokens, in)`` -> ``(out, in)``.
``wanda_mask(W, X, sparsity)``: -> bool ``(out, in)``, True = kept.

Rules
-----
NumPy only (nnprune.prune.wanda_mask is what the checker compares you with).

Hint
----
``np.linalg.norm(X, axis=0)`` is the norm of each input feature over the tokens; for the
mask, ``np.argsort(S, axis=1, kind="stable")`` ranks each row and ``np.put_along_axis``
marks its first ``k`` entries as pruned.

Check your work: ``nnprune check ch8.wanda_mask``
"""

import numpy as np


def wanda_scores(W, X):
    """``|W|`` times the L2 norm of each input feature over the calibration tokens."""
    # BEGIN SOLUTION
    # Why this is right: |W_ij| * ||X_:,j|| is the first-order size of weight ij's contribution to
    # row i's output on the calibration tokens, and each output row is ranked on its own, so every
    # row keeps the same count.
    # Usual mistake: one ranking over the whole matrix (magnitude pruning's layer-wise group), or
    # the norm of X's rows (axis=1, one per token) instead of its columns (axis=0, one per input).
    return np.abs(W) * np.sqrt((X * X).sum(axis=0))[None, :]
    # END SOLUTION


def wanda_mask(W, X, sparsity=0.5):
    """Prune the ``floor(sparsity * in)`` lowest scores of every row; True = kept."""
    # BEGIN SOLUTION
    scores = wanda_scores(W, X)
    k = int(sparsity * W.shape[1])
    order = np.argsort(scores, axis=1, kind="stable")
    keep = np.ones(W.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :k], False, axis=1)
    return keep
    # END SOLUTION
