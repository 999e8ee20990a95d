r"""Appendix C 神经网络剪枝优化项目实战: the book's code in nnprune's engine, and corrected.

:func:`book_simple_cnn` is the book's ``SimpleCNN`` layer for layer: conv 3→32 3x3, ReLU,
conv 32→64 3x3, ReLU, ``x.view(-1, 64 * 8 * 8)`` (:class:`View`, PyTorch's reshape
semantics), fc1 → 128, fc2 → 10 with no non-linearity between. On a batch of 64 CIFAR
images the two unpadded convolutions give 64x64x28x28 = 3,211,264 numbers; ``view`` makes
them 784 rows of 4096, so the forward pass *runs* and returns (784, 10); the loss then
fails, as PyTorch's does: ``Expected input batch_size (784) to match target batch_size
(64).`` (:func:`show_book_failure`, with :class:`BookCrossEntropyLoss`).

:func:`book_appc` is the book's training code (SGD lr 0.001, momentum 0.9, batch 64, 10
epochs; then 10 more epochs on ``loss + 0.001 * sum(|p|)`` over *all* parameters, with
the same optimiser settings; then test accuracy), with only the flatten size fixed
(``64 * 28 * 28``). :func:`corrected_appc` is its twin: the corrected CNN (padding, 2x2
pooling, a ReLU between fc1 and fc2), L1 on the weights only as a proximal step, and the
before/after comparison the book's text claims but its code never makes (accuracy before
L1, after L1, and after pruning 90% of the weights by magnitude). Both take ``l1_lambda``:
``l1_lambda=0`` is the equal-budget dense control (the same code, batches and epochs
without the L1 term), and both return the trained model (``AppCResult.trained``), which
:func:`weight_vector`, :func:`accuracy` and :func:`pruned_accuracy` measure.

Data: :func:`standin_data` (no download) is scikit-learn's 8x8 digits rendered as 3x32x32
(each pixel repeated 4x4, the grey value copied to the 3 channels, scaled to [0, 1] and
normalised with mean 0.5, std 0.5 as the book's ``transforms.Normalize``);
:func:`cifar_data` reads a local CIFAR-10 copy with the same normalisation.

Book: appendix C (corrected, see docs/errata.md#app-c).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .. import nn, optim
from ..rng import as_generator

BOOK = {"lr": 0.001, "momentum": 0.9, "batch_size": 64, "epochs": 10, "l1_lambda": 0.001}
BOOK_FLATTEN = 64 * 8 * 8  # what the book's view() asks for
FIXED_FLATTEN = 64 * 28 * 28  # what two unpadded 3x3 convolutions leave of 32x32


class View(nn.Module):
    """``x.view(-1, features)``: PyTorch's reshape, rows = total size / ``features``."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.features = int(features)
        self._shape = None

    def forward(self, x: Any) -> Any:
        if x.size % self.features:
            raise ValueError(
                f"shape '[-1, {self.features}]' is invalid for input of size {x.size}"
            )
        self._shape = x.shape
        return x.reshape(-1, self.features)  # (N*C*H*W / features, features)

    def backward(self, dout: Any) -> Any:
        return dout.reshape(self._shape)

    def extra_repr(self) -> str:
        return f"-1, {self.features}"


class BookCrossEntropyLoss(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that checks the batch sizes first, with PyTorch's message."""

    def forward(self, logits: Any, target: Any) -> float:
        if getattr(logits, "ndim", 0) == 2 and len(logits) != len(target):
            raise ValueError(
                f"Expected input batch_size ({len(logits)}) to match target batch_size "
                f"({len(target)})."
            )
        return super().forward(logits, target)


def book_simple_cnn(seed: int = 0, flatten: int = BOOK_FLATTEN) -> nn.Sequential:
    """The book's ``SimpleCNN``; ``flatten`` is the width its ``view`` asks for."""
    rng = as_generator(seed)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, seed=rng),  # self.conv1 = nn.Conv2d(3, 32, 3, 1)
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, 1, seed=rng),  # self.conv2 = nn.Conv2d(32, 64, 3, 1)
        nn.ReLU(),
        View(flatten),  # x = x.view(-1, 64 * 8 * 8)
        nn.Linear(flatten, 128, seed=rng),  # self.fc1 = nn.Linear(64 * 8 * 8, 128)
        nn.Linear(128, 10, seed=rng),  # self.fc2: no ReLU before it in the book
    )


