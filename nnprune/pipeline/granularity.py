r"""Multi-granularity pruning (layers, units and weights in one run) and a cross-domain run.

The book's §8.2 names two research directions without a method: "finer, more diverse
granularity (neurons, layers, connections)" and "cross-domain pruning" (carrying
pruning experience from one task to another). This module gives one concrete,
measurable reading of each; the names and steps are this project's, not the book's.

**Multi-granularity** (:func:`multi_granularity_prune`), on a ``Sequential`` chain,
coarse to fine, retraining after each stage:

1. *layers*: a hidden ``Linear`` whose input and output widths are equal (with the
   activation after it) can be dropped, the next layer then reading its input. Each
   candidate is scored by the measured loss increase when it alone is dropped
   (:func:`layer_drop_scores`, "direct" criterion), and the ``n_layers`` cheapest are
   dropped (:func:`drop_layer`) — lossy, unlike the exact removals of
   :mod:`nnprune.prune.layer_removal`;
2. *units*: a fraction of every remaining hidden layer's units, lowest L1 row norm
   first, removed physically (Li et al. 2017, :func:`nnprune.prune.prune_units`);
3. *weights*: global magnitude pruning of what is left to a sparsity (Han et al. 2015).

**Cross-domain** (:func:`cross_domain_prune`): the masks are chosen on a *source*
domain and the model is then fine-tuned, masks fixed, on a *target* domain (e.g. the
digits under a fixed transform, :func:`domain_shift`); the control chooses its masks
by the same rule after the same dense fine-tuning on the target. Both get the same
number of epochs.

References: Han, Pool, Tran & Dally, NeurIPS 2015; Li, Kadav, Durdanovic, Samet & Graf,
ICLR 2017; Chen & Zhao, *Shallowing deep networks: layer-wise pruning based on feature
representations*, TPAMI 2019 (dropping whole layers, then retraining).

Book: §8.2 (granularity; cross-domain pruning; see docs/errata.md#s8-2)
"""

from __future__ import annotations

import copy
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
from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.batchnorm import BatchNorm1d
from ..nn.dropout import Dropout
from ..nn.gelu import GELU
from ..nn.linear import Linear
from ..nn.module import Module, Sequential
from ..prune import RemovalRecord, prune_units, to_sparsity
from ..train import History, fit
from ..train import evaluate as _evaluate

__all__ = [
    "cross_domain_prune",
    "domain_shift",
    "drop_layer",
    "droppable_layers",
    "layer_drop_scores",
    "multi_granularity_prune",
]

_FOLLOW = (ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Dropout, BatchNorm1d)
SHIFTS = ("invert", "flip", "rotate")


def _check_flat_chain(model: Any) -> Sequential:
    if not (isinstance(model, Sequential) and type(model).forward is Sequential.forward):
        raise ValueError(f"model must be a flat nn.Sequential chain, got {type(model).__name__}")
    return model


def droppable_layers(model: Sequential) -> list[int]:
    """Positions of the hidden ``Linear`` layers with ``in_features == out_features``.

    The last ``Linear`` (the output layer) is never droppable.

    Book: §8.2, §3.1 (layer pruning)
    """
    _check_flat_chain(model)
    linears = [i for i, m in enumerate(model) if isinstance(m, Linear)]
    return [i for i in linears[:-1] if model[i].in_features == model[i].out_features]


def drop_layer(model: Sequential, index: int) -> RemovalRecord:
    r"""Delete the square hidden ``Linear`` at ``index`` and the activation/BatchNorm after it.

    The next layer then reads the dropped layer's input: :math:`f(x) = g(\sigma(Wx + b))`
    becomes :math:`g(x)`. Lossy: retrain afterwards.

    Raises
    ------
    ValueError
        If ``index`` is not in :func:`droppable_layers`.

    Book: §8.2, §3.1 (layer pruning)
    """
    ok = droppable_layers(model)
    if index not in ok:
        raise ValueError(
            f"index must be a hidden square Linear of the chain (one of {ok}), got {index!r}"
        )
    end = index + 1
    while end < len(model) and isinstance(model[end], _FOLLOW):
        end += 1
    before = model.num_parameters()
    names = tuple(str(i) for i in range(index, end))
    del model[index:end]
    return RemovalRecord("deleted", str(index), (), before, model.num_parameters(), names)


