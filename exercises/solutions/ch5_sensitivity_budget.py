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
    # BEGIN SOLUTION
    # Why: magnitude pruning as torch.nn.utils.prune.l1_unstructured counts it, k = round(s n),
    # ties broken by position (stable sort). Usual mistake: int(s * n) rounds 0.29 * 100 down.
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(np.abs(flat), kind="stable")[: round(sparsity * flat.size)]] = 0.0
    return out
    # END SOLUTION


def mlp_accuracy(weights, biases, X, y):
    """Fraction of rows of ``X`` whose arg-max logit is ``y``."""
    # BEGIN SOLUTION
    h = np.asarray(X, dtype=float)
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ np.asarray(w).T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return float(np.mean(np.argmax(h, axis=1) == y))
    # END SOLUTION


def sensitivity_scan(weights, biases, X, y, sparsities):
    """``(L, S)`` accuracies: row ``l`` prunes layer ``l`` alone at each sparsity."""
    # BEGIN SOLUTION
    # Why: each row changes one layer only, the others stay dense. Usual mistake: pruning
    # the layer in place, so the next layer's row is measured on an already pruned network.
    table = np.zeros((len(weights), len(sparsities)))
    for l in range(len(weights)):
        for j, s in enumerate(sparsities):
            trial = list(weights)
            trial[l] = prune_magnitude(weights[l], s)
            table[l, j] = mlp_accuracy(trial, biases, X, y)
    return table
    # END SOLUTION


def choose_sparsities(scan, sparsities, dense_accuracy, sizes, budget):
    """One sparsity per layer: at most ``budget`` weights kept, the accuracy as high as possible.

    ``scan`` is ``(L, S)`` from :func:`sensitivity_scan`, ``sparsities`` its ``S`` columns,
    ``sizes[l]`` the number of weights of layer ``l``.
    """
    # BEGIN SOLUTION
    # Why: a layer whose accuracy barely moves is pruned hard, a sensitive one (here the
    # 32 -> 10 output layer) lightly, and the tolerance grows only until the budget is met.
    # Usual mistake: one uniform sparsity 1 - budget / total, which breaks the output layer.
    scan, sparsities = np.asarray(scan), np.asarray(sparsities, dtype=float)
    drops = np.maximum(dense_accuracy - scan, 0.0)
    for t in np.unique(drops):
        choice = [float(sparsities[drops[l] <= t].max()) for l in range(len(sizes))]
        kept = sum(n - round(s * n) for s, n in zip(choice, sizes, strict=True))
        if kept <= budget:
            return choice
    return [float(sparsities.max())] * len(sizes)
    # END SOLUTION
