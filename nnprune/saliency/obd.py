r"""Optimal Brain Damage (LeCun, Denker & Solla, 1990): second-order saliency of single weights.

Near a minimum (:math:`g \approx 0`) the loss change of deleting weight :math:`i` is,
with a diagonal approximation of the Hessian :math:`H`,

.. math::

    s_i = \tfrac12\, h_{ii}\, w_i^2,\qquad
    h_{ii} = \frac{\partial^2 J}{\partial w_i^2}
    \approx \frac{g_i(w + \epsilon e_i) - g_i(w - \epsilon e_i)}{2\epsilon}.

The paper computes :math:`h_{ii}` with a backpropagation rule that drops the
off-diagonal terms; here the diagonal is the **exact** one, up to the
:math:`O(\epsilon^2)` error of central differences of the hand-written gradient.
That costs two forward/backward passes per weight: use it on a small layer (a
few thousand weights), as a reference for the first-order scores of
:mod:`nnprune.saliency.gradient`, not on a whole network. Use float64.

References
----------
Y. LeCun, J. S. Denker and S. A. Solla, "Optimal Brain Damage", NeurIPS 1990.

Book: §4.3 (second-order counterpart of the gradient saliencies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_positive
from ..nn.module import Module
from ._common import check_data, check_model, iter_batches, loss_and_backward, preserved


def hessian_diagonal(
    model: Module, loss_fn: Any, batch: tuple[Any, Any], name: str, eps: float = 1e-5
) -> np.ndarray:
    r"""Diagonal :math:`h_{ii}` of the Hessian of the batch loss for parameter ``name``.

    Central differences of the gradient, two backward passes per entry (see module
    docstring). The parameter is restored; float64 is recommended.

    Returns
    -------
    numpy.ndarray
        The parameter's shape, float64.

    Book: §4.3
    """
    check_model(model)
    check_data(batch, "batch")
    check_positive("eps", eps)
    named = dict(model.named_parameters())
    if name not in named:
        raise ValueError(f"{name!r} is not a parameter of the model; it has {list(named)}")
    p = named[name]
    h = np.zeros(p.shape)
    with preserved(model):
        xb, yb = next(iter_batches(model, batch, None, None))
        for pos in np.ndindex(*p.shape):
            old = p.data[pos].copy()
            diff = 0.0
            for sign in (1.0, -1.0):
                p.data[pos] = old + sign * eps
                loss_and_backward(model, loss_fn, xb, yb)
                diff += sign * float(to_numpy(p.grad[pos]))
            p.data[pos] = old
            h[pos] = diff / (2.0 * eps)
    return h


def obd_scores(
    model: Module, loss_fn: Any, batch: tuple[Any, Any], name: str, eps: float = 1e-5
) -> np.ndarray:
    r"""OBD saliency :math:`s_i = \tfrac12 h_{ii} w_i^2` of every entry of parameter ``name``.

    Book: §4.3
    """
    h = hessian_diagonal(model, loss_fn, batch, name, eps)
    w = to_numpy(dict(model.named_parameters())[name].data).astype(np.float64)
    return 0.5 * h * w * w


__all__ = ["hessian_diagonal", "obd_scores"]
