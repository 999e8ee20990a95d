r"""Exercise ch8.obs_update: §8.1 神经网络剪枝优化的发展趋势 (trends).

Task
----
SparseGPT (Frantar & Alistarh 2023) prunes a language model layer by layer without
retraining: when it removes a weight, the other weights of the row move to make up for
it. The move is the optimal brain surgeon (OBS) update of Hassibi & Stork (1993). Write it
for one removed weight, and the inverse Hessian of the weights that remain.

Maths
-----
One output row :math:`w \in \mathbb R^{in}` of a layer should keep its outputs
:math:`w^\top X` on the calibration inputs; the error of a change :math:`\delta` is
:math:`\tfrac12 \delta^\top H \delta` with :math:`H = 2XX^\top`. Removing weight :math:`q`
(:math:`w_q + \delta_q = 0`) at the least error gives

.. math::

    \delta = -\frac{w_q}{[H^{-1}]_{qq}}\, H^{-1}_{:,q},\qquad
    \Delta L = \frac{w_q^2}{2\,[H^{-1}]_{qq}},

and the new weight :math:`w + \delta` has :math:`w_q` exactly 0 (set it: rounding leaves
a tiny rest). For the next removal the inverse Hessian of the remaining weights is one
step of Gaussian elimination (row and column :math:`q` become 0):

.. math::

    H^{-1}_{-q} = H^{-1} - \frac{H^{-1}_{:,q}\, H^{-1}_{q,:}}{[H^{-1}]_{qq}}.

Shapes
------
``obs_update(w, H_inv, q)``: ``(in,)``, ``(in, in)``, int -> ``(new_w (in,), delta_loss)``.
``remove_from_inverse(H_inv, q)``: -> ``(in, in)``.

Rules
-----
NumPy only; do not modify the arguments.

Hint
----
Only column :math:`q` of :math:`H^{-1}` is needed for the update, and only its diagonal
entry for the loss: no matrix inverse is computed here.

Check your work: ``nnprune check ch8.obs_update``
"""

import numpy as np


def obs_update(w, H_inv, q):
    """Remove weight ``q`` of row ``w``; return the updated row and the loss increase."""
    # BEGIN SOLUTION
    # Why this is right: delta minimises 0.5 delta^T H delta subject to w_q + delta_q = 0 (a
    # Lagrange multiplier gives delta = -w_q H^-1 e_q / [H^-1]_qq); w_q is then set to 0 exactly.
    # Usual mistake: using H instead of its inverse, or dividing by H_qq (the OBD/diagonal
    # estimate).
    d = H_inv[q, q]
    new_w = w - (w[q] / d) * H_inv[:, q]
    new_w[q] = 0.0
    return new_w, float(w[q] ** 2 / (2.0 * d))
    # END SOLUTION


def remove_from_inverse(H_inv, q):
    """The inverse Hessian of the weights left after removing ``q`` (row/column ``q`` = 0)."""
    # BEGIN SOLUTION
    return H_inv - np.outer(H_inv[:, q], H_inv[q, :]) / H_inv[q, q]
    # END SOLUTION
