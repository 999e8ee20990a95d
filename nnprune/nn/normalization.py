r"""``LayerNorm``: normalise each sample over its last dimension(s) (Ba et al., 2016).

Unlike batch normalisation, the statistics are per sample, so training and
evaluation compute the same thing and a batch of one is fine: the norm of
choice in Transformers.

Book: §1.2 (Transformers).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..backend import get_xp
from ..checks import check_positive
from ._validate import check_input
from .module import Module
from .parameter import Parameter


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` dimensions.

    For one sample with the :math:`M` values :math:`x_i` of the normalised
    dimensions,

    .. math::

        \mu = \frac1M\sum_i x_i,\qquad
        \sigma^2 = \frac1M\sum_i (x_i - \mu)^2,\qquad
        \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}},\qquad
        y_i = \gamma_i \hat x_i + \beta_i,

    with the biased variance (as PyTorch). With :math:`\delta = \partial L/\partial y`
    and :math:`g_i = \gamma_i \delta_i`,

    .. math::

        \frac{\partial L}{\partial \gamma_i} = \sum_{\text{samples}} \delta_i \hat x_i,\qquad
        \frac{\partial L}{\partial \beta_i} = \sum_{\text{samples}} \delta_i,\qquad
        \frac{\partial L}{\partial x_i} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
        \Big(g_i - \frac1M\sum_j g_j - \hat x_i\,\frac1M\sum_j g_j \hat x_j\Big).

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The trailing shape to normalise over, e.g. ``d_model`` for ``(N, T, d_model)``.
    eps : float, default 1e-5
        Added to the variance for stability.
    elementwise_affine : bool, default True
        Learn :math:`\gamma` (ones) and :math:`\beta` (zeros) of ``normalized_shape``.

    Attributes
    ----------
    weight, bias : Parameter of shape ``normalized_shape`` or ``None``; not prunable.

    References
    ----------
    J. L. Ba, J. R. Kiros and G. E. Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Book: §1.2.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,)
            if isinstance(normalized_shape, numbers.Integral)
            else tuple(normalized_shape)
        )
        if not shape or any(
            isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in shape
        ):
            raise ValueError(
                "normalized_shape must be a positive int or a non-empty tuple of them, "
                f"got {normalized_shape!r}"
            )
        eps = check_positive("eps", eps)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, np.float32))
            self.bias = Parameter(np.zeros(self.normalized_shape, np.float32))
        else:
            self.weight = None
            self.bias = None
        self._xhat = None
        self._inv_std = None

    def _axes(self) -> tuple[int, ...]:
        return tuple(range(-len(self.normalized_shape), 0))

    def forward(self, x: Any) -> Any:
        k = len(self.normalized_shape)
        check_input(self, x, min_ndim=k)
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(
                f"LayerNorm expects an input whose last {k} dimension(s) are "
                f"{self.normalized_shape}, got shape {tuple(x.shape)}"
            )
        xp = get_xp(x)
        axes = self._axes()
        mu = x.mean(axis=axes, keepdims=True)
        centred = x - mu
        var = (centred * centred).mean(axis=axes, keepdims=True)
        self._inv_std = 1.0 / xp.sqrt(var + self.eps)
        self._xhat = centred * self._inv_std
        if self.weight is None:
            return self._xhat.copy()
        return self._xhat * self.weight.data + self.bias.data

    def backward(self, dout: Any) -> Any:
        if self._xhat is None:
            raise RuntimeError("LayerNorm.backward called before forward")
        axes, xhat = self._axes(), self._xhat
        lead = tuple(range(xhat.ndim - len(self.normalized_shape)))
        if self.weight is None:
            g = dout
        else:
            self.weight.grad += (dout * xhat).sum(axis=lead)
            self.bias.grad += dout.sum(axis=lead)
            g = dout * self.weight.data
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = (g * xhat).mean(axis=axes, keepdims=True)
        return self._inv_std * (g - mean_g - xhat * mean_gx)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


__all__ = ["LayerNorm"]
