"""Shared plumbing of the saliency methods: data checks, batches, a clean forward/backward.

Every score here is computed in **evaluation mode** (Dropout off, BatchNorm on
its running statistics): the score is then a deterministic function of the
weights and the data, and computing it does not move BatchNorm's running
statistics. :func:`preserved` restores each module's train/eval flag and every
parameter's ``grad`` afterwards, so asking for a score leaves the model as it was.

Book: §4.3
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..backend import backend_of, to_backend
from ..checks import check_positive_int
from ..nn.module import Module


def check_model(model: Any) -> Module:
    """Return ``model`` if it is an nnprune ``Module`` with parameters, else raise ``TypeError``."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError("model has no parameters to score")
    return model


def check_data(data: Any, name: str = "data") -> tuple[Any, Any]:
    """Return ``(X, y)`` after checking it is a pair of arrays with the same sample count."""
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise TypeError(f"{name} must be a pair (X, y) of arrays, got {type(data).__name__}")
    X, y = data
    if not hasattr(X, "shape") or not hasattr(y, "shape"):
        raise TypeError(f"{name} must hold arrays, got {type(X).__name__} and {type(y).__name__}")
    if len(X.shape) == 0 or X.shape[0] == 0:
        raise ValueError(f"{name} has no samples (X has shape {tuple(X.shape)})")
    if len(y.shape) == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: X and y must have the same number of samples, got shapes "
            f"{tuple(X.shape)} and {tuple(y.shape)}"
        )
    return X, y


def check_batching(batch_size: Any, n_batches: Any) -> tuple[int | None, int | None]:
    """Validate ``batch_size`` (None = one batch of everything) and ``n_batches`` (None = all)."""
    for name, value in (("batch_size", batch_size), ("n_batches", n_batches)):
        if value is not None:
            check_positive_int(name, value)
    return batch_size, n_batches


def iter_batches(
    model: Module, data: Any, batch_size: int | None, n_batches: int | None
) -> Iterator[tuple[Any, Any]]:
    """Consecutive, unshuffled batches of ``data`` on the model's backend.

    No shuffling: the same call gives the same scores. ``n_batches`` caps the count.
    """
    X, y = check_data(data)
    size = X.shape[0] if batch_size is None else batch_size
    backend = backend_of(next(model.parameters()).data)
    for b, start in enumerate(range(0, X.shape[0], size)):
        if n_batches is not None and b >= n_batches:
            return
        xb, yb = X[start : start + size], y[start : start + size]
        yield to_backend(xb, backend), to_backend(yb, backend)


def loss_and_backward(model: Module, loss_fn: Any, xb: Any, yb: Any) -> float:
    """``zero_grad``, forward, loss, backward: fills every ``p.grad`` with the dense gradient."""
    model.zero_grad()
    loss = loss_fn.forward(model.forward(xb), yb)
    model.backward(loss_fn.backward())
    return float(loss)


@contextmanager
def preserved(model: Module) -> Iterator[Module]:
    """Run the body in eval mode; restore every module's mode and every ``grad`` afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.grad.copy()) for p in model.parameters()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            # Set each module's own flag: Module.train would also reset its children.
            object.__setattr__(m, "training", training)
        for p, g in grads:
            if p.grad.shape == g.shape:
                p.grad[...] = g
