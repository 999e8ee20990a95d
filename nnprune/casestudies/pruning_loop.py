r"""The studies of book §5 (implementing pruning) that the chapter-5 lesson calls.

* :func:`literal_vs_corrected` (§5.3, Appendix B): the book's loop taken
  literally (prune by zeroing, keep no mask, keep updating with SGD +
  momentum) against the corrected one (the mask kept, re-applied by the
  optimiser after every update): per epoch, the fraction of the pruned
  weights that are non-zero again.
* :func:`one_shot_vs_iterative` (§5.1): the same final sparsity and the same
  retraining budget reached in one round or in several
  (:func:`nnprune.pipeline.prune_retrain`).
* :func:`sensitivity_table`: the per-layer sensitivity rows of
  :func:`nnprune.pipeline.sensitivity_analysis` as one row per sparsity and
  one column per layer, with the dense reference on the same split.

The book's loop even re-applies the threshold at every iteration, but *before*
the update, so the weights it computes with after each step are dense again;
the literal version here prunes once, which is enough to show the flaw
(docs/errata.md#s5-3).

Book: §5.1–5.3, Appendix B.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn, optim, prune
from ..backend import to_numpy
from ..pipeline import decide, evaluate, forward_backward, prune_retrain, select, update
from ..pipeline import weight_sparsity as _weight_sparsity


def _batches(data: tuple[Any, Any], seed: int, batch_size: int = 64):
    order = np.random.default_rng(seed).permutation(len(data[1]))
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        yield data[0][idx], data[1][idx]


def literal_vs_corrected(
    build: Callable[[], nn.Module],
    splits: Any,
    sparsity: float,
    epochs: int,
    *,
    lr: float,
    momentum: float,
    seed: int,
) -> list[dict]:
    """§5.3: the book's loop keeps no mask, so momentum regrows the pruned weights.

    ``build()`` returns the trained dense model (a fresh copy each call). One
    row per (version, epoch): ``revived`` (fraction of the pruned weights that
    are non-zero again), ``sparsity`` and ``val_accuracy``.
    """
    rows = []
    for version in ("literal (book)", "corrected"):
        model = build()
        decide(model, sparsity, "magnitude", "global")  # the book's pruning_decision
        targets = select(model)
        weights = {t.name: t.param for t in model.prunable_parameters()}
        pruned = {n: ~to_numpy(weights[n].mask) for n in targets}
        if version.startswith("literal"):
            for mod, attr in targets.values():
                prune.remove(mod, attr)  # the zeros stay, the mask goes: what the book does
        opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        for epoch in range(1, epochs + 1):
            for xb, yb in _batches(splits.train, seed + epoch):
                forward_backward(model, (xb, yb))
                update(opt)  # the book's update_parameters
            revived = sum(int((to_numpy(weights[n].data)[m] != 0).sum()) for n, m in pruned.items())
            rows.append(
                {
                    "version": version,
                    "epoch": epoch,
                    "revived": revived / sum(int(m.sum()) for m in pruned.values()),
                    "sparsity": _weight_sparsity(model),
                    "val_accuracy": evaluate(model, splits.val)[1],
                }
            )
    return rows


def one_shot_vs_iterative(
    build: Callable[[], nn.Module],
    splits: Any,
    sparsity: float,
    rounds: int,
    epochs: int,
    **kwargs: Any,
) -> list[dict]:
    """§5.1: ``sparsity`` in 1 round or in ``rounds``, ``epochs`` of retraining in total.

    ``kwargs`` go to :func:`nnprune.pipeline.prune_retrain` (``lr``,
    ``lr_factor``, ``momentum``, ``seed``). Rows carry the test accuracy
    right after pruning and after retraining of every round.
    """
    rows = []
    for n in (1, rounds):
        result = prune_retrain(
            build(), splits, sparsity=sparsity, rounds=n, retrain_epochs=epochs // n, **kwargs
        )
        for r in result.table():
            rows.append({"schedule": "one-shot" if n == 1 else "iterative", **r})
    return rows


def sensitivity_table(rows: list[dict], dense_val: float) -> list[dict]:
    """One row per sparsity, one validation-accuracy column per layer, plus the dense row."""
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    table = [{"sparsity": "dense", **dict.fromkeys(layers, dense_val)}]
    for s in dict.fromkeys(r["sparsity"] for r in rows):
        acc = {r["layer"]: r["accuracy"] for r in rows if r["sparsity"] == s}
        table.append({"sparsity": f"{s:.0%}", **acc})
    return table


__all__ = ["literal_vs_corrected", "one_shot_vs_iterative", "sensitivity_table"]
