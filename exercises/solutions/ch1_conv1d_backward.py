r"""Exercise ch1.conv1d_backward: §1.2 神经网络结构 (network structures).

Task
----
``conv1d_forward`` (given, below) is a 1-D convolution as PyTorch computes it (a
cross-correlation, no padding). Write ``conv1d_backward``: the gradients of the loss with
respect to the input, the weight and the bias.

Maths
-----
Forward, for sample :math:`n`, output channel :math:`o`, position :math:`p`:

.. math::

    y[n, o, p] = b_o + \sum_{c=0}^{C_{in}-1} \sum_{j=0}^{K-1} W[o, c, j]\, x[n, c, p s + j].

Backward, with :math:`\delta = \partial L/\partial y`:

.. math::

    \frac{\partial L}{\partial W[o, c, j]} = \sum_{n, p} \delta[n, o, p]\, x[n, c, ps + j],\quad
    \frac{\partial L}{\partial b_o} = \sum_{n, p} \delta[n, o, p],\quad
    \frac{\partial L}{\partial x[n, c, ps + j]} \mathrel{+}= \sum_o \delta[n, o, p]\, W[o, c, j].

Shapes
------
``x``: ``(N, C_in, L)``; ``weight``: ``(C_out, C_in, K)``; ``dout``: ``(N, C_out, L_out)``
with ``L_out = (L - K) // stride + 1``. Return ``(dx, dweight, dbias)`` shaped like ``x``,
``weight`` and ``(C_out,)``.

Rules
-----
NumPy only (nnprune.nn.Conv1d is what the checker compares you with).

Hint
----
Loop over the kernel offset ``j`` (K is small): the input positions that meet ``W[:, :, j]``
are ``x[:, :, j : j + stride * (L_out - 1) + 1 : stride]``, of shape ``(N, C_in, L_out)``;
``np.einsum`` then does each sum in one line. Several outputs read the same input
position when ``K > stride``: accumulate into ``dx`` with ``+=``.

Check your work: ``nnprune check ch1.conv1d_backward``
"""

import numpy as np


def conv1d_forward(x, weight, bias, stride=1):
    """Given: ``y[n, o, p] = bias[o] + sum_{c, j} weight[o, c, j] * x[n, c, p*stride + j]``."""
    _, _, length = x.shape
    _, _, k = weight.shape
    l_out = (length - k) // stride + 1
    y = np.zeros((x.shape[0], weight.shape[0], l_out), dtype=np.result_type(x, weight))
    for j in range(k):
        xs = x[:, :, j : j + stride * (l_out - 1) + 1 : stride]  # (N, C_in, L_out)
        y += np.einsum("ncl,oc->nol", xs, weight[:, :, j])
    return y + bias[None, :, None]


def conv1d_backward(x, weight, dout, stride=1):
    """Return ``(dx, dweight, dbias)`` for ``dout`` = dL/dy of :func:`conv1d_forward`."""
    # BEGIN SOLUTION
    # Why this is right: the forward is a cross-correlation: output l reads x[l*stride + j] with
    # W[:, :, j], so dx gets dout * W[:, :, j] back at those positions.
    # Usual mistake: dx[...] = ... instead of += (windows overlap when K > stride), or a flipped
    # kernel.
    _, _, k = weight.shape
    l_out = dout.shape[2]
    dx, dweight = np.zeros_like(x, dtype=np.float64), np.zeros_like(weight, dtype=np.float64)
    for j in range(k):
        span = slice(j, j + stride * (l_out - 1) + 1, stride)
        dweight[:, :, j] = np.einsum("nol,ncl->oc", dout, x[:, :, span])
        dx[:, :, span] += np.einsum("nol,oc->ncl", dout, weight[:, :, j])
    return dx, dweight, dout.sum(axis=(0, 2))
    # END SOLUTION