def corrected_simple_cnn(seed: int = 0) -> nn.Sequential:
    """Padding 1 and 2x2 pooling after each conv (so 32x32 really gives 64x8x8), fc1-ReLU-fc2."""
    rng = as_generator(seed)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, 1, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
        View(64 * 8 * 8),  # (N, 4096): now the book's number is right
        nn.Linear(64 * 8 * 8, 128, seed=rng), nn.ReLU(),  # fix: a non-linearity
        nn.Linear(128, 10, seed=rng),
    )  # fmt: skip


def show_book_failure(seed: int = 0, batch_size: int = 64) -> dict[str, Any]:
    """The book's forward pass and loss on one CIFAR-shaped batch of ``batch_size``.

    Returns ``{"input", "output", "error"}``: the two shapes and the loss's error message.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch_size, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, batch_size)
    outputs = book_simple_cnn(seed)(inputs)
    try:
        BookCrossEntropyLoss()(outputs, labels)
        error = ""
    except ValueError as err:
        error = str(err)
    return {"input": inputs.shape, "output": outputs.shape, "error": error}


def _normalise(X: np.ndarray) -> np.ndarray:
    return ((X - 0.5) / 0.5).astype(np.float32)  # transforms.Normalize((0.5,)*3, (0.5,)*3)


def standin_data(seed: int = 0, limit: int = 0) -> tuple[tuple, tuple, str]:
    """The 8x8 digits as 3x32x32 images in [-1, 1]: ``(train, test, name)``.

    ``limit`` > 0 keeps that many training and test images.
    """
    from ..data import digits_splits

    splits = digits_splits(seed, standardize=False)  # the validation split is not used
    out = []
    for X, y in (splits.train, splits.test):
        if limit > 0:
            X, y = X[:limit], y[:limit]
        img = np.kron(X.reshape(-1, 1, 8, 8), np.ones((1, 1, 4, 4)))  # (N, 1, 32, 32), in [0, 1]
        out.append((_normalise(np.repeat(img, 3, axis=1)), y))  # (N, 3, 32, 32)
    return out[0], out[1], "digits 8x8 rendered as 3x32x32 (pixels repeated 4x4, grey x3)"


def cifar_data(cifar_root: str, limit: int = 0, seed: int = 0) -> tuple[tuple, tuple, str]:
    """CIFAR-10 from a local folder (never downloaded), normalised as the book does."""
    from ..data import load_cifar10

    (Xtr, ytr), (Xte, yte) = load_cifar10(cifar_root), load_cifar10(cifar_root, False)
    if limit > 0:
        rng = as_generator(seed)
        tr, te = rng.permutation(len(ytr))[:limit], rng.permutation(len(yte))[:limit]
        (Xtr, ytr), (Xte, yte) = (Xtr[tr], ytr[tr]), (Xte[te], yte[te])
    return (_normalise(Xtr), ytr), (_normalise(Xte), yte), f"CIFAR-10, {len(ytr)} train"


def _batches(data: tuple, batch_size: int, generator: np.random.Generator | None):
    X, y = data
    order = generator.permutation(len(y)) if generator is not None else np.arange(len(y))
    for i in range(0, len(y), batch_size):
        idx = order[i : i + batch_size]
        yield X[idx], y[idx]


def accuracy(model: nn.Module, test: tuple) -> float:
    """Test accuracy of ``model`` on ``test = (X, y)``, in batches of 256."""
    model.eval()
    correct = sum(int((np.argmax(model(x), 1) == y).sum()) for x, y in _batches(test, 256, None))
    model.train()
    return correct / len(test[1])


def weight_vector(model: nn.Module) -> np.ndarray:
    """All prunable weights of ``model`` (no biases) as one flat array."""
    return np.concatenate([t.param.data.ravel() for t in model.prunable_parameters()])


def pruned_accuracy(model: nn.Module, test: tuple, sparsity: float = 0.9) -> float:
    """Test accuracy of a copy of ``model`` with ``sparsity`` of its weights pruned (global |w|).

    What the book's text compares ("before and after pruning") and its code never does.
    """
    from ..prune import to_sparsity

    pruned = copy.deepcopy(model)
    to_sparsity(pruned, sparsity, scope="global")
    return accuracy(pruned, test)


@dataclass
class AppCResult:
    """One row: the model, its settings, what training did, and the trained model."""

    row: str
    model: str
    parameters: int
    acc_before_l1: float
    acc_after_l1: float
    zero_fraction: float
    small_fraction: float
    acc_pruned_90: float | None
    error: str = ""
    trained: nn.Module | None = field(default=None, repr=False, compare=False)

    def as_row(self) -> dict[str, Any]:
        """The numbers, without the trained model."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "trained"}


