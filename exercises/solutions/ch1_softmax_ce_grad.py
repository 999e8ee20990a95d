r"""Exercise ch1.softmax_ce_grad: §1.1 神经网络概述 (overview of neural networks).

Task
----
Write softmax cross-entropy on raw scores (logits), averaged over the batch, and its
gradient with respect to the logits: the loss every classifier in nnprune trains with.

Maths
-----
.. math::

    p_{n} = \operatorname{softmax}(z_n),\quad p_{nk} = \frac{e^{z_{nk}}}{\sum_j e^{z_{nj}}},
    \qquad L = \frac{1}{N}\sum_{n} -\log p_{n, y_n},
    \qquad \frac{\partial L}{\partial z_{nk}} = \frac{p_{nk} - [k = y_n]}{N}.

Shapes
------
``logits``: ``(N, C)`` floats; ``target``: ``(N,)`` ints in ``[0, C)``.
``cross_entropy`` returns a float; ``cross_entropy_grad`` an array ``(N, C)``.

Rules
-----
NumPy only. It must work for logits like 1000 (no overflow, no nan).

Hint
----
Subtract each row's maximum before ``exp`` (it does not change the softmax), and compute
:math:`\log p = z - \max z - \log\sum_j e^{z_j - \max z}` (log-sum-exp) instead of
``log(softmax)``, which gives ``-inf`` when a probability underflows.

Check your work: ``nnprune check ch1.softmax_ce_grad``
"""

import numpy as np


def cross_entropy(logits, target):
    """Mean over the batch of ``-log softmax(logits)[n, target[n]]`` (a float)."""
    # BEGIN SOLUTION
    # Why this is right: subtracting the row max leaves softmax unchanged and keeps exp <= 1; the
    # loss is a mean, so its gradient is (softmax - onehot) / N.
    # Usual mistake: forgetting the / N, or exp of raw logits near 1000 (inf / inf = nan).
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(target)), target].mean())
    # END SOLUTION


def cross_entropy_grad(logits, target):
    """dL/dlogits, shape ``(N, C)``: ``(softmax(logits) - onehot(target)) / N``."""
    # BEGIN SOLUTION
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(target)), target] -= 1.0
    return p / len(target)
    # END SOLUTION
