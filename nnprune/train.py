r"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict`.

One optimisation step is the five calls of backpropagation, in the book's order::

    optimizer.zero_grad()
    out = model(xb)                     # forward pass (runs hooks), caches what backward needs
    loss = loss_fn.forward(out, yb)     # a float
    model.backward(loss_fn.backward())  # gradients are *added* into param.grad
    optimizer.step()                    # update; pruned weights stay exactly zero

Pruning plugs into the loop through callbacks (see :class:`Callback`): after
every optimiser step ``on_step_end(step, model)`` is called (gradual pruning
schedules raise the sparsity there), and after every epoch
``on_epoch_end(epoch, history)``. Any object with either method works; the
methods are looked up with ``getattr``.

Book: §1.1 (forward, backward, update), §5.1 (the pruning loop: train, prune, retrain).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .backend import normalize_backend, to_backend, to_numpy
from .checks import check_positive_int
from .data.loader import DataLoader, check_xy
from .nn.module import Module


class Callback:
    """Base class documenting the callback protocol of :func:`fit` (all methods no-ops).

    Subclass it, or pass any object with one of these methods.
    """

    def on_step_end(self, step: int, model: Module) -> None:
        """Called after every ``optimizer.step()``.

        Parameters
        ----------
        step : int
            Index of the step just taken, counted from 0 across epochs.
        model : Module
            The model being trained (e.g. to prune it on a schedule).
        """

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        """Called after every epoch, once its metrics are in ``history``.

        Parameters
        ----------
        epoch : int
            Index of the epoch just finished, from 0.
        history : History
            Metrics so far (``history.val_loss[-1]`` is this epoch's).

        Returns
        -------
        bool or None
            ``True`` stops training after this epoch.
        """
        return None


@dataclass
class History:
    """Per-epoch metrics recorded by :func:`fit`, one entry per epoch.

    ``loss`` and ``accuracy`` are running averages over the epoch's batches
    (the model changes during the epoch, as in most frameworks' logs);
    ``val_loss`` and ``val_accuracy`` are measured in eval mode after the
    epoch and stay empty without validation data. Accuracies are ``None``
    when the targets are not class labels (e.g. with ``MSELoss``). ``lr`` is
    the first parameter group's learning rate during the epoch, ``epoch_time``
    the wall-clock seconds of the epoch, validation included.

    ``best_epoch`` is the epoch of the lowest validation loss (set with early
    stopping); ``stopped_epoch`` is the last epoch run when training stopped
    before ``epochs`` (early stopping or a callback), else ``None``.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict of lists (JSON-serialisable)."""
        return asdict(self)

    def __len__(self) -> int:
        return len(self.loss)


class _Tally:
    """Sample-weighted running loss and accuracy over batches."""

    def __init__(self) -> None:
        self.loss, self.correct, self.n = 0.0, 0, 0

    def add(self, loss: float, out: Any, yb: Any) -> None:
        self.loss += loss * len(yb)
        self.n += len(yb)
        labels = getattr(yb, "dtype", None) is not None and yb.dtype.kind in "iu"
        if self.correct is None or not labels or tuple(out.shape[:-1]) != tuple(yb.shape):
            self.correct = None  # not class labels (e.g. regression): no accuracy
        else:
            self.correct += int((out.argmax(axis=-1) == yb).sum())

    def result(self) -> tuple[float, float | None]:
        return self.loss / self.n, (None if self.correct is None else self.correct / self.n)


def _check_pair(name: str, data: Any) -> tuple[Any, Any]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"{name} must be an (X, y) pair, got {type(data).__name__}")
    check_xy(data[0], data[1])
    if data[0].shape[0] == 0:
        raise ValueError(f"{name} has no samples")
    return data[0], data[1]


