r"""The pruning loop of book §5.1, one readable function per step.

The book names seven steps::

    initialise -> forward -> backward -> decide -> update -> retrain -> evaluate

Here they are:

* **initialise**: a trained model and the targets (which weights, which sparsity);
* **forward / backward**: :func:`forward_backward` fills every ``param.grad`` on
  one batch (gradient criteria need it; plain training does it inside ``fit``);
* **decide**: :func:`decide` sets the masks (magnitude, random, or your scores);
* **update**: :func:`update` is one optimiser step; the optimiser masks the
  gradient and re-applies the mask, so pruned weights stay exactly zero
  (the book's §5.3 loop forgets this: see docs/errata.md#s5-3);
* **retrain**: :func:`retrain`, SGD with momentum over the trainable parameters,
  optionally with frozen layers (§5.2, "partial retraining");
* **evaluate**: :func:`evaluate`, loss and accuracy on held-out data.

:func:`prune_retrain` chains them: one-shot (``rounds=1``) or iterative
(``rounds > 1``, each round removes the same fraction of the survivors,
:func:`~nnprune.pipeline.iterative_sparsities`). Retraining uses a lowered
learning rate, ``lr * lr_factor`` (Han et al. 2015 retrain with 1/10 of the
original rate for LeNets).

Which weights: by default every prunable weight (``prunable_names(model)``).
To leave the output layer dense, pass ``layers=prunable_names(model)[:-1]``.

S. Han, J. Pool, J. Tran, W. J. Dally, *Learning both Weights and Connections
for Efficient Neural Networks*, NeurIPS 2015.

Book: §5.1 (the loop), §5.2 (learning rate, frozen layers).
"""

from __future__ import annotations

import fnmatch
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim, prune
from ..backend import to_backend, to_numpy
from ..checks import check_int, check_sparsity
from ..nn.module import Module
from ..train import History, fit
from ..train import evaluate as _evaluate
from ._select import (
    CRITERIA,
    SCOPES,
    Importance,
    check_criterion,
    pruned_count,
    select,
    selected_parameters,
    weight_sparsity,
)
from .schedules import iterative_sparsities

STEPS = ("initialise", "forward", "backward", "decide", "update", "retrain", "evaluate")


def decide(
    model: Module,
    sparsity: float,
    criterion: str = "magnitude",
    scope: str = "global",
    layers: Sequence[str] | None = None,
    *,
    scores: dict[str, Any] | None = None,
    seed: int | None = 0,
) -> dict[str, float]:
    r"""Step *decide*: set masks so that exactly ``round(sparsity * n)`` weights are pruned.

    ``scope="global"`` ranks all selected weights together (:math:`n` = their
    total); ``scope="layer"`` prunes each weight tensor to ``sparsity`` on its
    own. Masks only grow: weights already pruned stay pruned, and the new
    count is pruned among the survivors:

    .. math::

        k = \operatorname{round}(s\,n) - n_\text{pruned},\qquad
        \text{prune the } k \text{ kept } w_i \text{ of smallest } |w_i|
        \ (\text{or } |\text{scores}_i|, \text{ or at random}).

    Parameters
    ----------
    model : Module
    sparsity : float in [0, 1)
        Target fraction of zeros among the selected weights.
    criterion : {"magnitude", "random"}
        Ranking; ``scores`` (below) replaces the weights for ``"magnitude"``.
    scope : {"global", "layer"}
    layers : list of str, optional
        Weights to prune (see :func:`select`); default all prunable weights.
    scores : dict, optional
        ``{dotted name: array of the weight's shape}``, one per selected weight:
        importance scores, ranked by absolute value (e.g.
        :math:`|w \cdot \partial L/\partial w|`). The magnitude criterion is
        :func:`nnprune.prune.to_sparsity` on the selected weights.
    seed : int, optional
        For ``criterion="random"``.

    Returns
    -------
    dict
        ``{dotted name: sparsity of its mask}`` after the step.

    Book: §5.1 (decide), §3.1 (global vs layer-wise).
    """
    sparsity = check_sparsity("sparsity", sparsity)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
    targets = select(model, layers)
    params = selected_parameters(model, layers)
    if criterion == "magnitude":
        given = None if not scores else {n: np.abs(to_numpy(s)) for n, s in scores.items()}
        prune.to_sparsity(model, sparsity, given, scope, names=list(targets))
    else:
        groups = [list(targets)] if scope == "global" else [[n] for n in targets]
        counts = []
        for group in groups:
            total = sum(params[n].size for n in group)
            already = sum(pruned_count(params[n]) for n in group)
            k = prune.sparsity_to_count(sparsity, total) - already
            if k < 0:
                raise ValueError(
                    f"sparsity={sparsity} is below the current sparsity {already / total:.4f} "
                    f"of {group if len(group) > 1 else group[0]}; masks only grow"
                )
            counts.append(k)
        for group, k in zip(groups, counts, strict=True):
            pairs = [targets[n] for n in group]
            prune.global_unstructured(pairs, prune.RandomUnstructured, amount=k, seed=seed)
    return {n: pruned_count(p) / p.size for n, p in params.items()}


