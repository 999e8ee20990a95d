r"""The hands-on project of the book's appendix C (CIFAR-10 with L1), made to run: its parts.

The book trains ``SimpleCNN`` (conv 3->32, conv 32->64, view as 64*8*8, fc1, fc2) and
retrains it with plain SGD on ``loss + 0.001 * sum |p|`` (docs/errata.md#app-c): two
unpadded convolutions leave 64x28x28 features, not 64*8*8 (:func:`show_literal_error`);
fc1 and fc2 without a non-linearity are one linear map (:func:`merge_demo`); the L1 term
penalises the biases too, and its subgradient makes weights small, never exactly zero
(:func:`l1_training`: subgradient SGD against ISTA). :func:`prune_and_retrain` prunes 90%
by global magnitude and retrains with the masks kept.

Book: appendix C (corrected, docs/errata.md#app-c).
"""

from __future__ import annotations

import copy

import numpy as np

from .. import nn, optim, prune
from ..algorithms import ista_train, subgradient_l1_train
from ..data import digits_splits, load_cifar10
from ..metrics import model_bytes, model_size
from ..plots.appc import weight_histograms
from ..rng import as_generator
from ..train import evaluate, fit

CHANNELS, HIDDEN, CLASSES = (32, 64), 128, 10  # the book's widths
LR, MOMENTUM, BATCH_SIZE = 0.05, 0.9, 64  # the L1 phase uses momentum 0: exact (stochastic) ISTA
MERGE_EPOCHS = 2
PRUNE_LAM = 3e-3  # the lambda whose models are plotted, pruned and retrained
SPARSITY = 0.9
SMALL = 1e-3  # the "near zero" threshold of the table
PERCENT = "zero_fraction small_fraction bias_zero_fraction test_acc test_start test_pruned"
PERCENT += " test_retrained"
PERCENT = PERCENT.split()
FORMATS = {"lam": "{:g}"} | {k: "{:.2%}" for k in PERCENT}
FORMATS |= {k: "{:,}" for k in ("nonzeros", "dense_bytes", "csr_bytes")}
LOSS = nn.CrossEntropyLoss()


def simple_cnn(in_ch: int, fc1_in: int, seed: int, *, fixed: bool) -> nn.Sequential:
    """The book's SimpleCNN (``fixed=False``) or the corrected one (``fixed=True``).

    The corrected one pads the convolutions, pools after each (so 32x32 really gives
    64x8x8) and puts a ReLU between fc1 and fc2. ``fc1_in`` is fc1's input width.
    """
    rng = as_generator(seed)
    (c1, c2), pad = CHANNELS, int(fixed)

    def pool() -> list[nn.Module]:  # a new module each time: a layer instance holds its input
        return [nn.MaxPool2d(2)] if fixed else []

    return nn.Sequential(
        *[nn.Conv2d(in_ch, c1, 3, padding=pad, seed=rng), nn.ReLU(), *pool()],
        *[nn.Conv2d(c1, c2, 3, padding=pad, seed=rng), nn.ReLU(), *pool(), nn.Flatten()],
        nn.Linear(fc1_in, HIDDEN, seed=rng),
        *([nn.ReLU()] if fixed else []),
        nn.Linear(HIDDEN, CLASSES, seed=rng),
    )


def show_literal_error(seed: int) -> str:
    """Run the book's SimpleCNN, as printed (fc1 expects 64*8*8), on a CIFAR-shaped batch.

    Returns the ``ValueError`` message nnprune raises, or ``""`` if it ran.
    """
    try:
        simple_cnn(3, 64 * 8 * 8, seed, fixed=False)(np.zeros((2, 3, 32, 32), dtype=np.float32))
    except ValueError as err:
        return str(err)
    return ""


def load_data(cifar_root: str | None, limit: int, seed: int) -> tuple[tuple, tuple, str]:
    """``(train, test, name)``; images ``(N, C, H, W)`` standardised with training statistics.

    ``cifar_root`` None: the 8x8 digits. Otherwise CIFAR-10 from that folder (never
    downloaded), ``limit`` random training and test images when > 0.
    """
    if cifar_root is None:
        splits = digits_splits(seed, flatten=False)
        return splits.train, splits.test, "digits 1x8x8"
    (Xtr, ytr), (Xte, yte) = load_cifar10(cifar_root), load_cifar10(cifar_root, False)
    if limit:
        rng = as_generator(seed)
        tr, te = rng.permutation(len(ytr))[:limit], rng.permutation(len(yte))[:limit]
        (Xtr, ytr), (Xte, yte) = (Xtr[tr], ytr[tr]), (Xte[te], yte[te])
    mean, std = Xtr.mean(axis=(0, 2, 3), keepdims=True), Xtr.std(axis=(0, 2, 3), keepdims=True)
    Xtr, Xte = [((X - mean) / std).astype(np.float32) for X in (Xtr, Xte)]
    return (Xtr, ytr), (Xte, yte), f"CIFAR-10 3x32x32, {len(ytr)} training images"


