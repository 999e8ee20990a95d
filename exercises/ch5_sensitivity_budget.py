r"""Exercise ch5.sensitivity_budget: §5.2 剪枝算法的参数调优 (tuning the pruning parameters).

Task
----
One sparsity for every layer wastes accuracy: some layers lose nothing at 80% and others
break at 50%. Scan each layer's sensitivity (prune that layer alone, measure the accuracy),
then choose one sparsity per layer so that the whole MLP keeps at most ``budget`` weights
and stays as accurate as possible. The checker uses a ReLU MLP 64-128-32-10 trained on the
8x8 digits and grades your choice on the weights it keeps (at most ``budget``) and on the
validation accuracy of the pruned model (at least 0.85, no retraining).

Maths
-----
Magnitude pruning of a layer at sparsity :math:`s` zeroes its
:math:`k = \operatorname{round}(s\,n)` entries of smallest :math:`|w|` (:math:`n` entries).
The sensitivity scan is the table

.. math::

    A_{l,j} = \mathrm{acc}\bigl(W_1, \dots, \mathrm{prune}(W_l, s_j), \dots, W_L\bigr),

every other layer dense. A layer keeps :math:`n_l - \operatorname{round}(s_l n_l)` weights;
the budget bounds :math:`\sum_l` of that (biases are not counted).

Shapes
------
``weights[l]``: ``(out, in)`` (PyTorch layout), ``biases[l]``: ``(out,)``; ``X``: ``(N, 64)``,
``y``: ``(N,)`` ints. ``sensitivity_scan`` returns ``(L, S)`` for ``S`` sparsities;
``choose_sparsities`` returns a list of ``L`` floats in ``[0, 1)``.

Rules
-----
NumPy only. Do not modify the arrays you are given.

Hint
----
The MLP is ``h = relu(h @ W.T + b)`` for every layer but the last (no ReLU on the logits).
A simple rule that meets the budget: for a tolerance :math:`t`, give every layer the largest
scanned sparsity whose accuracy is at least ``dense_accuracy - t``; try the tolerances in
increasing order (the drops in the scan are the candidates) and stop at the first one whose
weights fit the budget.

Check your work: ``nnprune check ch5.sensitivity_budget``
"""

import numpy as np


def prune_magnitude(w, sparsity):
    """A copy of ``w`` with its ``round(sparsity * w.size)`` smallest ``|w|`` set to zero."""
    raise NotImplementedError("your code here")


def mlp_accuracy(weights, biases, X, y):
    """Fraction of rows of ``X`` whose arg-max logit is ``y``."""
    raise NotImplementedError("your code here")


def sensitivity_scan(weights, biases, X, y, sparsities):
    """``(L, S)`` accuracies: row ``l`` prunes layer ``l`` alone at each sparsity."""
    raise NotImplementedError("your code here")


def choose_sparsities(scan, sparsities, dense_accuracy, sizes, budget):
    """One sparsity per layer: at most ``budget`` weights kept, the accuracy as high as possible.

    ``scan`` is ``(L, S)`` from :func:`sensitivity_scan`, ``sparsities`` its ``S`` columns,
    ``sizes[l]`` the number of weights of layer ``l``.
    """
    raise NotImplementedError("your code here")
