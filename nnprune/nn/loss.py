r"""Losses: ``CrossEntropyLoss`` (from logits, integer targets) and ``MSELoss``.

A loss's ``forward(input, target)`` returns a Python float and caches what
``backward()`` needs; ``backward()`` takes no argument and returns
:math:`\partial L / \partial\,\text{input}` (the start of backpropagation).

Book: §1.1 (loss functions and the start of backward propagation).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_one_of
from .module import Module

_REDUCTIONS = ("mean", "sum")


def log_softmax(logits: Any, axis: int = -1) -> Any:
    r"""Numerically stable :math:`\log\mathrm{softmax}(z)_c = z_c - m - \log\sum_k e^{z_k - m}`."""
    xp = get_xp(logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits: Any, axis: int = -1) -> Any:
    r""":math:`\mathrm{softmax}(z)_c = e^{z_c - m} / \sum_k e^{z_k - m}`, :math:`m = \max_k z_k`."""
    xp = get_xp(logits)
    e = xp.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class CrossEntropyLoss(Module):
    r"""Softmax cross-entropy from raw logits and integer class targets.

    .. math::

        L = \frac{1}{N}\sum_n -\log \mathrm{softmax}(z_n)_{y_n},\qquad
        \frac{\partial L}{\partial z_n} = \frac{\mathrm{softmax}(z_n) - e_{y_n}}{N}.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        Average or sum over the batch.
    label_smoothing : float in [0, 1), default 0
        Target distribution :math:`(1-\varepsilon)e_y + \varepsilon/C`, as in PyTorch.

    Notes
    -----
    ``logits`` may be ``(N, C)`` or ``(N, ..., C)`` (e.g. one class per time
    step); ``target`` then has shape ``(N, ...)``.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.reduction = check_one_of("reduction", reduction, _REDUCTIONS)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self._cache = None

    def forward(self, logits: Any, target: Any) -> float:
        xp = get_xp(logits)
        if not hasattr(logits, "ndim") or logits.ndim < 2:
            raise ValueError(
                f"CrossEntropyLoss expects logits of shape (N, C), got "
                f"{getattr(logits, 'shape', type(logits).__name__)}"
            )
        target = xp.asarray(target)
        if target.dtype.kind not in "iu":
            raise ValueError(
                f"CrossEntropyLoss expects integer class targets, got dtype {target.dtype}"
            )
        if target.shape != logits.shape[:-1]:
            raise ValueError(
                f"target shape {tuple(target.shape)} does not match logits shape "
                f"{tuple(logits.shape)} (expected {tuple(logits.shape[:-1])})"
            )
        n_classes = logits.shape[-1]
        if target.size and (int(target.min()) < 0 or int(target.max()) >= n_classes):
            raise ValueError(
                f"targets must be in [0, {n_classes}), got values in "
                f"[{int(target.min())}, {int(target.max())}]"
            )
        logp = log_softmax(logits)  # (N, ..., C)
        onehot = xp.zeros_like(logp)
        xp.put_along_axis(onehot, target[..., None], 1.0, axis=-1)
        eps = self.label_smoothing
        q = (1.0 - eps) * onehot + eps / n_classes if eps else onehot
        per_sample = -(q * logp).sum(axis=-1)
        count = per_sample.size if self.reduction == "mean" else 1
        self._cache = (logp, q, count)
        return float(per_sample.sum() / count)

    def backward(self) -> Any:  # type: ignore[override]
        if self._cache is None:
            raise RuntimeError("CrossEntropyLoss.backward called before forward")
        logp, q, count = self._cache
        return (get_xp(logp).exp(logp) - q) / count

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Module):
    r"""Mean squared error.

    .. math::

        L = \frac{1}{M}\sum_i (\hat y_i - y_i)^2,\qquad
        \frac{\partial L}{\partial \hat y_i} = \frac{2(\hat y_i - y_i)}{M},

    with :math:`M` the number of entries (``reduction="mean"``) or 1 (``"sum"``).
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_one_of("reduction", reduction, _REDUCTIONS)
        self._cache = None

    def forward(self, prediction: Any, target: Any) -> float:
        target = get_xp(prediction).asarray(target, dtype=prediction.dtype)
        if target.shape != prediction.shape:
            raise ValueError(
                f"MSELoss: target shape {tuple(target.shape)} does not match "
                f"prediction shape {tuple(prediction.shape)}"
            )
        diff = prediction - target
        count = diff.size if self.reduction == "mean" else 1
        self._cache = (diff, count)
        return float((diff * diff).sum() / count)

    def backward(self) -> Any:  # type: ignore[override]
        if self._cache is None:
            raise RuntimeError("MSELoss.backward called before forward")
        diff, count = self._cache
        return 2.0 * diff / count

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


__all__ = ["CrossEntropyLoss", "MSELoss", "log_softmax", "softmax"]
