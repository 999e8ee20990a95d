r"""Lottery tickets: iterative magnitude pruning with rewinding, and the random re-init control.

Frankle & Carbin's procedure (IMP): train from :math:`\theta_0`, prune a
fraction :math:`p` of the surviving weights of each layer by magnitude, reset
the survivors to their values in :math:`\theta_0`, train again, repeat. For
a final sparsity :math:`P` in :math:`n` rounds each round prunes

.. math::

    p = 1 - (1 - P)^{1/n}, \qquad s_r = 1 - (1 - p)^{r},

and the output layer at half that rate, as in the paper (20% / 10% per
round for LeNet-300-100). Rewinding (Frankle et al. 2020) resets to the
weights :math:`\theta_k` after :math:`k` epochs instead of :math:`\theta_0`.
The control (:func:`random_reinit_control`) trains the same masks from a
fresh random initialisation: a winning ticket should beat it.

J. Frankle, M. Carbin, *The Lottery Ticket Hypothesis: Finding Sparse,
Trainable Neural Networks*, ICLR 2019. J. Frankle, G. K. Dziugaite, D. M. Roy,
M. Carbin, *Linear Mode Connectivity and the Lottery Ticket Hypothesis*, ICML 2020.

Book: §8 (lottery tickets and rewinding).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import prune
from ..backend import to_numpy
from ..checks import check_fraction, check_int, check_positive_int, check_sparsity
from ..nn.module import MASK_SUFFIX, Module
from ..train import History
from ._select import SCOPES, pruned_count, select, selected_parameters
from .loop import decide, evaluate, retrain

BuildModel = Callable[[int], Module]


@dataclass
class LotteryRound:
    """One IMP round: masks, sparsity and the accuracy of the retrained ticket."""

    round: int
    sparsity: float
    layer_sparsity: dict[str, float]
    val_accuracy: float
    test_accuracy: float
    masks: dict[str, np.ndarray] = field(repr=False)
    start_state: dict[str, np.ndarray] = field(repr=False)
    history: History = field(repr=False)


@dataclass
class LotteryResult:
    """Round 0 is the dense network; ``model`` is the last ticket, trained."""

    rounds: list[LotteryRound]
    initial_state: dict[str, np.ndarray] = field(repr=False)
    rewind_state: dict[str, np.ndarray] = field(repr=False)
    model: Module = field(repr=False)

    def table(self) -> list[dict[str, Any]]:
        """Rows for :func:`nnprune.report.format_table`."""
        keys = ("round", "sparsity", "val_accuracy", "test_accuracy")
        return [{k: getattr(r, k) for k in keys} for r in self.rounds]


@dataclass
class ControlResult:
    """The same masks trained from a fresh random initialisation."""

    sparsity: float
    val_accuracy: float
    test_accuracy: float
    masks: dict[str, np.ndarray] = field(repr=False)
    initial_state: dict[str, np.ndarray] = field(repr=False)
    model: Module = field(repr=False)


class _Snapshot:
    """``on_epoch_end`` callback keeping the state after epoch ``epoch`` (1-based)."""

    def __init__(self, model: Module, epoch: int) -> None:
        self.model, self.epoch, self.state = model, epoch, None

    def on_epoch_end(self, epoch: int, history: History) -> None:
        if epoch + 1 == self.epoch:
            self.state = self.model.state_dict()


def _build(build_model: BuildModel, seed: int) -> Module:
    model = build_model(seed)
    if not isinstance(model, Module):
        raise TypeError(f"build_model(seed) must return an nnprune Module, got {type(model)}")
    return model


def _masks(model: Module) -> dict[str, np.ndarray]:
    return {n: to_numpy(p.mask).copy() for n, p in model.named_parameters() if p.mask is not None}


def _record(r: int, model: Module, splits: Any, start: dict, history: History) -> LotteryRound:
    chosen = selected_parameters(model)
    params, names = list(chosen.values()), list(chosen)
    _, val_acc = evaluate(model, splits.val)
    _, test_acc = evaluate(model, splits.test)
    return LotteryRound(
        round=r,
        sparsity=sum(pruned_count(p) for p in params) / sum(p.size for p in params),
        layer_sparsity={n: pruned_count(p) / p.size for n, p in zip(names, params, strict=True)},
        val_accuracy=val_acc,
        test_accuracy=test_acc,
        masks=_masks(model),
        start_state=start,
        history=history,
    )


def lottery_ticket(
    build_model: BuildModel,
    splits: Any,
    *,
    final_sparsity: float,
    rounds: int,
    epochs: int,
    lr: float,
    momentum: float = 0.9,
    rewind_epoch: int = 0,
    output_rate: float = 0.5,
    scope: str = "layer",
    batch_size: int = 64,
    seed: int = 0,
) -> LotteryResult:
    r"""Find a winning ticket by iterative magnitude pruning with rewinding.

    Parameters
    ----------
    build_model : callable
        ``build_model(seed) -> Module``: a fresh, untrained model (e.g.
        ``lambda s: mlp((64, 300, 100, 10), seed=s)``); called once with ``seed``.
    splits : Splits
        Train on ``splits.train`` (pass a subset for speed), report ``val`` and ``test``.
    final_sparsity : float in [0, 1)
        :math:`P`, reached by the hidden layers after the last round.
    rounds : int >= 1
        :math:`n` prune-rewind-train rounds (after the dense round 0).
    epochs : int >= 1
        Training epochs per round.
    lr, momentum : float
        SGD settings, the same in every round.
    rewind_epoch : int, default 0
        0 resets the survivors to :math:`\theta_0`; :math:`k` to the weights
        after :math:`k` epochs of the dense run (``0 <= k <= epochs``).
    output_rate : float in (0, 1], default 0.5
        With ``scope="layer"``, the last prunable weight (the output layer) is
        pruned at ``output_rate * p`` per round.
    scope : {"layer", "global"}, default "layer"
        Per-layer rates (Frankle & Carbin 2019) or one global magnitude
        ranking (Frankle et al. 2020).

    Returns
    -------
    LotteryResult
        ``rounds[0]`` is the dense network, ``rounds[r]`` the ticket of round ``r``.

    Book: §8 (lottery tickets)
    """
    final_sparsity = check_sparsity("final_sparsity", final_sparsity)
    for name, value, low in (("rounds", rounds, 1), ("epochs", epochs, 1)):
        check_int(name, value, minimum=low)
    ok = isinstance(rewind_epoch, numbers.Integral) and not isinstance(rewind_epoch, bool)
    if not ok or not 0 <= rewind_epoch <= epochs:
        raise ValueError(
            f"rewind_epoch must be an integer in [0, epochs={epochs}], got {rewind_epoch!r}"
        )
    check_fraction("output_rate", output_rate, low_inclusive=False, high_inclusive=True)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {list(SCOPES)}, got {scope!r}")

    model = _build(build_model, seed)
    initial = model.state_dict()
    snapshot = _Snapshot(model, rewind_epoch)
    history = retrain(
        model,
        splits,
        epochs,
        lr,
        momentum=momentum,
        batch_size=batch_size,
        seed=seed,
        callbacks=[snapshot],
    )
    rewind = initial if rewind_epoch == 0 else snapshot.state
    results = [_record(0, model, splits, initial, history)]

    rate = 1.0 - (1.0 - final_sparsity) ** (1.0 / rounds)
    names = list(select(model))
    for r in range(1, rounds + 1):
        if scope == "global":
            decide(model, 1.0 - (1.0 - rate) ** r, "magnitude", "global")
        else:
            decide(model, 1.0 - (1.0 - rate) ** r, "magnitude", "layer", names[:-1] or names)
            if len(names) > 1:
                out_sparsity = 1.0 - (1.0 - output_rate * rate) ** r
                decide(model, out_sparsity, "magnitude", "layer", names[-1:])
        masks = _masks(model)
        state = {k: v for k, v in rewind.items() if not k.endswith(MASK_SUFFIX)}
        state.update({k + MASK_SUFFIX: m for k, m in masks.items()})
        model.load_state_dict(state)
        start = model.state_dict()
        history = retrain(
            model, splits, epochs, lr, momentum=momentum, batch_size=batch_size, seed=seed
        )
        results.append(_record(r, model, splits, start, history))
    return LotteryResult(results, initial, rewind, model)


def random_reinit_control(
    build_model: BuildModel,
    masks: dict[str, np.ndarray],
    splits: Any,
    *,
    epochs: int,
    lr: float,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 1,
) -> ControlResult:
    """Train ``masks`` from a fresh random initialisation ``build_model(seed)``.

    Use a ``seed`` different from the ticket's so that the initial weights
    differ; everything else (masks, epochs, optimiser) matches the ticket.

    Book: §8 (lottery tickets: the random re-initialisation control)
    """
    model = _build(build_model, seed)
    params = dict(model.named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks has unknown parameter names {unknown}; model has {list(params)}")
    for name, m in masks.items():
        mod_name, _, attr = name.rpartition(".")
        prune.custom_from_mask(model.get_submodule(mod_name), attr, np.asarray(m, dtype=bool))
    initial = model.state_dict()
    # fit's check, kept before training: retrain would accept epochs=0 (no training).
    check_positive_int("epochs", epochs)
    retrain(model, splits, epochs, lr, momentum=momentum, batch_size=batch_size, seed=seed)
    weights = list(selected_parameters(model).values())
    _, val_acc = evaluate(model, splits.val)
    _, test_acc = evaluate(model, splits.test)
    sparsity = sum(pruned_count(p) for p in weights) / sum(p.size for p in weights)
    return ControlResult(sparsity, val_acc, test_acc, _masks(model), initial, model)
