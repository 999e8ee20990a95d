r"""Exercise ch7.recurrent_removal: §7.3 案例三：语音识别任务中的剪枝优化 (case study: speech).

Task
----
Remove hidden unit ``j`` of a one-layer LSTM (4 gates) or GRU (3 gates) physically: every
weight that enters the unit, in every gate, and every weight that reads its state.

Maths
-----
The gates are stacked along the rows: ``weight_ih`` is ``(G*H, D)`` with rows
:math:`gH + i` for gate :math:`g` and unit :math:`i` (LSTM order ``i, f, g, o``; GRU
``r, z, n``). Unit :math:`j` owns

* rows :math:`gH + j`, :math:`g = 0 \dots G-1`, of ``weight_ih``, ``weight_hh``,
  ``bias_ih``, ``bias_hh`` (its incoming weights, in every gate);
* column :math:`j` of ``weight_hh`` (the other units read :math:`h_{t-1, j}` through it);
* column :math:`j` of the next layer's weight ``next_weight`` (a ``Linear`` reading
  :math:`h`, shape ``(out, H)``).

Shapes
------
``weight_ih`` ``(G*H, D)``, ``weight_hh`` ``(G*H, H)``, ``bias_ih``, ``bias_hh`` ``(G*H,)``,
``next_weight`` ``(out, H)``. Return the five arrays without unit ``j``:
``(G*(H-1), D)``, ``(G*(H-1), H-1)``, ``(G*(H-1),)``, ``(G*(H-1),)``, ``(out, H-1)``.

Rules
-----
NumPy only (nnprune.prune.remove_hidden_units is what the checker compares you with).

Hint
----
``rows = [g * H + j for g in range(num_gates)]`` then ``np.delete(a, rows, axis=0)``.
Removing only row ``j`` removes a piece of the first gate of unit ``j``, and all of nothing.

Check your work: ``nnprune check ch7.recurrent_removal``
"""

import numpy as np


def remove_hidden_unit(weight_ih, weight_hh, bias_ih, bias_hh, next_weight, j, num_gates):
    """The five arrays without hidden unit ``j`` (rows of every gate, columns reading h_j)."""
    # BEGIN SOLUTION
    # Why this is right: an LSTM/GRU stacks its gates in weight_ih/weight_hh rows: unit j is row g *
    # hidden + j of every gate g, and column j of weight_hh.
    # Usual mistake: deleting row j only: the unit stays alive in the other gates.
    hidden = weight_hh.shape[1]
    rows = [g * hidden + j for g in range(num_gates)]
    return (
        np.delete(weight_ih, rows, axis=0),
        np.delete(np.delete(weight_hh, rows, axis=0), j, axis=1),
        np.delete(bias_ih, rows),
        np.delete(bias_hh, rows),
        np.delete(next_weight, j, axis=1),
    )
    # END SOLUTION