def layer_drop_scores(
    model: Sequential, loss_fn: Module, data: tuple[Any, Any]
) -> dict[int, float]:
    """Loss on ``data`` after dropping each droppable layer alone, minus the loss before.

    Book: §8.2 (layer granularity)
    """
    base, _ = _evaluate(model, loss_fn, data)
    scores = {}
    for i in droppable_layers(model):
        trial = copy.deepcopy(model)
        drop_layer(trial, i)
        loss, _ = _evaluate(trial, loss_fn, data)
        scores[i] = float(loss) - float(base)
    return scores


def _retrain(model, loss_fn, train, epochs, lr, momentum, batch_size, seed) -> History:
    if epochs == 0:
        return History()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return fit(
        model, loss_fn, opt, train, epochs=epochs, batch_size=batch_size, seed=seed, progress=False
    )


def _row(stage, model, loss_fn, test):
    loss, acc = _evaluate(model, loss_fn, test)
    params = [t.param for t in model.prunable_parameters()]
    nonzero = sum(int(np.count_nonzero(p.data)) for p in params)
    return {
        "stage": stage,
        "params": model.num_parameters(),
        "weight_nonzeros": nonzero,
        "weights": sum(p.size for p in params),
        "accuracy": acc,
        "loss": float(loss),
    }


