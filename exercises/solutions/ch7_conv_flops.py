r"""Exercise ch7.conv_flops: §7.1 案例一：图像识别任务中的剪枝优化 (case study: image recognition).

Task
----
The case studies report FLOPs before and after pruning, counted as ShrinkBench counts them:
multiply-accumulates (MACs) of the weights, per input sample. Write the count for a
``Linear`` and a ``Conv2d`` layer, dense and with only the non-zero weights (what a
perfect sparse kernel would do).

Maths
-----
Each weight is used :math:`u` times per sample: :math:`u = 1` for a ``Linear`` layer on a
vector, :math:`u = OH \cdot OW` (the number of output positions) for a convolution, with

.. math::

    OH = \Big\lfloor \frac{H + 2p - k_H}{s} \Big\rfloor + 1
    \ \text{(same for } OW\text{)},\qquad
    \text{flops} = |W|\,u,\qquad \text{flops}_{nz} = \mathrm{nnz}(W)\,u.

Biases, activations and pooling are not counted.

Shapes
------
``linear_flops(weight)``: ``(out, in)`` -> ``(flops, flops_nz)``.
``conv2d_flops(weight, input_hw, stride=1, padding=0)``: ``weight`` ``(C_out, C_in, kH,
kW)``, ``input_hw = (H, W)`` -> ``(flops, flops_nz)``. Python ints.

Rules
-----
NumPy only (nnprune.metrics.flops is what the checker compares you with).

Hint
----
A convolution with 10 % of its weights left does 10 % of the MACs only with a sparse
kernel; the dense count does not change.

Check your work: ``nnprune check ch7.conv_flops``
"""

import numpy as np


def linear_flops(weight):
    """``(dense MACs, non-zero MACs)`` per sample of a Linear layer."""
    # BEGIN SOLUTION
    # Why this is right: a dense layer uses each weight once per example; a conv uses each weight
    # once per output position, OH * OW = ((H + 2P - K) // S + 1) ** 2.
    # Usual mistake: forgetting the + 1 in the output size, or counting input pixels.
    return int(weight.size), int(np.count_nonzero(weight))
    # END SOLUTION


def conv2d_flops(weight, input_hw, stride=1, padding=0):
    """``(dense MACs, non-zero MACs)`` per sample of a Conv2d layer on an ``input_hw`` image."""
    # BEGIN SOLUTION
    _, _, kh, kw = weight.shape
    oh = (input_hw[0] + 2 * padding - kh) // stride + 1
    ow = (input_hw[1] + 2 * padding - kw) // stride + 1
    return int(weight.size * oh * ow), int(np.count_nonzero(weight) * oh * ow)
    # END SOLUTION