def _lr(optimizer: Any) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _progress_enabled(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def evaluate(
    model: Module, loss_fn: Module, data: tuple[Any, Any], batch_size: int = 256
) -> tuple[float, float | None]:
    """Loss and accuracy of ``model`` on ``data``, in eval mode.

    The model's previous mode (train or eval) is restored afterwards.

    Parameters
    ----------
    model : Module
    loss_fn : Module
        A mean-reduced loss (``CrossEntropyLoss()``, ``MSELoss()``).
    data : (X, y)
    batch_size : int, default 256
        Only affects memory, not the result (up to float rounding).

    Returns
    -------
    loss : float
        The mean per-sample loss over all of ``data``.
    accuracy : float or None
        Fraction of arg-max predictions equal to ``y``; None if ``y`` is not class labels.
    """
    X, y = _check_pair("data", data)
    batch_size = check_positive_int("batch_size", batch_size)
    backend = model.backend
    was_training = model.training
    model.eval()
    tally = _Tally()
    try:
        for xb, yb in DataLoader(X, y, batch_size=batch_size, shuffle=False):
            xb, yb = to_backend(xb, backend), to_backend(yb, backend)
            out = model(xb)
            tally.add(loss_fn.forward(out, yb), out, yb)
    finally:
        model.train(was_training)
    return tally.result()


def predict(model: Module, X: Any, batch_size: int = 256) -> np.ndarray:
    """Model outputs for ``X`` (e.g. logits), in eval mode, as one NumPy array.

    The model's previous mode is restored afterwards. Class predictions are
    ``predict(model, X).argmax(axis=1)``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if not hasattr(X, "shape") or len(X.shape) == 0:
        raise TypeError(f"X must be an array with a sample axis, got {type(X).__name__}")
    backend = model.backend
    was_training = model.training
    model.eval()
    try:
        outs = [
            to_numpy(model(to_backend(X[i : i + batch_size], backend)))
            for i in range(0, X.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    return np.concatenate(outs)


# A loss this many times the first one (or 1, if larger) means training diverged; a first
# loss above LARGE_FIRST_LOSS means badly scaled data (cross-entropy starts near log(classes)).
DIVERGENCE_FACTOR = 1e6
LARGE_FIRST_LOSS = 1e6


def _diverged(loss: float, xb: Any, epoch: int, step: int, lr: float, first: float | None) -> None:
    """Raise ``FloatingPointError`` saying why the loss is not finite, or too large."""
    where = f"at epoch {epoch}, step {step}"
    if not bool(np.isfinite(to_numpy(xb)).all()):
        raise FloatingPointError(
            f"loss is {loss} {where}: the training data has NaN or infinite values in "
            "its features; clean them first (e.g. drop those samples)"
        )
    if math.isfinite(loss):
        raise FloatingPointError(
            f"loss is {loss:.3g} {where} (lr={lr:g}), over {DIVERGENCE_FACTOR:g} times the "
            f"first loss ({first:.3g}); training diverged: try a lower learning rate"
        )
    raise FloatingPointError(
        f"loss is {loss} {where} (lr={lr:g}); training diverged: try a lower learning rate"
    )


def fit(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    scheduler: Any = None,
    early_stopping: int | None = None,
    callbacks: Iterable[Any] = (),
    progress: bool | None = None,
    backend: str | None = None,
) -> History:
    """Train ``model`` with mini-batch gradient descent.

    Each epoch shuffles ``train`` (from a generator seeded with ``seed``), runs
    the five-call step of the module docstring per batch, then evaluates on
    ``val``, steps the ``scheduler`` and calls the callbacks' ``on_epoch_end``.

    Parameters
    ----------
    model : Module
        Put in training mode for the whole run (and left in it). Its
        ``input_requires_grad`` is False during the run (the first layer skips
        the gradient of the data, as in PyTorch) and restored afterwards.
    loss_fn : Module
        E.g. ``nn.CrossEntropyLoss()``.
    optimizer : nnprune.optim.Optimizer
        Built on ``model.parameters()``.
    train, val : (X, y)
        Training data and optional validation data (host or backend arrays).
    epochs : int, default 10
    batch_size : int, default 64
    seed : int, default 0
        Seeds the shuffling: the same seed, model and optimiser give identical
        weights and history.
    scheduler : optional
        A learning-rate scheduler (``optim.lr_scheduler.StepLR(...)``); its
        ``step()`` is called after every epoch.
    early_stopping : int, optional
        Patience in epochs: stop when the validation loss has not improved for
        this many epochs, then restore the weights, masks and buffers of the
        best epoch (with gradual pruning this also restores that epoch's
        masks). Needs ``val``.
    callbacks : iterable
        Objects with ``on_step_end(step, model)`` and/or
        ``on_epoch_end(epoch, history)`` (see :class:`Callback`).
    progress : bool or None, default None
        tqdm progress bar on stderr; ``None`` shows it only when stderr is a terminal.
    backend : {"numpy", "cupy"}, optional
        Move the model there first; batches follow the model's backend.

    Returns
    -------
    History

    Raises
    ------
    FloatingPointError
        If a loss is NaN or infinite, or over ``DIVERGENCE_FACTOR`` (1e6) times
        the first loss (or 1, if larger): usually a learning rate that is too
        high; the message says so when the batch's features hold NaN or inf
        instead. A first loss over 1e6 only warns (``RuntimeWarning``: badly
        scaled data).
    """
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    X, y = _check_pair("train", train)
    if val is not None:
        val = _check_pair("val", val)
    if early_stopping is not None:
        early_stopping = check_positive_int("early_stopping", early_stopping)
        if val is None:
            raise ValueError("early_stopping needs validation data: pass val=(X_val, y_val)")
    callbacks = list(callbacks)
    if backend is not None:
        model.to(normalize_backend(backend))
    backend = model.backend

    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    first_loss, diverged = None, math.inf
    history = History()
    best_loss, best_state, since_best = math.inf, None, 0
    step = 0
    model.train()
    # As in PyTorch, where the data never requires a gradient: the first layer skips dL/dx.
    input_requires_grad = model.input_requires_grad
    model.input_requires_grad = False
    from tqdm import tqdm  # here: it is a tenth of `import nnprune`'s time

    bar = tqdm(total=epochs * len(loader), file=sys.stderr, disable=not _progress_enabled(progress))
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            lr = _lr(optimizer)
            tally = _Tally()
            for xb, yb in loader:
                xb, yb = to_backend(xb, backend), to_backend(yb, backend)
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn.forward(out, yb)
                if not math.isfinite(loss) or loss > diverged:
                    _diverged(loss, xb, epoch, step, lr, first_loss)
                if first_loss is None:
                    first_loss = loss
                    diverged = DIVERGENCE_FACTOR * max(loss, 1.0)
                    if loss > LARGE_FIRST_LOSS:
                        warnings.warn(
                            f"the first loss is {loss:.3g}: check the scale of the data "
                            "(standardise the features) and the initial weights",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                model.backward(loss_fn.backward())
                optimizer.step()
                for cb in callbacks:
                    if hasattr(cb, "on_step_end"):
                        cb.on_step_end(step, model)
                step += 1
                tally.add(loss, out, yb)
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", refresh=False)
            train_loss, train_acc = tally.result()
            history.loss.append(train_loss)
            history.accuracy.append(train_acc)
            if val is not None:
                val_loss, val_acc = evaluate(model, loss_fn, val, batch_size=max(batch_size, 256))
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_acc)
            history.lr.append(lr)
            history.epoch_time.append(time.perf_counter() - start)
            if scheduler is not None:
                scheduler.step()
            stop = False
            for cb in callbacks:
                if hasattr(cb, "on_epoch_end") and cb.on_epoch_end(epoch, history) is True:
                    stop = True
            if early_stopping is not None:
                if history.val_loss[-1] < best_loss:
                    best_loss, best_state, since_best = history.val_loss[-1], model.state_dict(), 0
                    history.best_epoch = epoch
                else:
                    since_best += 1
                    stop = stop or since_best >= early_stopping
            if stop:
                if epoch < epochs - 1:
                    history.stopped_epoch = epoch
                break
    finally:
        bar.close()
        model.input_requires_grad = input_requires_grad
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


__all__ = ["Callback", "History", "evaluate", "fit", "predict"]
