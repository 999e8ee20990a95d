r"""The studies of book §8 (summary and outlook) that the chapter-8 lesson calls, with their plots.

All on the digits MLP 64-300-100-10 (:func:`nnprune.models.mlp`), each a
function that trains, measures and returns rows (and a figure path):

* §8.1: :func:`nm_vs_unstructured` (2:4, Mishra et al. 2021), :func:`gradual_vs_one_shot`
  (Zhu & Gupta 2017), :func:`lottery` (Frankle & Carbin 2019; rewinding, Frankle et al. 2020);
* §8.2: :func:`dynamic_vs_static` (SET and RigL against static pruning, same sparsity and
  epochs) and :func:`surviving_inputs` (which input pixels keep connections);
* §8.3: :func:`shrunk_copy` (the structured alternative, a smaller dense model).

Book: §8.1–8.3.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn, optim, prune
from ..backend import to_numpy
from ..models import mlp
from ..pipeline import (
    SET,
    GradualPruning,
    PolynomialDecay,
    RigL,
    decide,
    evaluate,
    lottery_ticket,
    random_reinit_control,
    retrain,
    weight_sparsity,
)
from ..plots import trends as plots
from ..train import fit

MLP_SIZES = (64, 300, 100, 10)
LR, MOMENTUM, LR_FACTOR = 0.05, 0.9, 0.1  # retrain at 1/10 of the rate (Han et al.)
NM_LAYERS = ("0.weight", "2.weight")  # the hidden layers; the 10-way output stays dense
BATCH_SIZE = 64
PERCENT = ("sparsity", "masked", "zeros", "test_pruned", "test_retrained")
FORMATS = {k: "{:.2%}" for k in (*PERCENT, "val_accuracy", "test_accuracy")}
FORMATS |= {"ms_forward": "{:.3f}", "vs_dense": "{:.2f}x", "kB_disk": "{:.1f}", "bytes": "{:,}"}
FORMATS |= {"weight_updates": "{:.2f}x"}
Build = Callable[[int], nn.Module]


def build_mlp(seed: int, backend: str = "numpy") -> nn.Module:
    """The chapter's MLP 64-300-100-10, seeded, on ``backend``."""
    model = mlp(MLP_SIZES, seed=seed)
    return model if backend == "numpy" else model.to(backend)


