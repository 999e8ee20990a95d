r"""Gradient-sensitivity pruning as loops: the book's iterative GSP, and AGSP/GSAP sweeps.

**Iterative GSP** (:func:`gsp_iterative_prune`). The book's §4.3 loop repeats: compute
:math:`\partial J/\partial W`, prune the weight of minimum gradient, update the weights.
Corrected (see docs/errata.md#s4-3-gsp): the score is the gradient **magnitude**
accumulated over batches, :math:`s_i = \frac1B\sum_b|g_i^{(b)}|` (or AGSP's
:math:`\frac1B\sum_b|w_i g_i^{(b)}|`), and each step prunes a fraction instead of one
weight, to the schedule :math:`s_t = 1 - (1 - s)^{t/T}` (each step removes the same
share of the survivors). Between steps the weights are optionally retrained with the
masks fixed (the book's "update"), and the scores are recomputed at the new weights:

.. code-block:: text

    for t in 1..T:
        s = mean over batches of |dJ/dW|      # at the current, masked W
        prune the lowest s to sparsity s_t    # masks only grow
        retrain a few epochs (masks kept)     # optional

**Sweeps.** :func:`saliency_sweep` prunes copies of one trained model to several
sparsities by a weight criterion (``"gsp"``, ``"agsp"``, and the controls
``"magnitude"`` and ``"random"``), each followed by the same retraining;
:func:`gsap_sweep` does the same for units of one layer (``"gsap"``, Molchanov et al.
2017's :math:`|z\,\partial J/\partial z|`, against ``"l1"`` filter norms, Li et al.
2017, and ``"random"``), removing them physically. Equal budgets: every row of a
sweep starts from the same weights and retrains with the same epochs, learning rate
and seed.

References: Molchanov, Tyree, Karras, Aila & Kautz, ICLR 2017; Molchanov, Mallya,
Tyree, Frosio & Kautz, CVPR 2019; Li, Kadav, Durdanovic, Samet & Graf, ICLR 2017.

Book: §4.3 GSP, AGSP, GSAP (corrected, see docs/errata.md#s4-3-gsp, #s4-3-agsp, #s4-3-gsap)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import optim
from ..checks import (
    check_nonnegative_int,
    check_one_of,
    check_positive_int,
    check_sgd,
    check_sparsity,
)
from ..nn.module import Module
from ..prune import prune_units, to_sparsity
from ..saliency import agsp_scores, gsap_scores, gsp_scores
from ..train import History, fit
from ..train import evaluate as _evaluate
from ._select import select, weight_sparsity
from .schedules import iterative_sparsities

__all__ = ["GSPResult", "gsap_sweep", "gsp_iterative_prune", "saliency_sweep"]

WEIGHT_CRITERIA = ("gsp", "agsp", "magnitude", "random")
UNIT_CRITERIA = ("gsap", "l1", "random")


@dataclass
class GSPResult:
    """What :func:`gsp_iterative_prune` returns.

    Attributes
    ----------
    targets : list of float
        The sparsity of each step's schedule.
    sparsities : list of float
        Fraction of zeros of the selected weights after each step.
    losses, accuracies : list of float
        On ``val`` (or the training data) after each step, after its retraining.
    histories : list of History
        Each step's retraining (empty when ``retrain_epochs == 0``).
    """

    targets: list[float] = field(default_factory=list)
    sparsities: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    accuracies: list[float | None] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)


def _weight_scores(method, model, loss_fn, data, batch_size, n_batches, seed):
    if method == "gsp":
        return gsp_scores(model, loss_fn, data, batch_size=batch_size, n_batches=n_batches)
    if method == "agsp":
        return agsp_scores(model, loss_fn, data, batch_size=batch_size, n_batches=n_batches)
    if method == "magnitude":
        return None
    rng = np.random.default_rng(seed)
    return {t.name: rng.random(t.param.shape) for t in model.prunable_parameters()}


def _retrain(model, loss_fn, train, val, epochs, lr, momentum, batch_size, seed) -> History:
    if epochs == 0:
        return History()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return fit(
        model,
        loss_fn,
        opt,
        train,
        val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )


def gsp_iterative_prune(
    model: Module,
    loss_fn: Module,
    data: tuple[Any, Any],
    sparsity: float,
    steps: int,
    *,
    criterion: str = "gsp",
    val: tuple[Any, Any] | None = None,
    layers: Sequence[str] | None = None,
    scope: str = "global",
    score_batch_size: int | None = 64,
    n_batches: int | None = None,
    retrain_epochs: int = 1,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
) -> GSPResult:
    r"""The book's iterative GSP loop, corrected: score by |gradient|, prune a share, retrain.

    Parameters
    ----------
    model : Module
        Trained; pruned in place (masks only grow, so it may already be pruned lower).
    loss_fn : Module
    data : (X, y)
        Training data: scores are accumulated over its batches, and retraining uses it.
    sparsity : float in [0, 1)
        Final fraction of zeros among the selected weights.
    steps : int >= 1
        Number of score-prune(-retrain) steps; step ``t`` prunes to
        :math:`1 - (1 - s)^{t/T}`.
    criterion : {"gsp", "agsp", "magnitude", "random"}, default "gsp"
        ``"gsp"`` :math:`\frac1B\sum_b|g|`; ``"agsp"`` :math:`\frac1B\sum_b|w g|`;
        the other two are controls.
    val : (X, y), optional
        Evaluated after each step (default: ``data``).
    layers : list of str, optional
        Weights to prune (qualified names or module prefixes); default all prunable.
    scope : {"global", "layer"}, default "global"
    score_batch_size : int or None, default 64
        Batch size of the score accumulation (None: one batch of everything).
    n_batches : int, optional
        Only the first ``n_batches`` batches are scored (default all).
    retrain_epochs : int >= 0, default 1
        SGD epochs after each step (0: prune only, the book's loop without "update").
    lr, momentum, batch_size, seed
        Retraining settings (step ``t`` shuffles with ``seed + t``).

    Returns
    -------
    GSPResult

    Book: §4.3 GSP (corrected, see docs/errata.md#s4-3-gsp)
    """
    sparsity = check_sparsity("sparsity", sparsity)
    steps = check_positive_int("steps", steps)
    criterion = check_one_of("criterion", criterion, WEIGHT_CRITERIA)
    scope = check_one_of("scope", scope, ("global", "layer"))
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    lr, momentum, batch_size = check_sgd(lr, momentum, batch_size)
    names = list(select(model, layers))
    result = GSPResult(targets=iterative_sparsities(sparsity, steps))
    for t, target in enumerate(result.targets, start=1):
        scores = _weight_scores(
            criterion, model, loss_fn, data, score_batch_size, n_batches, seed + t
        )
        if scores is not None:
            scores = {n: scores[n] for n in names}
        to_sparsity(model, target, scores, scope, names=names)
        history = _retrain(
            model, loss_fn, data, val, retrain_epochs, lr, momentum, batch_size, seed + t
        )
        loss, acc = _evaluate(model, loss_fn, data if val is None else val)
        result.sparsities.append(weight_sparsity(model, layers))
        result.losses.append(float(loss))
        result.accuracies.append(acc)
        result.histories.append(history)
    return result


def saliency_sweep(
    model: Module,
    loss_fn: Module,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    sparsities: Sequence[float],
    *,
    criterion: str = "agsp",
    steps: int = 1,
    layers: Sequence[str] | None = None,
    scope: str = "global",
    score_batch_size: int | None = 64,
    n_batches: int | None = None,
    retrain_epochs: int = 2,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    r"""Prune copies of a trained model to each sparsity by a weight criterion, then retrain.

    For each sparsity :math:`s`: copy ``model``; run :func:`gsp_iterative_prune` with
    ``steps`` steps and no retraining between them (``steps=1``: one-shot); evaluate
    on ``test``; retrain ``retrain_epochs`` epochs (masks kept); evaluate again. The
    same call with ``criterion="magnitude"`` or ``"random"`` gives the equal-budget
    controls.

    Parameters
    ----------
    model : Module
        Trained; not changed.
    loss_fn, train, test
    sparsities : sequence of float in [0, 1)
    criterion : {"gsp", "agsp", "magnitude", "random"}, default "agsp"
    steps : int >= 1, default 1
        Score-prune steps per sparsity (scores recomputed at the masked weights).
    layers, scope, score_batch_size, n_batches
        As in :func:`gsp_iterative_prune`.
    retrain_epochs, lr, momentum, batch_size, seed
        The retraining after pruning, the same for every row.

    Returns
    -------
    list of dict
        One per sparsity: ``criterion``, ``sparsity`` (achieved), ``acc_pruned`` and
        ``loss_pruned`` (before retraining), ``acc`` and ``loss`` (after).

    Book: §4.3 AGSP, GSP (corrected, see docs/errata.md#s4-3-agsp)
    """
    criterion = check_one_of("criterion", criterion, WEIGHT_CRITERIA)
    targets = [check_sparsity("sparsities", s) for s in sparsities]
    if not targets:
        raise ValueError("sparsities must list at least one sparsity, got []")
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    rows = []
    for s in targets:
        m = copy.deepcopy(model)
        gsp_iterative_prune(
            m,
            loss_fn,
            train,
            s,
            steps,
            criterion=criterion,
            layers=layers,
            scope=scope,
            score_batch_size=score_batch_size,
            n_batches=n_batches,
            retrain_epochs=0,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            seed=seed,
        )
        loss_p, acc_p = _evaluate(m, loss_fn, test)
        _retrain(m, loss_fn, train, None, retrain_epochs, lr, momentum, batch_size, seed)
        loss, acc = _evaluate(m, loss_fn, test)
        rows.append(
            {
                "criterion": criterion,
                "sparsity": weight_sparsity(m, layers),
                "acc_pruned": acc_p,
                "loss_pruned": float(loss_p),
                "acc": acc,
                "loss": float(loss),
            }
        )
    return rows


def gsap_sweep(
    model: Module,
    loss_fn: Module,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    layers: str | Sequence[str],
    amounts: Sequence[float],
    *,
    criterion: str = "gsap",
    input_shape: tuple[int, ...] | None = None,
    score_batch_size: int | None = 64,
    n_batches: int | None = None,
    retrain_epochs: int = 2,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    r"""Remove a fraction of the units of ``layers`` from copies of a model, then retrain.

    For each fraction: copy ``model``; for each layer in order, score its units
    (``"gsap"``: :func:`nnprune.saliency.gsap_scores`, recomputed after the previous
    layer's removal; ``"l1"``: filter/row L1 norms; ``"random"``: seeded) and remove the
    lowest physically (:func:`nnprune.prune.prune_units`); evaluate; retrain; evaluate.

    Parameters
    ----------
    model : Sequential
        Trained; not changed.
    loss_fn, train, test
    layers : str or list of str
        Hidden ``Linear``/``Conv2d`` layers (dotted names).
    amounts : sequence of float in [0, 1)
        Fraction of each layer's units to remove.
    criterion : {"gsap", "l1", "random"}, default "gsap"
    input_shape : tuple, optional
        One sample's shape (default ``train[0].shape[1:]``), for ``Flatten``.
    score_batch_size, n_batches
        Batches of the GSAP score.
    retrain_epochs, lr, momentum, batch_size, seed
        The same retraining for every row.

    Returns
    -------
    list of dict
        One per fraction: ``criterion``, ``amount``, ``params`` (after removal),
        ``acc_pruned``, ``loss_pruned``, ``acc``, ``loss``.

    Book: §4.3 GSAP (corrected, see docs/errata.md#s4-3-gsap)
    """
    criterion = check_one_of("criterion", criterion, UNIT_CRITERIA)
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("layers must name at least one layer, got []")
    fractions = [check_sparsity("amounts", a) for a in amounts]
    if not fractions:
        raise ValueError("amounts must list at least one fraction, got []")
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    shape = tuple(train[0].shape[1:]) if input_shape is None else tuple(input_shape)
    rows = []
    for a in fractions:
        m = copy.deepcopy(model)
        for name in names:
            if criterion == "gsap":
                crit: Any = gsap_scores(
                    m, loss_fn, train, name, batch_size=score_batch_size, n_batches=n_batches
                )
            else:
                crit = criterion
            prune_units(m, name, a, criterion=crit, input_shape=shape, seed=seed)
        loss_p, acc_p = _evaluate(m, loss_fn, test)
        _retrain(m, loss_fn, train, None, retrain_epochs, lr, momentum, batch_size, seed)
        loss, acc = _evaluate(m, loss_fn, test)
        rows.append(
            {
                "criterion": criterion,
                "amount": a,
                "params": m.num_parameters(),
                "acc_pruned": acc_p,
                "loss_pruned": float(loss_p),
                "acc": acc,
                "loss": float(loss),
            }
        )
    return rows
