r"""Exercise ch3.fine_vs_channel: §3.3 剪枝方法的比较与评估 (comparing and evaluating methods).

Task
----
Fine-grained (weight) pruning or channel (neuron) pruning? Measure both on the same MLP
64-H-10 trained on the 8x8 digits, at the *same number of weights kept*: the accuracy each
keeps without retraining, and the bytes each needs (a channel-pruned layer is a smaller
dense matrix; a weight-pruned one needs a sparse format, CSR here). Which one wins on
accuracy is not a law: measure it at two budgets.

Maths
-----
Channel pruning keeps :math:`H' = \lfloor f H \rfloor` hidden units, those whose incoming
weights (rows of :math:`W_1`) have the largest :math:`L_2` norm, and deletes the others'
rows of :math:`W_1`, entries of :math:`b_1` and columns of :math:`W_2`: it keeps
:math:`P = H'(64 + 10)` weights. Fine-grained pruning keeps the same :math:`P` weights of
largest :math:`|w|` over :math:`W_1` and :math:`W_2` together (global) and zeroes the rest.
Bytes, float32 values and int32 indices: dense :math:`4\,rc`; CSR
:math:`4\,\mathrm{nnz} + 4\,\mathrm{nnz} + 4\,(r + 1)` (values, column indices, row pointers).

Shapes
------
``W1`` ``(H, 64)``, ``b1`` ``(H,)``, ``W2`` ``(10, H)``, ``b2`` ``(10,)`` (PyTorch layout),
``X`` ``(N, 64)``, ``y`` ``(N,)``. ``channel_prune`` returns ``(W1, b1, W2)`` smaller;
``fine_prune`` returns ``(W1, W2)`` of the same shapes with zeros; ``compare_at_budget``
returns a dict (see its docstring). Do not modify the inputs.

Rules
-----
NumPy only.

Hint
----
Rank with ``np.argsort(..., kind="stable")`` (ties: the smaller index first) and keep the
channels in their order (``np.sort`` the kept indices). For the global ranking, concatenate
``np.abs(W1).ravel()`` and ``np.abs(W2).ravel()``.

Check your work: ``nnprune check ch3.fine_vs_channel``
"""

import numpy as np


def channel_prune(W1, b1, W2, n_keep):
    """Keep the ``n_keep`` hidden units with the largest ``||W1[j]||_2``."""
    # BEGIN SOLUTION
    keep = np.sort(np.argsort(-np.linalg.norm(W1, axis=1), kind="stable")[:n_keep])
    return W1[keep].copy(), b1[keep].copy(), W2[:, keep].copy()
    # END SOLUTION


def fine_prune(W1, W2, n_keep):
    """Keep the ``n_keep`` largest ``|w|`` over ``W1`` and ``W2`` together; zero the rest."""
    # BEGIN SOLUTION
    # Why: one ranking over both layers is the fair comparison with channel pruning, which
    # also decides over the whole network. Usual mistake: the same fraction per layer.
    flat = np.concatenate([np.abs(W1).ravel(), np.abs(W2).ravel()])
    keep = np.zeros(flat.size, dtype=bool)
    keep[np.argsort(-flat, kind="stable")[:n_keep]] = True
    return W1 * keep[: W1.size].reshape(W1.shape), W2 * keep[W1.size :].reshape(W2.shape)
    # END SOLUTION


def csr_bytes(W):
    """Bytes of ``W`` in CSR with float32 values and int32 indices."""
    # BEGIN SOLUTION
    return int(8 * np.count_nonzero(W) + 4 * (W.shape[0] + 1))
    # END SOLUTION


def accuracy(W1, b1, W2, b2, X, y):
    """Accuracy of ``relu(X @ W1.T + b1) @ W2.T + b2``."""
    # BEGIN SOLUTION
    logits = np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
    return float(np.mean(np.argmax(logits, axis=1) == y))
    # END SOLUTION


def compare_at_budget(W1, b1, W2, b2, X, y, keep_fraction):
    """Both methods at the same weight count: a dict with the keys ``hidden_kept`` (H'),
    ``weights_kept`` (P), ``channel_accuracy``, ``fine_accuracy``, ``channel_bytes`` (dense
    float32 of the two smaller matrices) and ``fine_bytes`` (CSR of the two masked ones)."""
    # BEGIN SOLUTION
    # Why: the same P makes the comparison fair. What it shows: channel pruning needs half
    # the bytes and stays a dense (fast) product; which keeps more accuracy depends on the
    # budget (here global magnitude strips the small-weighted output layer at 25%).
    h = int(np.floor(keep_fraction * W1.shape[0]))
    c1, cb1, c2 = channel_prune(W1, b1, W2, h)
    p = c1.size + c2.size
    f1, f2 = fine_prune(W1, W2, p)
    return {"hidden_kept": h, "weights_kept": p,
            "channel_accuracy": accuracy(c1, cb1, c2, b2, X, y),
            "fine_accuracy": accuracy(f1, b1, f2, b2, X, y),
            "channel_bytes": 4 * p, "fine_bytes": csr_bytes(f1) + csr_bytes(f2)}
    # END SOLUTION
