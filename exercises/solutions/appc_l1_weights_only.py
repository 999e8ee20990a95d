r"""Exercise appc.l1_weights_only: Appendix C 神经网络剪枝优化项目实战 (hands-on project).

Task
----
Appendix C adds ``0.001 * sum(|p| for p in model.parameters())`` to the loss: that also
penalises the biases, which pruning never removes (and which the network needs to place
its decision boundaries). Write the L1 term on the prunable weights only, its value and
its subgradient, added into the gradients after ``backward`` and before ``step``.

Maths
-----
.. math::

    \Omega(W) = \lambda \sum_{\text{weights } W} \sum_{ij} |W_{ij}|,\qquad
    \frac{\partial \Omega}{\partial W_{ij}} \ni \lambda\,\operatorname{sign}(W_{ij})
    \quad(\operatorname{sign}(0) = 0).

Shapes
------
``model``: an nnprune ``Module``. ``model.prunable_parameters()`` yields
``(name, module, attr, param)`` for every prunable weight (biases and norm scales are
not prunable); ``param.data`` and ``param.grad`` are arrays of one shape.
``l1_penalty(model, lam)`` returns a float; ``add_l1_subgradient(model, lam)`` adds into
``param.grad`` in place and returns None.

Rules
-----
NumPy only (nnprune.regularizers.L1 is what the checker compares you with).

Hint
----
``for _, _, _, p in model.prunable_parameters(): ...``; ``p.grad += ...`` adds in place.

Check your work: ``nnprune check appc.l1_weights_only``
"""

import numpy as np


def l1_penalty(model, lam):
    """``lam`` times the sum of ``|w|`` over the prunable weights (a float)."""
    # BEGIN SOLUTION
    # Why this is right: prunable_parameters() yields the weights the pruners mask, so biases and
    # BatchNorm scales get no L1 pull, as in nnprune.regularizers.L1.
    # Usual mistake: summing over model.parameters(), as the book's appendix C does, shrinks the
    # biases too.
    return lam * sum(float(np.abs(p.data).sum()) for _, _, _, p in model.prunable_parameters())
    # END SOLUTION


def add_l1_subgradient(model, lam):
    """Add ``lam * sign(w)`` into the gradient of every prunable weight (in place)."""
    # BEGIN SOLUTION
    for _, _, _, p in model.prunable_parameters():
        p.grad += lam * np.sign(p.data)
    # END SOLUTION