def sgd(model: nn.Module, momentum: float = MOMENTUM) -> optim.SGD:
    """Plain SGD at the project's rate (momentum 0 for the L1 phase: exact stochastic ISTA)."""
    return optim.SGD(model.parameters(), lr=LR, momentum=momentum)


def accuracy(model: nn.Module, test: tuple) -> float:
    """Test accuracy, on the host."""
    return evaluate(model.to("numpy"), LOSS, test)[1]


def weights(model: nn.Module, prunable: bool = True) -> np.ndarray:
    """All weights (``prunable=True``) or all biases of ``model`` as one flat array."""
    weights = [t.param for t in model.prunable_parameters()]
    mine = {id(w) for w in weights}
    chosen = weights if prunable else [p for p in model.parameters() if id(p) not in mine]
    return np.concatenate([p.data.ravel() for p in chosen])


def merge_demo(in_ch: int, side: int, train, test, kw: dict) -> dict:
    """The book's layers (flatten size fixed), trained; fc1 and fc2 merged into one Linear."""
    book = simple_cnn(in_ch, CHANNELS[1] * (side - 4) ** 2, kw["seed"], fixed=False)
    fit(book, LOSS, sgd(book), train, epochs=MERGE_EPOCHS, **kw)
    merged = copy.deepcopy(book.to("numpy"))
    record = prune.merge_linear(merged, "5")  # fc1 is layer 5; fc2 (layer 6) folds into it
    out = {"outputs": book(test[0]), "merged_outputs": merged(test[0])}
    out.update(params_before=record.params_before, params_after=record.params_after)
    out["max_abs_diff"] = float(np.abs(out["outputs"] - out["merged_outputs"]).max())
    return out


def l1_training(dense, lams, epochs: int, train, test, kw: dict) -> tuple[list[dict], dict]:
    """(a) subgradient SGD and (b) ISTA from the dense model, weights only; one row per run.

    A last run penalises the biases too, as the book does, to show what that changes.
    """
    runs = [("subgradient", subgradient_l1_train, lam, False) for lam in lams]
    runs += [("ista", ista_train, lam, False) for lam in lams]
    runs.append(("ista, biases too (book)", ista_train, lams[-1], True))
    rows, models = [], {}
    for method, train_fn, lam, biases_too in runs:
        model = copy.deepcopy(dense)
        params = list(model.parameters()) if biases_too else None  # None: weights only
        train_fn(model, LOSS, sgd(model, 0.0), train, lam=lam, epochs=epochs, params=params, **kw)
        w, b = weights(model.to("numpy")), weights(model, prunable=False)
        models[method, lam] = model
        rows.append(
            {
                "method": method,
                "lam": lam,
                "zero_fraction": float(np.mean(w == 0)),
                "small_fraction": float(np.mean(np.abs(w) < SMALL)),
                "bias_zero_fraction": float(np.mean(b == 0)),
                "test_acc": accuracy(model, test),
            }
        )
    return rows, models


def prune_and_retrain(start: str, model, epochs: int, train, test, kw: dict) -> dict:
    """Global magnitude pruning of all weights to SPARSITY, then masked retraining."""
    m = copy.deepcopy(model)
    row = {"start": start, "test_start": accuracy(m, test)}
    prune.to_sparsity(m, SPARSITY, scope="global")
    row["test_pruned"] = accuracy(m, test)
    fit(m, LOSS, sgd(m), train, epochs=epochs, **kw)  # the masks keep pruned weights at 0
    row["test_retrained"], row["nonzeros"] = accuracy(m, test), model_size(m)[1]
    row["dense_bytes"], row["csr_bytes"] = model_bytes(m), model_bytes(m, "csr")
    return row


def plot(models: dict, lam: float, out: str) -> str:
    """Histograms of the weights after subgradient and ISTA training at ``lam``."""
    return weight_histograms({m: weights(models[m, lam]) for m in ("subgradient", "ista")}, lam,
                             out)  # fmt: skip


__all__ = [
    "accuracy",
    "l1_training",
    "load_data",
    "merge_demo",
    "plot",
    "prune_and_retrain",
    "sgd",
    "show_literal_error",
    "simple_cnn",
]