def forward_backward(model: Module, data: tuple[Any, Any], loss_fn: Module | None = None) -> float:
    """Steps *forward* and *backward* on one batch: zero, then fill every ``param.grad``.

    Returns the loss. The gradients are dense (pruned entries included), as
    gradient criteria need them.

    Book: §5.1 (forward, backward), §1.1.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    X, y = data
    model.zero_grad()
    out = model.forward(to_backend(X, model.backend))
    loss = loss_fn.forward(out, to_backend(y, model.backend))
    model.backward(loss_fn.backward())
    return float(loss)


def update(optimizer: optim.Optimizer) -> None:
    """Step *update*: one optimiser step; masked weights stay exactly zero (mask invariant).

    Book: §5.1 (update), §5.3 (corrected, see docs/errata.md#s5-3).
    """
    optimizer.step()


def _frozen_names(model: Module, freeze: Sequence[str] | None, layers: Sequence[str] | None):
    names = [n for n, _ in model.named_parameters()]
    frozen: set[str] = set()
    for pattern in freeze or ():
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern) or n.startswith(pattern + ".")]
        if not hits:
            raise ValueError(f"freeze pattern {pattern!r} matches no parameter; they are {names}")
        frozen.update(hits)
    if layers is not None:
        keep: set[str] = set()
        for layer in layers:
            hits = [n for n in names if n == layer or n.rpartition(".")[0] == layer]
            if not hits:
                raise ValueError(f"unknown layer names [{layer!r}]; parameters are {names}")
            keep.update(hits)
        frozen.update(n for n in names if n not in keep)
    return frozen


def retrain(
    model: Module,
    splits: Any,
    epochs: int,
    lr: float,
    *,
    momentum: float = 0.9,
    freeze: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    callbacks: Sequence[Any] = (),
) -> History:
    """Step *retrain*: SGD with momentum on the trainable parameters; masks are kept.

    Parameters
    ----------
    model : Module
    splits : Splits
        ``splits.train`` is trained on, ``splits.val`` monitored.
    epochs : int
        0 returns an empty ``History`` (no retraining).
    lr : float
        Learning rate (already lowered by the caller if wanted).
    freeze : list of str, optional
        Parameter-name patterns (``fnmatch``, or a module prefix such as ``"0"``)
        to keep fixed: ``requires_grad`` is set to False during retraining and
        restored afterwards.
    layers : list of str, optional
        Retrain only these parameters or modules; every other one is frozen.
    seed : int
        Seeds the batch order.

    Book: §5.1 (retrain), §5.2 (full, partial and frozen-layer retraining).
    """
    check_int("epochs", epochs, minimum=0)
    if epochs == 0:
        return History()
    frozen = _frozen_names(model, freeze, layers)
    params = dict(model.named_parameters())
    if len(frozen) == len(params):
        raise ValueError("every parameter is frozen; nothing to retrain")
    saved = {n: p.requires_grad for n, p in params.items()}
    try:
        for n in frozen:
            params[n].requires_grad = False
        opt = optim.SGD([p for p in params.values() if p.requires_grad], lr=lr, momentum=momentum)
        return fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            splits.train,
            splits.val,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            callbacks=callbacks,
            progress=False,
        )
    finally:
        for n, flag in saved.items():
            params[n].requires_grad = flag


def evaluate(model: Module, data: tuple[Any, Any]) -> tuple[float, float]:
    """Step *evaluate*: cross-entropy loss and accuracy on ``data`` (eval mode).

    Book: §5.1 (evaluate), §1.3.
    """
    loss, acc = _evaluate(model, nn.CrossEntropyLoss(), data)
    return float(loss), float(acc)


@dataclass
class RoundResult:
    """One decide-retrain-evaluate round of :func:`prune_retrain`."""

    round: int
    target_sparsity: float
    sparsity: float
    accuracy_pruned: float
    accuracy_retrained: float
    loss_retrained: float
    history: History = field(repr=False)


@dataclass
class PipelineResult:
    """What :func:`prune_retrain` measured: the dense baseline and every round (test set)."""

    baseline_accuracy: float
    rounds: list[RoundResult]

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy_retrained

    @property
    def final_sparsity(self) -> float:
        return self.rounds[-1].sparsity

    def table(self) -> list[dict[str, Any]]:
        """Rows for :func:`nnprune.report.format_table`."""
        return [{k: v for k, v in vars(r).items() if k != "history"} for r in self.rounds]


def prune_retrain(
    model: Module,
    splits: Any,
    *,
    sparsity: float,
    rounds: int = 1,
    retrain_epochs: int = 2,
    lr: float = 0.05,
    lr_factor: float = 0.1,
    momentum: float = 0.9,
    criterion: str | Importance = "magnitude",
    scope: str = "global",
    layers: Sequence[str] | None = None,
    freeze: Sequence[str] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    log: Callable[[str, str], None] | None = None,
) -> PipelineResult:
    r"""Prune a trained ``model`` to ``sparsity`` in ``rounds`` decide-retrain rounds.

    Round :math:`r` prunes to :math:`s_r = 1 - (1 - s)^{r/R}` (``rounds=1``:
    one-shot), then retrains ``retrain_epochs`` epochs at ``lr * lr_factor``,
    evaluating on ``splits.test`` before and after retraining.

    Parameters
    ----------
    model : Module
        Trained; pruned in place.
    splits : Splits
        ``(train, val, test)``.
    sparsity : float in [0, 1)
        Final fraction of zeros among the selected weights.
    rounds : int >= 1
    retrain_epochs : int >= 0
    lr, lr_factor : float
        The original learning rate and the factor applied for retraining.
    criterion : {"magnitude", "random"} or callable
        A callable ``(model, splits) -> {dotted name: scores}`` is called once
        per round (its forward and backward passes are the book's steps 2-3)
        and its scores are ranked by magnitude.
    scope : {"global", "layer"}
    layers : list of str, optional
        Weights to prune; ``prunable_names(model)[:-1]`` leaves the output layer dense.
    freeze : list of str, optional
        Parameter patterns kept fixed while retraining (see :func:`retrain`).
    log : callable, optional
        ``log(step, message)`` is called at every named step (e.g. ``print``-like).

    Returns
    -------
    PipelineResult

    Book: §5.1 (one-shot and iterative prune-retrain), §5.2.
    """
    sparsity = check_sparsity("sparsity", sparsity)
    targets = iterative_sparsities(sparsity, rounds)
    criterion = check_criterion(criterion)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
    if not (isinstance(lr_factor, numbers.Real) and math.isfinite(lr_factor) and lr_factor > 0):
        raise ValueError(f"lr_factor must be a positive number, got {lr_factor!r}")
    select(model, layers)
    _frozen_names(model, freeze, None)
    say = log or (lambda step, message: None)

    _, baseline = evaluate(model, splits.test)
    say("initialise", f"trained model, test accuracy {baseline:.4f}; targets {targets}")
    results = []
    for r, target in enumerate(targets, start=1):
        scores, method = None, criterion
        if callable(criterion):
            say("forward", f"round {r}: importance scores from {criterion.__name__}")
            scores, method = criterion(model, splits), "magnitude"
            say("backward", f"round {r}: gradients used for {len(scores)} scores")
        decide(model, target, method, scope, layers, scores=scores, seed=seed + r)
        achieved = weight_sparsity(model, layers)
        _, acc_pruned = evaluate(model, splits.test)
        say("decide", f"round {r}: sparsity {achieved:.4f}, accuracy {acc_pruned:.4f}")
        say("update", "masks set; the optimiser keeps pruned weights at zero")
        history = retrain(
            model,
            splits,
            retrain_epochs,
            lr * lr_factor,
            momentum=momentum,
            freeze=freeze,
            batch_size=batch_size,
            seed=seed + r,
        )
        say("retrain", f"round {r}: {len(history)} epochs at lr {lr * lr_factor:g}")
        loss, acc = evaluate(model, splits.test)
        say("evaluate", f"round {r}: test accuracy {acc:.4f}")
        results.append(
            RoundResult(r, target, weight_sparsity(model, layers), acc_pruned, acc, loss, history)
        )
    return PipelineResult(baseline, results)
