r"""Iteratively reweighted L1 training (Candès, Wakin & Boyd 2008).

The L1 penalty shrinks every weight by the same amount, large ones included.
Reweighting makes the strength per weight, inversely proportional to the weight's
last magnitude, which approaches the count :math:`\lVert W\rVert_0` more closely:

.. math::

    \min_W\; \mathrm{Loss}(W) + \sum_{ij} \lambda_{ij} |W_{ij}|,\qquad
    \lambda_{ij} = \frac{\lambda}{|W^{(t)}_{ij}| + \epsilon},

where :math:`W^{(t)}` are the weights at the last refresh. Training starts with
:math:`\lambda_{ij} = \lambda` (plain L1, the paper's :math:`w^{(0)} = 1`) and refreshes
the :math:`\lambda_{ij}` every ``refresh_every`` epochs. Each step is a proximal
(ISTA) step with a per-weight threshold,

.. math::

    V = W - \eta\nabla\mathrm{Loss}(W),\qquad
    W_{ij} \leftarrow \operatorname{sign}(V_{ij})\max(|V_{ij}| - \eta\lambda_{ij},\ 0),

so a weight that is 0 at a refresh gets the threshold :math:`\eta\lambda/\epsilon` and
stays pruned unless the loss pulls it hard, while large weights are barely shrunk.

The loop, as :func:`reweighted_l1_train` runs it inside :func:`nnprune.train.fit`::

    for epoch in range(epochs):
        for x, y in batches:
            forward, backward, optimizer.step()          # V = W - eta * grad
            W = sign(V) * max(|V| - eta * lam * w, 0)    # SoftThresholdStep, w = 1 at first
        if (epoch + 1) % refresh_every == 0:
            w = 1 / (|W| + eps)                          # RefreshWeights: lam_ij = lam * w

Reference: Candès, Wakin & Boyd, *Enhancing sparsity by reweighted ℓ1 minimization*,
J. Fourier Anal. Appl. 14:877–905, 2008.

Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls: the book's
:math:`\lambda = 1/(\alpha\,\mathrm{trace}(W))` is undefined for non-square ``W``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import get_xp
from ..checks import check_positive_int
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..regularizers import Penalty, ReweightedL1
from ..train import History
from .ista import SoftThresholdStep, TrainResult, fit_penalised, penalised_parameters


class RefreshWeights:
    r"""Callback: refresh :math:`\lambda_{ij} = \lambda/(|W_{ij}|+\epsilon)` every few epochs.

    The factors :math:`w_{ij} = 1/(|W_{ij}|+\epsilon)` are stored in
    ``penalty.weights_[p]``, where the soft-threshold step reads them (or, for
    :class:`~nnprune.algorithms.IRLSPenalty`, its weighted-L2 gradient).

    Parameters
    ----------
    penalty : ReweightedL1 or IRLSPenalty
        Any penalty with the ``weights_`` dict and ``eps`` of these two.
    params : list of Parameter
    refresh_every : int
        Refresh after epochs ``refresh_every - 1``, ``2 * refresh_every - 1``, ...
    """

    def __init__(self, penalty: Penalty, params: list[Parameter], refresh_every: int) -> None:
        self.penalty = penalty
        self.params = params
        self.refresh_every = check_positive_int("refresh_every", refresh_every)
        self.refreshed_epochs_: list[int] = []

    def on_epoch_end(self, epoch: int, history: History) -> None:
        if (epoch + 1) % self.refresh_every == 0:
            for p in self.params:  # w = 1 / (|W| + eps), so lambda_ij = lam * w
                self.penalty.weights_[p] = 1.0 / (get_xp(p.data).abs(p.data) + self.penalty.eps)
            self.refreshed_epochs_.append(epoch)


def reweighted_l1_train(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    eps: float = 1e-3,
    refresh_every: int = 1,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    params: Any = None,
    callbacks: Iterable[Any] = (),
    **fit_kwargs: Any,
) -> TrainResult:
    r"""Train with reweighted L1, :math:`\sum \lambda_{ij}|W_{ij}|`, by proximal steps.

    Parameters
    ----------
    model, loss_fn, optimizer, train, val
        As in :func:`nnprune.train.fit` (plain SGD without momentum: proximal SGD).
    lam : float
        :math:`\lambda \ge 0`.
    eps : float, default 1e-3
        :math:`\epsilon > 0`; weights well above it are barely penalised after a refresh.
    refresh_every : int, default 1
        Epochs between refreshes of :math:`\lambda_{ij}` (the first epochs use plain L1).
    epochs, batch_size, seed, params, callbacks, **fit_kwargs
        As in :func:`nnprune.algorithms.ista_train`.

    Returns
    -------
    TrainResult
        ``(history, zero_fraction, penalty)``; ``penalty.weights_[p]`` holds
        :math:`1/(|W^{(t)}|+\epsilon)` of the last refresh (multiply by ``lam`` for
        :math:`\lambda_{ij}`).

    Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls)
    """
    penalty = ReweightedL1(lam, eps=eps)
    plist = penalised_parameters(model, params)
    # After every optimizer.step() (V = W - eta*grad): W = sign(V) * max(|V| - eta*lam*w, 0);
    # every refresh_every epochs: w = 1 / (|W| + eps).
    prox = SoftThresholdStep(lam, plist, optimizer, strength=penalty.weights_for)
    refresh = RefreshWeights(penalty, plist, refresh_every)
    return fit_penalised(
        model,
        loss_fn,
        optimizer,
        train,
        val,
        penalty,
        plist,
        [prox, refresh, *callbacks],
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )


__all__ = ["RefreshWeights", "reweighted_l1_train"]