def book_appc(train: tuple, test: tuple, *, seed: int = 0, flatten: int = FIXED_FLATTEN,
              epochs: int = BOOK["epochs"],
              l1_lambda: float = BOOK["l1_lambda"]) -> AppCResult:  # fmt: skip
    """The book's training, L1 and evaluation code, in order; only ``flatten`` is changed.

    ``flatten=BOOK_FLATTEN`` runs the book's code as printed: it stops at the first loss.
    ``l1_lambda=0`` is the equal-budget dense control: the same code, steps and batches,
    ``2 * epochs`` epochs without the L1 term. The result holds the trained model.
    """
    model = book_simple_cnn(seed, flatten)  # model = SimpleCNN()
    criterion = BookCrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=BOOK["lr"], momentum=BOOK["momentum"])
    rng = np.random.default_rng(seed)  # shuffle=True
    size = sum(p.data.size for p in model.parameters())
    try:
        for _epoch in range(epochs):
            for inputs, labels in _batches(train, BOOK["batch_size"], rng):
                optimizer.zero_grad()
                outputs = model(inputs)
                criterion(outputs, labels)  # loss = criterion(outputs, labels)
                model.backward(criterion.backward())  # loss.backward()
                optimizer.step()
    except ValueError as err:
        return AppCResult("book as printed", "SimpleCNN", size, np.nan, np.nan, np.nan,
                          np.nan, None, str(err))  # fmt: skip
    before = accuracy(model, test)  # not in the book: its code never measures this
    # l1_lambda = 0.001: the book's value, the default of the argument
    optimizer = optim.SGD(model.parameters(), lr=BOOK["lr"], momentum=BOOK["momentum"])
    for _epoch in range(epochs):
        for inputs, labels in _batches(train, BOOK["batch_size"], rng):
            optimizer.zero_grad()
            outputs = model(inputs)
            criterion(outputs, labels)
            model.backward(criterion.backward())
            for p in model.parameters():  # loss += l1_lambda * sum(p.abs().sum() ...)
                p.grad += l1_lambda * np.sign(p.data)
            optimizer.step()
    w = np.concatenate([t.param.data.ravel() for t in model.prunable_parameters()])
    return AppCResult("book settings (flatten fixed)", "SimpleCNN 64*28*28", size, before,
                      accuracy(model, test), float(np.mean(w == 0)),
                      float(np.mean(np.abs(w) < 1e-3)), None, trained=model)  # fmt: skip


