r"""Exercise ch1.masked_momentum: §1.1 神经网络概述 (overview of neural networks).

Task
----
Write one step of SGD with momentum (PyTorch's form) for a weight array that has a pruning
mask, such that a pruned weight stays exactly zero, whatever its gradient and whatever its
momentum buffer held before it was pruned.

Maths
-----
With gradient :math:`g`, mask :math:`M` (True = kept), learning rate :math:`\eta` and
momentum :math:`\mu`:

.. math::

    g \leftarrow M \odot g,\qquad
    b \leftarrow \begin{cases} g & \text{first step (buf is None)} \\
                 \mu b + g & \text{otherwise}\end{cases},\qquad
    b \leftarrow M \odot b,\qquad
    w \leftarrow M \odot (w - \eta\, b).

Shapes
------
``w``, ``grad``, ``mask`` (bool) share one shape; ``buf`` is that shape or None.
Return ``(new_w, new_buf)``.

Rules
-----
NumPy only (nnprune.optim.SGD is what the checker compares you with).

Hint
----
Masking only the weights is not enough: a momentum buffer that still holds the pruned
weight's old velocity pushes it again as soon as the mask is lifted or changed, and a
state that is zero where pruned is the engine's contract. Mask the gradient, the buffer
and the result.

Check your work: ``nnprune check ch1.masked_momentum``
"""


def sgd_momentum_step(w, grad, buf, mask, lr, momentum):
    """One masked SGD-with-momentum step; return ``(new_w, new_buf)``."""
    # BEGIN SOLUTION
    # Why this is right: masking the gradient and the buffer keeps a pruned weight's momentum at
    # zero, so the mask survives every step, as nnprune.optim.SGD does.
    # Usual mistake: masking only the weights: the buffer remembers old gradients and revives them.
    g = grad * mask
    buf = g.copy() if buf is None else momentum * buf + g
    buf = buf * mask
    return (w - lr * buf) * mask, buf
    # END SOLUTION