def multi_granularity_prune(
    model: Sequential,
    loss_fn: Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any],
    test: tuple[Any, Any],
    *,
    n_layers: int = 1,
    unit_fraction: float = 0.25,
    sparsity: float = 0.5,
    retrain_epochs: int = 2,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Prune layers, then units, then weights of a chain, retraining after each stage.

    Parameters
    ----------
    model : Sequential
        A trained flat chain (e.g. ``models.mlp((64, 64, 64, 64, 10))``); changed in place.
    loss_fn : Module
    train, val, test : (X, y)
        Retraining data; the data that scores the layers; the data of the reported rows.
    n_layers : int >= 0, default 1
        Square hidden ``Linear`` layers to drop (fewest if fewer exist: the error says so).
    unit_fraction : float in [0, 1), default 0.25
        Share of each remaining hidden layer's units to remove (L1 norm).
    sparsity : float in [0, 1), default 0.5
        Final share of zeros among the remaining prunable weights (global magnitude).
    retrain_epochs : int >= 0, default 2
        SGD epochs after each stage (masks kept).
    lr, momentum, batch_size, seed

    Returns
    -------
    list of dict
        Rows ``"dense"``, ``"layers"``, ``"units"``, ``"weights"``: ``params``,
        ``weight_nonzeros``, ``weights``, ``accuracy``, ``loss`` on ``test``, and the
        dropped layers / removed units in ``"removed"``.

    Book: §8.2 (multi-granularity pruning)
    """
    _check_flat_chain(model)
    n_layers = check_nonnegative_int("n_layers", n_layers)
    unit_fraction = check_sparsity("unit_fraction", unit_fraction)
    sparsity = check_sparsity("sparsity", sparsity)
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    lr, momentum, batch_size = check_sgd(lr, momentum, batch_size)
    available = droppable_layers(model)
    if n_layers > len(available):
        raise ValueError(
            f"n_layers must be at most {len(available)} (the square hidden Linear layers "
            f"at {available}), got {n_layers}"
        )
    rows = [_row("dense", model, loss_fn, test) | {"removed": []}]

    dropped = []
    for _ in range(n_layers):  # re-score after each drop: the cheapest layer changes
        scores = layer_drop_scores(model, loss_fn, val)
        best = min(scores, key=lambda i: (scores[i], i))
        drop_layer(model, best)
        dropped.append(best)
    _retrain(model, loss_fn, train, retrain_epochs, lr, momentum, batch_size, seed)
    rows.append(_row("layers", model, loss_fn, test) | {"removed": dropped})

    removed = []
    hidden = [i for i, m in enumerate(model) if isinstance(m, Linear)][:-1]
    for i in hidden:
        if unit_fraction > 0:
            rec = prune_units(model, str(i), unit_fraction, criterion="l1")
            removed.append((str(i), len(rec.removed)))
    _retrain(model, loss_fn, train, retrain_epochs, lr, momentum, batch_size, seed + 1)
    rows.append(_row("units", model, loss_fn, test) | {"removed": removed})

    to_sparsity(model, sparsity, None, "global")
    _retrain(model, loss_fn, train, retrain_epochs, lr, momentum, batch_size, seed + 2)
    rows.append(_row("weights", model, loss_fn, test) | {"removed": []})
    return rows


def domain_shift(X: Any, kind: str, image_shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    """A fixed transform of flattened images in [0, 1]: a shifted domain with the same labels.

    ``"invert"``: :math:`1 - x`; ``"flip"``: mirror left-right; ``"rotate"``: 90 degrees
    counter-clockwise. ``X`` is ``(N, H*W)`` (or ``(N, H, W)``); the result has its shape.

    Book: §8.2 (cross-domain pruning)
    """
    kind = check_one_of("kind", kind, SHIFTS)
    X = np.asarray(X)
    h, w = image_shape
    if X.ndim < 2 or int(np.prod(X.shape[1:])) != h * w:
        raise ValueError(f"X must hold images of {h}x{w} = {h * w} values each, got {X.shape}")
    imgs = X.reshape(len(X), h, w)
    if kind == "invert":
        out = 1.0 - imgs
    elif kind == "flip":
        out = imgs[:, :, ::-1]
    else:
        out = np.rot90(imgs, 1, axes=(1, 2))
    return np.ascontiguousarray(out.reshape(X.shape)).astype(X.dtype, copy=False)


def cross_domain_prune(
    model: Module,
    loss_fn: Module,
    source_train: tuple[Any, Any],
    target_train: tuple[Any, Any],
    target_test: tuple[Any, Any],
    sparsity: float,
    *,
    finetune_epochs: int = 3,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Prune on the source domain, fine-tune on the target; against target-chosen masks.

    Rows (all on ``target_test``):

    * ``"source model on target"``: the trained model, unchanged;
    * ``"pruned on source, fine-tuned on target"``: global magnitude masks chosen
      after ``finetune_epochs`` epochs of dense training on the *source*, then
      ``finetune_epochs`` masked epochs on the target;
    * ``"pruned on target, fine-tuned on target"`` (control): ``finetune_epochs`` dense
      epochs on the *target*, masks chosen there, then ``finetune_epochs`` masked epochs on
      the target.

    Both pruned rows train ``2 * finetune_epochs`` epochs in all and reach the same sparsity.

    Parameters
    ----------
    model : Module
        Trained on the source domain; not changed.
    loss_fn, source_train, target_train, target_test
    sparsity : float in [0, 1)
    finetune_epochs : int >= 1, default 3
    lr, momentum, batch_size, seed

    Returns
    -------
    list of dict
        ``run``, ``sparsity``, ``accuracy``, ``loss``.

    Book: §8.2 (cross-domain pruning)
    """
    sparsity = check_sparsity("sparsity", sparsity)
    finetune_epochs = check_positive_int("finetune_epochs", finetune_epochs)
    lr, momentum, batch_size = check_sgd(lr, momentum, batch_size)

    def row(name, m):
        loss, acc = _evaluate(m, loss_fn, target_test)
        params = [t.param for t in m.prunable_parameters()]
        zeros = sum(p.size - int(np.count_nonzero(p.data)) for p in params)
        return {
            "run": name,
            "sparsity": zeros / sum(p.size for p in params),
            "accuracy": acc,
            "loss": float(loss),
        }

    rows = [row("source model on target", model)]
    for name, first in (("source", source_train), ("target", target_train)):
        m = copy.deepcopy(model)
        _retrain(m, loss_fn, first, finetune_epochs, lr, momentum, batch_size, seed)
        to_sparsity(m, sparsity, None, "global")
        _retrain(m, loss_fn, target_train, finetune_epochs, lr, momentum, batch_size, seed + 1)
        rows.append(row(f"pruned on {name}, fine-tuned on target", m))
    return rows
