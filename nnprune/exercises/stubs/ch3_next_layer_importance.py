r"""Exercise ch3.next_layer_importance: §3.1 传统剪枝方法 (traditional pruning).

Task
----
A channel of layer :math:`i` matters as much as the next layer lets it: if every weight
that reads it is small, removing it changes little. Rank the output channels of layer
:math:`i` by the norm of layer :math:`i+1`'s weights over that *input* channel (the
criterion of the pruning lab of MIT 6.5940, and the "next layer" half of ThiNet's idea),
for a convolution followed by a convolution and for a convolution followed by
``Flatten -> Linear``.

Maths
-----
For :math:`W^{(i+1)}` of shape :math:`(C_{out}, C, k_H, k_W)` the importance of channel
:math:`c` is

.. math::

    s_c = \Bigl(\sum_{o, u, v} |W^{(i+1)}_{o, c, u, v}|^p\Bigr)^{1/p}.

After ``Flatten`` of a ``(C, H, W)`` map, channel :math:`c` is read by the columns
:math:`cHW, \dots, (c+1)HW - 1` of the Linear weight :math:`(F, C H W)` (PyTorch flattens
channel first).

Shapes
------
``input_channel_importance(w_next, p)``: ``w_next`` ``(C_out, C, kH, kW)`` or ``(F, C)``
-> ``(C,)``. ``flatten_channel_importance(w_fc, channels, p)``: ``w_fc`` ``(F, C*H*W)`` ->
``(C,)``. ``channels_to_prune(scores, n)`` -> the ``n`` least important channels, sorted
ascending (ties: the smaller index goes first).

Rules
-----
NumPy only.

Hint
----
Move the channel axis first (``np.moveaxis(w, 1, 0)``), flatten the rest, and take the norm
of each row. For the Linear case, ``w_fc.reshape(F, channels, -1)`` puts the channel on
axis 1.

Check your work: ``nnprune check ch3.next_layer_importance``
"""

import numpy as np


def input_channel_importance(w_next, p=2):
    """The ``L_p`` norm of ``w_next`` over each input channel (axis 1)."""
    raise NotImplementedError("your code here")


def flatten_channel_importance(w_fc, channels, p=2):
    """The ``L_p`` norm of the Linear weight's columns that read each channel after Flatten."""
    raise NotImplementedError("your code here")


def channels_to_prune(scores, n):
    """The ``n`` channels of smallest score, as sorted indices."""
    raise NotImplementedError("your code here")
