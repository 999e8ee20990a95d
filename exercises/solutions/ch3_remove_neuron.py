r"""Exercise ch3.remove_neuron: §3.1 传统剪枝方法 (traditional pruning methods).

Task
----
Structured pruning only saves memory and time when the pruned unit really leaves the
model. Remove hidden neuron ``j`` of the MLP ``Linear(fc1) -> ReLU -> Linear(fc2)``: return
new, smaller weight arrays.

Maths
-----
Hidden neuron :math:`j` computes :math:`h_j = \mathrm{ReLU}(W^{(1)}_{j,\cdot}\, x + b^{(1)}_j)`
and is read by column :math:`j` of :math:`W^{(2)}`:
:math:`y = W^{(2)} h + b^{(2)} = \sum_j W^{(2)}_{\cdot, j} h_j + b^{(2)}`. Removing it deletes
row :math:`j` of :math:`W^{(1)}`, entry :math:`j` of :math:`b^{(1)}` and column :math:`j` of
:math:`W^{(2)}`; :math:`b^{(2)}` is unchanged. When neuron :math:`j`'s output was 0 on every
input (a dead neuron), the smaller network computes exactly the same outputs.

Shapes
------
PyTorch layout: ``w1`` ``(hidden, in)``, ``b1`` ``(hidden,)``, ``w2`` ``(out, hidden)``.
Return ``(w1_new, b1_new, w2_new)`` of shapes ``(hidden-1, in)``, ``(hidden-1,)``,
``(out, hidden-1)``; do not modify the inputs.

Rules
-----
NumPy only (nnprune.prune.remove_units is what the checker compares you with).

Hint
----
``np.delete(a, j, axis=...)`` returns a copy without index ``j`` along an axis; which axis
of ``w2`` holds the hidden units?

Check your work: ``nnprune check ch3.remove_neuron``
"""

import numpy as np


def remove_hidden_neuron(w1, b1, w2, j):
    """Return ``(w1, b1, w2)`` without hidden neuron ``j``: row of w1, entry of b1, col of w2."""
    # BEGIN SOLUTION
    # Why this is right: neuron j is row j of w1 (and entry j of b1) and column j of w2; np.delete
    # returns new arrays, so the inputs stay as they were.
    # Usual mistake: deleting row j of w2: its rows are the outputs, its columns the hidden units.
    return np.delete(w1, j, axis=0), np.delete(b1, j), np.delete(w2, j, axis=1)
    # END SOLUTION
