r"""L2 (ridge, weight decay) training, for comparison: small weights, but no exact zeros.

Adds :math:`\lambda W` (the gradient of :math:`\tfrac{\lambda}{2}\lVert W\rVert_F^2`) to
each penalised weight's gradient before every optimiser step, inside
:func:`nnprune.train.fit`:

.. math::

    \min_W\; \mathrm{Loss}(W) + \tfrac{\lambda}{2}\lVert W\rVert_F^2 .

L2 shrinks every weight in proportion to its size, so a weight approaches 0 only
asymptotically: :func:`nnprune.algorithms.lambda_path` with ``method="l2"`` shows
``zero_fraction`` 0 at every :math:`\lambda` while ``small_fraction`` grows, unlike
``"ista"`` (L1 by soft-thresholding, exact zeros). For the linear model the same
contrast is ridge regression (never sparse) against the Lasso
(:func:`nnprune.algorithms.lasso_cd`).

Book: §4.1 (the L2 penalty)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..nn.module import Module
from ..regularizers import L2
from .ista import GradientHookOptimizer, TrainResult, fit_penalised, penalised_parameters

__all__ = ["l2_train"]


def l2_train(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    params: Any = None,
    callbacks: Iterable[Any] = (),
    **fit_kwargs: Any,
) -> TrainResult:
    r"""Train with the L2 penalty :math:`\tfrac{\lambda}{2}\lVert W\rVert_F^2` on the weights.

    The same as SGD's ``weight_decay=lam`` restricted to ``params`` (the model's
    prunable weights by default, biases not penalised).

    Parameters
    ----------
    model, loss_fn, optimizer, train, val
        As in :func:`nnprune.train.fit`.
    lam : float >= 0
    epochs, batch_size, seed, params, callbacks, **fit_kwargs
        As in :func:`nnprune.algorithms.ista_train`.

    Returns
    -------
    TrainResult
        ``zero_fraction`` is 0 in practice: L2 gives small, not zero, weights.

    Book: §4.1 (L2)
    """
    penalty = L2(lam)
    plist = penalised_parameters(model, params)
    hooked = GradientHookOptimizer(optimizer, lambda: penalty.add_grad(plist))
    return fit_penalised(
        model,
        loss_fn,
        hooked,
        train,
        val,
        penalty,
        plist,
        list(callbacks),
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )
