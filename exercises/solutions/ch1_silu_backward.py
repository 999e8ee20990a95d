r"""Exercise ch1.silu_backward: §1.1 神经网络概述 (overview of neural networks).

Task
----
Write the SiLU activation (also called swish) as an nnprune layer: ``forward`` and a
hand-written ``backward``, the way every nnprune layer is written (there is no autograd).

Maths
-----
.. math::

    y = x\,\sigma(x),\qquad \sigma(x) = \frac{1}{1 + e^{-x}},\qquad
    \frac{\partial L}{\partial x} = \delta \odot \big(\sigma(x) + x\,\sigma(x)(1 - \sigma(x))\big),

with :math:`\delta` = ``dout`` = :math:`\partial L/\partial y` (the product rule).

Shapes
------
``forward(x)``: any shape, returns ``y`` of the same shape. ``backward(dout)``: ``dout`` has
``y``'s shape; return ``dx`` of ``x``'s shape.

Rules
-----
Cache in ``forward`` what ``backward`` needs (name the cache for what it holds; the word
"mask" belongs to pruning). Never modify ``dout``. Allowed imports: numpy, math, nnprune.nn.

Hint
----
``np.exp(-x)`` overflows for ``x = -1000``; with ``e = np.exp(-np.abs(x))``,
:math:`\sigma(x)` is ``1 / (1 + e)`` where ``x >= 0`` and ``e / (1 + e)`` elsewhere.

Check your work: ``nnprune check ch1.silu_backward``
"""

import numpy as np

from nnprune.nn import Module


class SiLU(Module):
    """:math:`y = x\\,\\sigma(x)` with a hand-written backward pass."""

    def __init__(self) -> None:
        super().__init__()
        self._x = None  # the input, cached by forward
        self._sigmoid = None  # sigma(x), cached by forward

    def forward(self, x):
        """Return ``x * sigmoid(x)`` and cache what backward needs."""
        # BEGIN SOLUTION
        # Why this is right: exp(-|x|) never exceeds 1, so neither branch overflows; d/dx [x s(x)] =
        # s + x s (1 - s) by the product rule, with s cached in forward.
        # Usual mistake: 1 / (1 + np.exp(-x)): right values, but np.exp overflows at x = -1000.
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1.0, e) / (1.0 + e)
        self._x, self._sigmoid = x, s
        return x * s
        # END SOLUTION

    def backward(self, dout):
        """Return ``dx`` (same shape as ``x``) for ``dout`` = dL/dy."""
        # BEGIN SOLUTION
        s, x = self._sigmoid, self._x
        return dout * (s + x * s * (1.0 - s))
        # END SOLUTION
