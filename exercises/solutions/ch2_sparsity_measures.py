r"""Exercise ch2.sparsity_measures: §2.1 稀疏性的概念 (the concept of sparsity).

Task
----
Measure the three kinds of sparsity of §2.1: of the weights, of the connections (whole
neurons or input features cut off) and of the activations.

Maths
-----
Sparsity is the fraction of exact zeros, :math:`s(A) = \#\{A_i = 0\} / \#A`.

* weight sparsity: :math:`s(W)`;
* connection sparsity of a layer with weight :math:`W \in \mathbb R^{out \times in}` (or a
  convolution :math:`(C_{out}, C_{in}, k_H, k_W)`): output unit :math:`i` is dead when its
  incoming weights :math:`W_{i, \cdot}` (everything in ``W[i]``) are all zero; input
  :math:`j` is dead when its outgoing weights ``W[:, j]`` are all zero. Return the two
  fractions (dead outputs / outputs, dead inputs / inputs);
* activation sparsity: :math:`s` of a layer's output on a batch (e.g. after a ReLU).

Shapes
------
``weight_sparsity(W)``: any array -> float. ``connection_sparsity(W)``: ``W`` of 2 or 4
axes -> ``(output_fraction, input_fraction)``. ``activation_sparsity(A)``: any -> float.

Rules
-----
NumPy only (nnprune.metrics is what the checker compares you with). Count exact zeros:
a tiny weight is not a pruned one.

Hint
----
``np.any(W != 0, axis=...)`` over the right axes tells which units are alive; for a
4-D convolution weight, an output filter is ``W[i]`` (axes 1, 2, 3) and an input channel
``W[:, j]`` (axes 0, 2, 3).

Check your work: ``nnprune check ch2.sparsity_measures``
"""

import numpy as np


def weight_sparsity(W):
    """Fraction of exact zeros in ``W`` (a float in [0, 1])."""
    # BEGIN SOLUTION
    # Why this is right: a row (output unit) is dead when all its incoming weights are zero; for a
    # conv the other axes (in, kH, kW) are flattened first.
    # Usual mistake: swapping the axes: W is (out, in, ...) in PyTorch's layout.
    return float(np.mean(W == 0))
    # END SOLUTION


def connection_sparsity(W):
    """``(dead outputs / outputs, dead inputs / inputs)`` for a 2-D or 4-D weight."""
    # BEGIN SOLUTION
    alive = W != 0
    out_alive = alive.reshape(W.shape[0], -1).any(axis=1)
    in_alive = alive.swapaxes(0, 1).reshape(W.shape[1], -1).any(axis=1)
    return float(np.mean(~out_alive)), float(np.mean(~in_alive))
    # END SOLUTION


def activation_sparsity(A):
    """Fraction of exact zeros in the activations ``A`` (a float in [0, 1])."""
    # BEGIN SOLUTION
    return float(np.mean(A == 0))
    # END SOLUTION
