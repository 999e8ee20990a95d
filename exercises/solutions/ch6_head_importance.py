r"""Exercise ch6.head_importance: §6.2 稀疏性剪枝优化在自然语言处理中的应用 (NLP).

Task
----
Michel et al. (2019) rank the heads of a multi-head attention layer by how much the loss
reacts to a gate :math:`\xi_h` on each head's output, and prune the least important ones.
Write the gate gradient of each example and the importance it gives.

Maths
-----
The layer computes :math:`y = \operatorname{concat}_h(\xi_h A_h)\,W_o^\top + b_o` with head
outputs :math:`A_h` (shape ``(T, d)`` per example). With
:math:`G_h = \partial L/\partial(\xi_h A_h)` (what ``out_proj``'s backward returns, split into
heads), at :math:`\xi = 1`:

.. math::

    g_{n,h} = \frac{\partial L_n}{\partial \xi_h} = \sum_{t, i} G_{n,h,t,i}\, A_{n,h,t,i},
    \qquad
    I_h = \frac1N \sum_n |g_{n,h}|,\qquad
    \hat I_h = I_h / \lVert I\rVert_2 \ \ (\text{when normalize}).

The absolute value is per example: over a batch, gradients of opposite sign would cancel.

Shapes
------
``head_gate_gradient(heads, d_gated)``: both ``(N, H, T, d)`` -> ``(N, H)``.
``head_importance(gate_grads, normalize=True)``: ``(N, H)`` -> ``(H,)``.

Rules
-----
NumPy only (nnprune.prune.head_importance is what the checker compares you with).

Hint
----
Sum over the time and feature axes only (2 and 3), never over the batch: each example
has its own gradient.

Check your work: ``nnprune check ch6.head_importance``
"""

import numpy as np


def head_gate_gradient(heads, d_gated):
    """Per-example gate gradients ``(N, H)``: sum over T and d of ``heads * d_gated``."""
    # BEGIN SOLUTION
    # Why this is right: dL/dgate_h = sum over positions and features of head_h * dL/d(gated
    # head_h); importance is the mean of |.| over examples (Michel et al.).
    # Usual mistake: |mean| instead of mean |.|: gradients of opposite sign cancel.
    return (heads * d_gated).sum(axis=(2, 3))
    # END SOLUTION


def head_importance(gate_grads, normalize=True):
    """Mean over examples of ``|gate_grads|``, divided by its L2 norm when ``normalize``."""
    # BEGIN SOLUTION
    scores = np.abs(gate_grads).mean(axis=0)
    norm = float(np.sqrt((scores * scores).sum()))
    return scores / norm if normalize and norm > 0 else scores
    # END SOLUTION