def corrected_appc(train: tuple, test: tuple, *, seed: int = 0, epochs: int = BOOK["epochs"],
                   l1_lambda: float = BOOK["l1_lambda"]) -> AppCResult:  # fmt: skip
    """The same code, corrected: fixed CNN, L1 on weights as a proximal step, then compare.

    ``l1_lambda=0`` is its equal-budget dense control (the soft threshold by 0 changes
    nothing). The result holds the trained model.
    """
    from ..prune import to_sparsity
    from ..regularizers import soft_threshold

    model = corrected_simple_cnn(seed)  # fix: padding, pooling, ReLU (errata #app-c)
    criterion = BookCrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=BOOK["lr"], momentum=BOOK["momentum"])
    rng = np.random.default_rng(seed)
    size = sum(p.data.size for p in model.parameters())
    for _epoch in range(epochs):
        for inputs, labels in _batches(train, BOOK["batch_size"], rng):
            optimizer.zero_grad()
            outputs = model(inputs)
            criterion(outputs, labels)
            model.backward(criterion.backward())
            optimizer.step()
    before = accuracy(model, test)  # fix: the "before" the text compares with
    optimizer = optim.SGD(model.parameters(), lr=BOOK["lr"], momentum=BOOK["momentum"])
    weights = [t.param for t in model.prunable_parameters()]  # fix: weights only
    for _epoch in range(epochs):
        for inputs, labels in _batches(train, BOOK["batch_size"], rng):
            optimizer.zero_grad()
            outputs = model(inputs)
            criterion(outputs, labels)
            model.backward(criterion.backward())
            optimizer.step()
            for p in weights:  # fix: the L1 term as its proximal step, exact zeros
                p.data[...] = soft_threshold(p.data, BOOK["lr"] * l1_lambda)
    after = accuracy(model, test)
    w = np.concatenate([p.data.ravel() for p in weights])
    zero, small = float(np.mean(w == 0)), float(np.mean(np.abs(w) < 1e-3))
    pruned = copy.deepcopy(model)
    to_sparsity(pruned, 0.9, scope="global")  # fix: the pruning the text talks about
    return AppCResult("corrected", "CNN pad+pool+ReLU", size, before, after, zero, small,
                      accuracy(pruned, test), trained=model)  # fmt: skip


def run_appc(quick: bool = True, seed: int = 0, cifar_root: str | None = None,
             limit: int = 0, epochs: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The book's failure, then the "book settings" row beside the corrected row.

    ``quick``: 64 training and test images and 1 epoch per phase (seconds); otherwise the
    book's 10 epochs on the whole stand-in (or CIFAR-10 with ``cifar_root``, ``limit``
    images when > 0). ``epochs`` overrides the number of epochs per phase.
    """
    limit = 64 if quick and not limit else limit
    epochs = epochs if epochs is not None else (1 if quick else BOOK["epochs"])
    if cifar_root is None:
        train, test, name = standin_data(seed, limit)
    else:
        train, test, name = cifar_data(cifar_root, limit, seed)
    failure = show_book_failure(seed)
    as_printed = book_appc(train, test, seed=seed, flatten=BOOK_FLATTEN, epochs=epochs)
    rows = [book_appc(train, test, seed=seed, epochs=epochs),
            corrected_appc(train, test, seed=seed, epochs=epochs)]  # fmt: skip
    return {"data": name, "epochs": epochs, "failure": failure, "as_printed": as_printed,
            "rows": rows}  # fmt: skip


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: the failure and both rows."""
    r = run_appc(quick, seed)
    book, fixed = r["rows"]
    return (
        f"book's SimpleCNN: a {r['failure']['input']} batch gives outputs "
        f"{r['failure']['output']}, then the loss fails: {r['failure']['error']}; "
        f"book settings (flatten fixed, {r['epochs']} epoch(s)): {book.zero_fraction:.1%} of "
        f"weights exactly 0, accuracy {book.acc_before_l1:.3f} -> {book.acc_after_l1:.3f}; "
        f"corrected: {fixed.zero_fraction:.1%} exactly 0, {fixed.acc_before_l1:.3f} -> "
        f"{fixed.acc_after_l1:.3f}, {fixed.acc_pruned_90:.3f} at 90% pruned"
    )
