r"""``Linear``: the fully connected layer :math:`y = x W^\top + b`.

Book: §1.1 (the neuron: weighted sum plus bias), §1.2 (MLP).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import check_positive_int
from ..rng import SeedLike
from ._validate import check_input
from .init import default_init_
from .module import Module
from .parameter import Parameter


class Linear(Module):
    r"""Fully connected layer.

    .. math::

        y = x W^\top + b,\qquad
        \frac{\partial L}{\partial W} = \delta^\top x,\qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_n,\qquad
        \frac{\partial L}{\partial x} = \delta W,

    with :math:`\delta = \partial L/\partial y`. Any leading dimensions are
    allowed: ``x`` of shape ``(..., in_features)`` gives ``(..., out_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool, default True
        Whether to learn an additive bias.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights (PyTorch's default initialisation,
        :func:`nnprune.nn.init.default_init_`).

    Attributes
    ----------
    weight : Parameter, shape ``(out_features, in_features)``, prunable.
    bias : Parameter, shape ``(out_features,)``, or ``None``.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, seed: SeedLike = None
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        self.weight = Parameter(np.zeros((out_features, in_features), np.float32), prunable=True)
        self.bias = Parameter(np.zeros(out_features, np.float32)) if bias else None
        default_init_(self.weight, self.bias, seed)
        self._x = None

    def forward(self, x: Any) -> Any:
        check_input(self, x, min_ndim=2, last_dim=self.in_features)
        self._x = x
        y = x @ self.weight.data.T  # (..., out)
        if self.bias is not None:
            y += self.bias.data  # in place: y is a fresh array
        return y

    def backward(self, dout: Any) -> Any:
        x = self._x
        if x is None:
            raise RuntimeError("Linear.backward called before forward")
        expected = (*x.shape[:-1], self.out_features)
        if tuple(getattr(dout, "shape", ())) != expected:
            raise ValueError(
                f"Linear.backward: dout has shape {tuple(getattr(dout, 'shape', ()))}, expected "
                f"{expected} (the output of the last forward)"
            )
        x2 = x.reshape(-1, self.in_features)  # (N*, in)
        d2 = dout.reshape(-1, self.out_features)  # (N*, out)
        self.weight.grad += d2.T @ x2
        if self.bias is not None:
            self.bias.grad += d2.sum(axis=0)
        if not self.input_requires_grad:  # see Module: PyTorch's x.requires_grad = False
            return None
        return dout @ self.weight.data

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
