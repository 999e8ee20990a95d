r"""Exercise ch6.filter_removal: §6.1 稀疏性剪枝优化在图像识别中的应用 (image recognition).

Task
----
Filter pruning (Li et al., 2017) makes a CNN really smaller and faster only when the
filter leaves: remove output filter ``j`` of a convolution and the matching input channel
of the next convolution (``Conv2d -> ReLU -> Conv2d``).

Maths
-----
Filter :math:`j` of the first layer produces feature map :math:`j`:
:math:`a_j = \mathrm{ReLU}(W^{(1)}_j * x + b^{(1)}_j)`, and every filter :math:`o` of the
second layer reads it through :math:`W^{(2)}_{o, j}`. Removing it deletes
:math:`W^{(1)}_j` (one filter, shape :math:`(C_0, k, k)`), :math:`b^{(1)}_j` and
:math:`W^{(2)}_{\cdot, j}` (one input channel of every filter); :math:`b^{(2)}` stays.

Shapes
------
``w1``: ``(C1, C0, k, k)``, ``b1``: ``(C1,)``, ``w2``: ``(C2, C1, k2, k2)``. Return
``(w1_new, b1_new, w2_new)`` of shapes ``(C1-1, C0, k, k)``, ``(C1-1,)``,
``(C2, C1-1, k2, k2)``; do not modify the inputs.

Rules
-----
NumPy only (nnprune.prune.remove_units is what the checker compares you with).

Hint
----
PyTorch stores a convolution weight as ``(out_channels, in_channels, kH, kW)``: the
filter is axis 0 of ``w1``, the channel axis 1 of ``w2``.

Check your work: ``nnprune check ch6.filter_removal``
"""

import numpy as np


def remove_conv_filter(w1, b1, w2, j):
    """Remove filter ``j`` of the first convolution and input channel ``j`` of the second."""
    # BEGIN SOLUTION
    # Why this is right: filter j is w1[j] and b1[j]; the next conv reads it as input channel j,
    # w2[:, j]; removing both leaves every other output unchanged.
    # Usual mistake: removing w2[j] (an output filter of the next layer) instead of w2[:, j].
    return np.delete(w1, j, axis=0), np.delete(b1, j), np.delete(w2, j, axis=1)
    # END SOLUTION
