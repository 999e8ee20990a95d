r"""Exercise ch5.book_loop: §5.3 剪枝算法的代码实现 (the pruning code).

Task
----
Run the book's §5.3 loop exactly as written, on softmax regression, and find its flaw by
measuring it; then write the corrected loop. The book's loop, with its own names::

    for epoch in range(num_epochs):
        output = forward_propagation(X, W)              # softmax(X @ W)
        gradients = backward_propagation(X, Y, W)        # uses `output`: taken at W
        W_pruned = pruning_decision(W, threshold)        # W * (|W| > threshold)
        W = update_parameters(W_pruned, gradients, lr)   # W_pruned - lr * gradients
    return W

The threshold is re-applied at every iteration, but before the update: the gradient is
taken at the unpruned W, and the W returned is ``W_pruned - lr * gradients``, so every
pruned entry with a non-zero gradient is non-zero again. It is iterative hard thresholding
that never returns a sparse W (docs/errata.md, §5.3).

Maths
-----
Softmax regression: :math:`P = \mathrm{softmax}(XW)` row by row, mean cross-entropy,
gradient :math:`\nabla_W = X^\top (P - Y) / N` (:math:`Y` one-hot). The corrected loop
decides the mask once, :math:`M = |W_0| > t`, and keeps it:

.. math::

    W \leftarrow M \odot W_0;\qquad
    \text{repeat: } W \leftarrow M \odot \bigl(W - \eta\, \nabla_W(W)\bigr),

so the gradient is taken at the masked :math:`W` and the :math:`W` returned is exactly sparse.

Shapes
------
``X``: ``(N, D)``, ``Y``: ``(N, K)`` one-hot, ``W``: ``(D, K)``. ``book_loop`` returns ``W``;
``corrected_loop`` returns ``(W, mask)``; ``sparsity_report`` returns
``(exact_zero_fraction, below_threshold_fraction)`` with below meaning ``|w| <= threshold``;
``compare_loops`` returns a dict of four floats (see its docstring). Do not modify inputs.

Rules
-----
NumPy only.

Hint
----
Subtract the row maximum before ``np.exp`` (a stable softmax). "Exactly zero" is
``w == 0``, not ``np.isclose(w, 0)``: the point of the exercise is that the book's W has many
tiny entries and few true zeros.

Check your work: ``nnprune check ch5.book_loop``
"""

import numpy as np


def softmax_grad(X, Y, W):
    """Gradient of the mean softmax cross-entropy at ``W``: ``X.T @ (P - Y) / N``."""
    # BEGIN SOLUTION
    z = X @ W
    z = z - z.max(axis=1, keepdims=True)
    P = np.exp(z)
    P /= P.sum(axis=1, keepdims=True)
    return X.T @ (P - Y) / len(X)
    # END SOLUTION


def book_loop(X, Y, W, threshold, lr, epochs):
    """The §5.3 loop as written: gradient at W, threshold, then ``W = W_pruned - lr * g``."""
    # BEGIN SOLUTION
    # Why: the order is the book's: backward_propagation before pruning_decision, and the
    # update starts from W_pruned. Usual mistake: "fixing" it while transcribing it
    # (thresholding after the update), which hides the flaw the exercise is about.
    for _ in range(epochs):
        gradients = softmax_grad(X, Y, W)
        W_pruned = W * (np.abs(W) > threshold)
        W = W_pruned - lr * gradients
    return W
    # END SOLUTION


def sparsity_report(W, threshold):
    """``(fraction of entries exactly 0, fraction with |w| <= threshold)``."""
    # BEGIN SOLUTION
    return float(np.mean(W == 0)), float(np.mean(np.abs(W) <= threshold))
    # END SOLUTION


def corrected_loop(X, Y, W, threshold, lr, epochs):
    """Mask ``|W| > threshold`` decided once and kept; return ``(W, mask)``, W exactly sparse."""
    # BEGIN SOLUTION
    # Why: with the mask applied after every update the pruned entries stay exactly 0 and
    # every gradient is taken at the network that is actually deployed. Usual mistake:
    # computing the gradient at the dense W0, or masking the gradient but not W itself.
    mask = np.abs(W) > threshold
    W = W * mask
    for _ in range(epochs):
        W = mask * (W - lr * softmax_grad(X, Y, W))
    return W, mask
    # END SOLUTION


def compare_loops(X, Y, W, threshold, lr, epochs):
    """Both loops measured: a dict with the keys ``book_zero``, ``book_below``,
    ``corrected_zero``, ``corrected_below`` (the two fractions of :func:`sparsity_report`)."""
    # BEGIN SOLUTION
    book_zero, book_below = sparsity_report(book_loop(X, Y, W, threshold, lr, epochs), threshold)
    W_c, _ = corrected_loop(X, Y, W, threshold, lr, epochs)
    corrected_zero, corrected_below = sparsity_report(W_c, threshold)
    return {"book_zero": book_zero, "book_below": book_below,
            "corrected_zero": corrected_zero, "corrected_below": corrected_below}
    # END SOLUTION