def _steps(splits: Any, epochs: int) -> int:
    return epochs * -(-len(splits.train[1]) // BATCH_SIZE)


# --------------------------------------------------------------------------- §8.1


def nm_vs_unstructured(state: dict, splits: Any, epochs: int, seed: int, build: Build) -> dict:
    """2:4 and unstructured 50% on the hidden layers, both retrained the same way (test split)."""
    rows, models = [], {}
    for method in ("2:4 (N:M)", "unstructured 50%"):
        model = build(seed)
        model.load_state_dict(state)
        if method.startswith("2:4"):
            for name in NM_LAYERS:
                prune.nm_structured(model.get_submodule(name.split(".")[0]), "weight", 2, 4)
        else:
            decide(model, 0.5, "magnitude", "global", NM_LAYERS)
        acc_pruned = evaluate(model, splits.test)[1]
        retrain(model, splits, epochs, LR * LR_FACTOR, momentum=MOMENTUM, seed=seed)
        rows.append(
            {
                "method": method,
                "sparsity": weight_sparsity(model, NM_LAYERS),
                "test_pruned": acc_pruned,
                "test_retrained": evaluate(model, splits.test)[1],
            }
        )
        models[method] = model
    return {"rows": rows, "models": models}


def gradual_vs_one_shot(
    splits: Any, epochs: int, sparsity: float, seed: int, build: Build, out: str
) -> dict:
    """The same epochs, pruned gradually during training (cubic) or once halfway (test split)."""
    steps_per_epoch = -(-len(splits.train[1]) // BATCH_SIZE)
    frequency = 10
    begin = steps_per_epoch  # one dense epoch first
    end = begin + frequency * ((int(0.6 * epochs * steps_per_epoch) - begin) // frequency)
    schedule = PolynomialDecay(0.0, sparsity, begin, end, power=3, frequency=frequency)
    callback = GradualPruning(schedule)
    model = build(seed)
    retrain(model, splits, epochs, LR, momentum=MOMENTUM, seed=seed, callbacks=[callback])
    rows = [
        {
            "schedule": "gradual (cubic)",
            "epochs": f"{epochs}, pruning steps {begin}-{end}",
            "sparsity": weight_sparsity(model),
            "test_accuracy": evaluate(model, splits.test)[1],
        }
    ]
    model = build(seed)
    dense_epochs = epochs // 2
    retrain(model, splits, dense_epochs, LR, momentum=MOMENTUM, seed=seed)
    decide(model, sparsity, "magnitude", "global")
    retrain(model, splits, epochs - dense_epochs, LR * LR_FACTOR, momentum=MOMENTUM, seed=seed)
    rows.append(
        {
            "schedule": "one-shot + retrain",
            "epochs": f"{dense_epochs} dense + {epochs - dense_epochs} at lr x {LR_FACTOR}",
            "sparsity": weight_sparsity(model),
            "test_accuracy": evaluate(model, splits.test)[1],
        }
    )
    figure = plots.gradual_schedule(schedule, callback.history_, epochs * steps_per_epoch,
                                    sparsity, out)  # fmt: skip
    return {"rows": rows, "history": callback.history_, "figure": str(figure)}


def lottery(
    splits: Any, sparsity: float, epochs: int, rounds: int, seed: int, build: Build, out: str
) -> dict:
    """Rewinding to theta_0 (k=0) and theta_1 (k=1), and the random re-initialisation control."""
    tickets, rows = {}, []
    for k in (0, 1):
        res = lottery_ticket(
            build,
            splits,
            final_sparsity=sparsity,
            rounds=rounds,
            epochs=epochs,
            lr=LR,
            momentum=MOMENTUM,
            rewind_epoch=k,
            seed=seed,
        )
        tickets[k] = res
        # round 0 (the dense run) and the round-1 masks are the same for every k
        rows += [
            {"run": "dense" if r["round"] == 0 else f"ticket, rewind k={k}", **r}
            for r in res.table()
            if k == 0 or r["round"] > 0
        ]
    masks = [t.rounds[-1].masks for t in tickets.values()]
    same = all(np.array_equal(masks[0][n], masks[1][n]) for n in masks[0])
    for k, m in enumerate(masks[:1] if same else masks):
        ctrl = random_reinit_control(
            build, m, splits, epochs=epochs, lr=LR, momentum=MOMENTUM, seed=seed + 1
        )
        rows.append(
            {
                "run": "random re-init, " + ("same masks" if same else f"k={k} masks"),
                "round": rounds,
                "sparsity": ctrl.sparsity,
                "val_accuracy": ctrl.val_accuracy,
                "test_accuracy": ctrl.test_accuracy,
            }
        )
    return {"rows": rows, "tickets": tickets, "figure": plots.lottery(rows, out)}


# --------------------------------------------------------------------------- §8.2


class _ValCurve:
    """Records validation accuracy after every epoch (``fit`` already computes it)."""

    def __init__(self) -> None:
        self.acc: list[float] = []

    def on_epoch_end(self, epoch: int, history: Any) -> None:
        self.acc.append(history.val_accuracy[-1])


def _train(model: nn.Module, splits: Any, epochs: int, lr: float, seed: int, callbacks=()) -> list:
    curve = _ValCurve()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        splits.train,
        splits.val,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        seed=seed,
        callbacks=[*callbacks, curve],
        progress=False,
    )
    return curve.acc


def dynamic_vs_static(
    splits: Any,
    epochs: int,
    sparsity: float,
    seed: int,
    build: Build,
    out: str,
    *,
    update_every: int = 20,
    log: Callable[[str], None] = print,
) -> dict:
    """SET and RigL against static sparse training, all at ``sparsity`` for ``epochs`` epochs.

    Every method prunes the same weights (all ``Linear`` weights, each layer
    to ``sparsity``) and trains ``epochs`` epochs of SGD + momentum in total:

    * ``dense``: no pruning (the reference);
    * ``static random``: a random mask from the start, never changed;
    * ``static magnitude``: dense for half the epochs, layer-wise magnitude
      pruning, masked retraining for the other half at lr x 0.1;
    * ``SET`` / ``RigL``: a random mask from the start, pruned and regrown
      every ``update_every`` steps (:mod:`nnprune.pipeline.dynamic`).

    The same epochs are not the same budget: each row's ``dense_epochs`` (epochs in
    which every weight trains) and ``weight_updates`` (weights updated per step,
    averaged over training, relative to dense) say what it spent. ``static random``
    spends exactly what SET and RigL spend (RigL's dense gradient at each update
    aside): it is their equal-budget control; ``static magnitude`` spends more.

    Returns ``rows`` (val and test accuracy, sparsity, budget), per-epoch ``curves``
    of validation accuracy, the DST ``history`` and the trained ``models``.
    """
    steps = _steps(splits, epochs)
    rows, curves, models, history = [], {}, {}, {}
    for method in ("dense", "static random", "static magnitude", "SET", "RigL"):
        model = build(seed)
        dense_epochs = {"dense": epochs, "static magnitude": epochs // 2}.get(method, 0)
        if method == "static magnitude":
            half = epochs // 2
            curve = _train(model, splits, half, LR, seed)
            prune.to_sparsity(model, sparsity, scope="layer")
            curve += _train(model, splits, epochs - half, LR * LR_FACTOR, seed + 1)
        else:
            cbs = []
            if method != "dense":  # static random: SET's random start, never updated
                make = RigL if method == "RigL" else SET
                every = {"stop_fraction": 0.0} if method == "static random" else {
                    "update_every": update_every}  # fmt: skip
                cbs = [make(model, sparsity, total_steps=steps, distribution="uniform",
                            seed=seed, **every)]  # fmt: skip
            curve = _train(model, splits, epochs, LR, seed, cbs)
            if method in ("SET", "RigL"):
                history[method] = cbs[0].history_
        curves[method], models[method] = curve, model
        masks = [t.param.mask for t in model.prunable_parameters()]
        n = sum(t.param.size for t in model.prunable_parameters())
        rows.append(
            {
                "method": method,
                "dense_epochs": dense_epochs,
                "weight_updates": (dense_epochs + (epochs - dense_epochs) * (1 - sparsity))
                / epochs,
                "masked": 0.0 if masks[0] is None else 1 - sum(int(m.sum()) for m in masks) / n,
                "zeros": weight_sparsity(model),
                "val_accuracy": evaluate(model, splits.val)[1],
                "test_accuracy": evaluate(model, splits.test)[1],
            }
        )
        log(
            f"  trained {method:<16} {epochs} epochs, test accuracy {rows[-1]['test_accuracy']:.2%}"
        )
    figure = plots.dynamic_sparse_training(curves, history, sparsity, out)
    return {"rows": rows, "curves": curves, "history": history, "models": models, "figure": figure}


def surviving_inputs(models: dict[str, nn.Module], splits: Any, out: str) -> dict:
    """Interpretability: how many first-layer connections each of the 64 input pixels keeps.

    Returns ``kept`` (``{method: (8, 8) counts}``), ``constant`` (pixels with
    zero spread in the training set: they carry no information) and the figure.
    """
    kept = {
        m: (to_numpy(model[0].weight.data) != 0).sum(axis=0).reshape(8, 8)
        for m, model in models.items()
    }
    constant = splits.train[0].std(axis=0).reshape(8, 8) < 1e-6
    figure = plots.surviving_inputs(kept, constant, splits.train[0][0], int(splits.train[1][0]),
                                    MLP_SIZES[1], out)  # fmt: skip
    return {"kept": kept, "constant": constant, "figure": str(figure)}


# --------------------------------------------------------------------------- §8.3


def shrunk_copy(dense: nn.Module, splits: Any, seed: int, retrain_epochs: int) -> nn.Module:
    """A copy of ``dense`` with half of each hidden layer's units removed physically, retrained.

    Lowest L1 norm first (:func:`nnprune.prune.prune_units`), then ``retrain_epochs``
    at lr x 0.1: the structured alternative to a sparse model, a smaller dense one.
    """
    shrunk = copy.deepcopy(dense)
    for layer in ("0", "2"):
        prune.prune_units(shrunk, layer, 0.5, "l1")
    retrain(shrunk, splits, retrain_epochs, LR * LR_FACTOR, momentum=MOMENTUM, seed=seed)
    return shrunk


__all__ = [
    "FORMATS",
    "MLP_SIZES",
    "NM_LAYERS",
    "build_mlp",
    "dynamic_vs_static",
    "gradual_vs_one_shot",
    "lottery",
    "nm_vs_unstructured",
    "shrunk_copy",
    "surviving_inputs",
]
