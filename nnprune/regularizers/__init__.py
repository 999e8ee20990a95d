r"""Sparsity penalties :math:`\lambda\,\Omega(W)` and their operators (book §4.1–4.2).

Training minimises :math:`\mathrm{Loss}(W) + \lambda\,\Omega(W)` with one of

* :class:`L1`: :math:`\sum |W_{ij}|`; soft-thresholding (Lasso, ISTA).
* :class:`L2`: :math:`\tfrac12\sum W_{ij}^2` (weight decay); :math:`V/(1+t\lambda)`.
* :class:`L0`: :math:`\sum 1[W_{ij}\ne 0]` (the count); hard thresholding,
  :func:`project_topk` / :func:`project_topk_global`, :class:`HardConcreteGate`.
* :class:`GroupLasso`: :math:`\sum_g \lVert W_g\rVert_2` over neurons/filters (or inputs);
  block soft-thresholding, which removes whole units.
* :class:`ReweightedL1`: :math:`\sum |W_{ij}|/(|W^{(t)}_{ij}|+\epsilon)`; soft-thresholding
  with per-entry thresholds.

Each penalty gives ``value(params)`` (:math:`\lambda\Omega`, to add to the loss),
``grad(W)`` and ``prox(V, step)`` where they exist (see :mod:`.base`). Two calls
plug it into a training loop; the layers are not touched. The subgradient route:

.. code-block:: python

    penalty, params = L1(lam=1e-4), as_parameter_list(model)
    for x, y in batches:
        model.zero_grad()
        loss = crit.forward(model.forward(x), y) + penalty.value(params)
        model.backward(crit.backward())
        penalty.add_grad(params)            # p.grad += lam * dOmega/dW (masked entries: 0)
        opt.step()

The proximal route (ISTA, exact zeros for L1 / group lasso / L0): drop
``add_grad`` and call ``penalty.apply_prox(params, lr)`` right after ``opt.step()``
with the step's learning rate (plain SGD without momentum makes it exactly ISTA).
With :class:`ReweightedL1`, also call ``penalty.update_weights(params)`` every few
epochs. With hard-concrete gates (a :class:`HardConcreteGate` placed after a layer),
add ``lam * gate.expected_l0()`` to the loss and call ``gate.add_expected_l0_grad(lam)``
after ``model.backward``.

Book: §4.1, §4.2 (corrected, see docs/errata.md#s4-1-l0, #s4-1-l1, #s4-2-lasso).
"""

from .base import Penalty, as_parameter_list
from .group import GroupLasso, group_norms, zero_groups
from .l0 import L0, HardConcreteGate, project_topk, project_topk_global, topk_mask
from .l1 import L1, soft_threshold
from .l2 import L2
from .reweighted import ReweightedL1

__all__ = [
    "L0",
    "L1",
    "L2",
    "GroupLasso",
    "HardConcreteGate",
    "Penalty",
    "ReweightedL1",
    "as_parameter_list",
    "group_norms",
    "project_topk",
    "project_topk_global",
    "soft_threshold",
    "topk_mask",
    "zero_groups",
]
