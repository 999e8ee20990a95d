r"""Batch normalisation: ``BatchNorm1d`` and ``BatchNorm2d`` (Ioffe & Szegedy, 2015).

Both normalise each channel (axis 1) over every other axis; they differ only
in the input shapes they accept, so the math lives once, in ``_BatchNorm``.

Book: §1.2 (CNN building blocks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_xp
from ..checks import check_positive, check_positive_int, check_probability
from ._validate import check_input
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    r"""Per-channel batch normalisation; subclasses fix the accepted input ranks.

    For one channel with :math:`M` values :math:`x_i` (all batch and spatial
    positions), training mode computes

    .. math::

        \mu = \frac1M\sum_i x_i,\qquad
        \sigma^2 = \frac1M\sum_i (x_i - \mu)^2,\qquad
        \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}},\qquad
        y_i = \gamma \hat x_i + \beta,

    with the *biased* variance, and updates the running statistics with the
    *unbiased* one, as PyTorch does:

    .. math::

        \hat\mu \leftarrow (1 - m)\hat\mu + m\mu,\qquad
        \hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 + m\frac{M}{M-1}\sigma^2.

    Evaluation mode uses :math:`\hat\mu, \hat\sigma^2` in place of
    :math:`\mu, \sigma^2`. With :math:`\delta_i = \partial L/\partial y_i`,

    .. math::

        \frac{\partial L}{\partial \beta} = \sum_i \delta_i,\qquad
        \frac{\partial L}{\partial \gamma} = \sum_i \delta_i \hat x_i,

    and, in training mode (where :math:`\mu` and :math:`\sigma^2` depend on
    every :math:`x_i`), the compact form

    .. math::

        \frac{\partial L}{\partial x_i} = \frac{\gamma}{M\sqrt{\sigma^2+\epsilon}}
        \Big(M\delta_i - \sum_j \delta_j - \hat x_i \sum_j \delta_j \hat x_j\Big);

    in evaluation mode the statistics are constants and
    :math:`\partial L/\partial x_i = \gamma\,\delta_i / \sqrt{\hat\sigma^2+\epsilon}`.

    Parameters
    ----------
    num_features : int
        Number of channels :math:`C`.
    eps : float, default 1e-5
        :math:`\epsilon`, added to the variance.
    momentum : float in [0, 1], default 0.1
        :math:`m`, weight of the new batch in the running statistics.
    affine : bool, default True
        Learn :math:`\gamma` (``weight``) and :math:`\beta` (``bias``).
    track_running_stats : bool, default True
        Keep running statistics for evaluation mode. When False, the
        buffers are ``None`` and batch statistics are used in both modes
        (as in PyTorch).

    Attributes
    ----------
    weight : Parameter, shape ``(C,)``, or None
        :math:`\gamma`, initialised to ones; not prunable.
    bias : Parameter, shape ``(C,)``, or None
        :math:`\beta`, initialised to zeros; not prunable.
    running_mean, running_var : array, shape ``(C,)``, or None
        Buffers, initialised to zeros and ones.

    References
    ----------
    S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep Network
    Training by Reducing Internal Covariate Shift", ICML 2015.

    Notes
    -----
    Two paths compute these formulas. The plain one reduces ``x`` over every
    axis but the channels. When ``x`` comes from a :class:`~nnprune.nn.Conv2d`
    its memory order is ``(C, H, W, N)``, so ``x`` is, without a copy, a
    ``(C, M)`` matrix whose rows are the channels; the fast path then works on
    those contiguous rows (one pass per statistic, in-place updates), about
    twice as fast. :meth:`_channel_rows` decides which runs; the tests check
    that both give the same numbers.

    Book: §1.2.
    """

    _ndims: tuple[int, ...] = ()
    _shapes: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = check_positive_int("num_features", num_features)
        self.eps = check_positive("eps", eps)
        self.momentum = check_probability("momentum", momentum, upper_inclusive=True)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, np.float32), prunable=False)
            self.bias = Parameter(np.zeros(c, np.float32), prunable=False)
        else:
            self.weight = None
            self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, np.float32))
            self.register_buffer("running_var", np.ones(c, np.float32))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
        self._xhat = None
        self._inv_std = None
        self._batch_stats = False

    def _check(self, x: Any) -> None:
        check_input(self, x)
        if x.ndim not in self._ndims:
            raise ValueError(
                f"{type(self).__name__} expects input of shape {self._shapes}, "
                f"got shape {tuple(x.shape)}"
            )
        check_input(self, x, channels=self.num_features)

    @staticmethod
    def _channel_rows(x: Any) -> Any:
        """``x`` as a ``(C, M)`` view with contiguous rows, or ``None`` if that needs a copy.

        True for ``(N, C, H, W)`` arrays stored in ``(C, H, W, N)`` order (a
        convolution's output); the fast path runs on this view.
        """
        if x.ndim != 4:
            return None
        rows = x.transpose(1, 2, 3, 0)
        return rows.reshape(x.shape[1], -1) if rows.flags.c_contiguous else None

    def forward(self, x: Any) -> Any:
        self._check(x)
        xp = get_xp(x)
        x2 = self._channel_rows(x)
        axes = (0, *range(2, x.ndim))  # every axis but the channels
        bshape = (1, self.num_features) + (1,) * (x.ndim - 2)  # broadcast (C,) over x
        count = x.size // self.num_features  # M: values per channel
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if count <= 1:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, "
                    f"got input of shape {tuple(x.shape)}"
                )
            if x2 is not None:  # fast path: contiguous channel rows
                mean = x2.mean(axis=1)
                centred = x2 - mean[:, None]
                var = xp.einsum("cm,cm->c", centred, centred) / count  # biased
            else:
                mean = x.mean(axis=axes)
                var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)  # biased
            if self.training and self.track_running_stats:
                m = self.momentum
                unbiased = var * (count / (count - 1))
                rm, rv = self.running_mean, self.running_var
                self.running_mean = ((1 - m) * rm + m * mean).astype(rm.dtype)
                self.running_var = ((1 - m) * rv + m * unbiased).astype(rv.dtype)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype)
        if x2 is not None:  # fast path: (C, M) rows, output in x's (C, H, W, N) order
            if not use_batch:
                centred = x2 - mean.astype(x.dtype)[:, None]
            centred *= inv_std[:, None]  # xhat, in place
            n, c, h, w = x.shape
            xhat = centred.reshape(c, h, w, n).transpose(3, 0, 1, 2)  # (N, C, H, W) view
            self._xhat, self._inv_std, self._batch_stats = xhat, inv_std, use_batch
            if not self.affine:
                return xhat
            y = centred * self.weight.data[:, None]
            y += self.bias.data[:, None]
            return y.reshape(c, h, w, n).transpose(3, 0, 1, 2)
        xhat = (x - mean.reshape(bshape).astype(x.dtype)) * inv_std.reshape(bshape)
        self._xhat, self._inv_std, self._batch_stats = xhat, inv_std, use_batch
        if not self.affine:
            return xhat
        return xhat * self.weight.data.reshape(bshape) + self.bias.data.reshape(bshape)

    def backward(self, dout: Any) -> Any:
        xhat = self._xhat
        if xhat is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        axes = (0, *range(2, xhat.ndim))
        bshape = (1, self.num_features) + (1,) * (xhat.ndim - 2)
        count = xhat.size // self.num_features
        d2, xhat2 = self._channel_rows(dout), self._channel_rows(xhat)
        if d2 is not None and xhat2 is not None:
            return self._backward_rows(d2, xhat2, count, dout.shape)
        dbeta = dout.sum(axis=axes)
        dgamma = (dout * xhat).sum(axis=axes)
        if self.affine:
            self.weight.grad += dgamma
            self.bias.grad += dbeta
            scale = self.weight.data * self._inv_std  # gamma / sqrt(var + eps), (C,)
        else:
            scale = self._inv_std
        if not self._batch_stats:
            return dout * scale.reshape(bshape)
        return (scale / count).reshape(bshape) * (
            count * dout - dbeta.reshape(bshape) - xhat * dgamma.reshape(bshape)
        )

    def _backward_rows(self, d2: Any, xhat2: Any, count: int, shape: tuple[int, ...]) -> Any:
        """The backward formulas on ``(C, M)`` channel rows (fast path)."""
        xp = get_xp(d2)
        dbeta = d2.sum(axis=1)
        dgamma = xp.einsum("cm,cm->c", d2, xhat2)
        if self.affine:
            self.weight.grad += dgamma
            self.bias.grad += dbeta
            scale = self.weight.data * self._inv_std
        else:
            scale = self._inv_std
        n, c, h, w = shape
        dx = d2 * scale[:, None]
        if self._batch_stats:  # scale/M * (M d - sum d - xhat sum(d xhat))
            t = xhat2 * (scale * dgamma / count)[:, None]
            dx -= t
            dx -= (scale * dbeta / count)[:, None]
        return dx.reshape(c, h, w, n).transpose(3, 0, 1, 2)  # (N, C, H, W), (C, H, W, N) order

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over ``(N, C)`` or ``(N, C, L)`` inputs.

    See :class:`_BatchNorm` for the math; statistics are per channel over
    the batch (and length) axes.

    Examples
    --------
    >>> import numpy as np
    >>> from nnprune import nn
    >>> bn = nn.BatchNorm1d(3)
    >>> y = bn(np.arange(12.0).reshape(4, 3))
    >>> np.allclose(y.mean(axis=0), 0.0)
    True

    Book: §1.2.
    """

    _ndims = (2, 3)
    _shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over ``(N, C, H, W)`` inputs.

    See :class:`_BatchNorm` for the math; statistics are per channel over
    the batch and both spatial axes.

    Book: §1.2.
    """

    _ndims = (4,)
    _shapes = "(N, C, H, W)"


__all__ = ["BatchNorm1d", "BatchNorm2d"]
