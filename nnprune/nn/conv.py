r"""``Conv2d``: 2-D convolution (cross-correlation, as in PyTorch) by im2col + one GEMM.

Book: §1.2 (CNN: convolutional layers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import check_pair, check_positive_int
from ..rng import SeedLike
from ._im2col import col2im, conv_output_size, im2col
from ._validate import check_input
from .init import default_init_
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    r"""2-D convolution over ``(N, C_in, H, W)`` images.

    .. math::

        y[n, o, p, q] = b_o + \sum_{c, i, j} W[o, c, i, j]\;
            x^{\text{pad}}[n, c,\; p s_H + i,\; q s_W + j].

    Written with :math:`X = \mathrm{im2col}(x)` of shape
    ``(C_in*kH*kW, OH*OW*N)`` and :math:`W` reshaped to ``(C_out, C_in*kH*kW)``,
    the forward map is one matrix product and the gradients follow, with
    :math:`\Delta = \partial L/\partial y` reshaped to ``(C_out, OH*OW*N)``:

    .. math::

        Y = W X + b\mathbf 1^\top,\qquad
        \frac{\partial L}{\partial W} = \Delta X^\top,\qquad
        \frac{\partial L}{\partial b} = \Delta \mathbf 1,\qquad
        \frac{\partial L}{\partial x} = \mathrm{col2im}\!\left(W^\top \Delta\right).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or pair of int
        ``(kH, kW)``.
    stride : int or pair of int, default 1
    padding : int or pair of int, default 0
        Zero padding added to both sides of H and W.
    bias : bool, default True
        Whether to learn an additive bias per output channel.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights (PyTorch's default initialisation,
        :func:`nnprune.nn.init.default_init_`).

    Attributes
    ----------
    weight : Parameter, shape ``(out_channels, in_channels, kH, kW)``, prunable.
    bias : Parameter, shape ``(out_channels,)``, or ``None``.

    Notes
    -----
    im2col is called with ``batch_last=True`` (columns ordered ``(p, q, n)``,
    see :mod:`nnprune.nn._im2col`): its copies then run over long contiguous
    stretches. The output has shape ``(N, C_out, OH, OW)`` but is stored in
    memory order ``(C_out, OH, OW, N)``, the order the GEMM produces it in (a
    transposed view, no copy). Every NumPy operation accepts it; element-wise
    layers keep that order, and the next convolution reads it in place.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.kernel_size = check_pair("kernel_size", kernel_size, minimum=1)
        self.stride = check_pair("stride", stride, minimum=1)
        self.padding = check_pair("padding", padding, minimum=0)
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape, np.float32), prunable=True)
        self.bias = Parameter(np.zeros(out_channels, np.float32)) if bias else None
        default_init_(self.weight, self.bias, seed)
        self._cols = None
        self._x_shape = None

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """``(N, C_out, OH, OW)`` for an input of shape ``(N, C_in, H, W)``."""
        n, _, h, w = x_shape
        oh = conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0])
        ow = conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1])
        return n, self.out_channels, oh, ow

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=4, channels=self.in_channels)
        n, _, oh, ow = self.output_shape(x.shape)
        if oh < 1 or ow < 1:
            raise ValueError(
                f"Conv2d: input of shape {tuple(x.shape)} is smaller than kernel_size "
                f"{self.kernel_size} with padding {self.padding}"
            )
        cols = im2col(x, *self._geometry(), batch_last=True)  # (C*kH*kW, OH*OW*N)
        self._cols, self._x_shape = cols, x.shape
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*kH*kW)
        y = w2 @ cols  # (C_out, OH*OW*N)
        if self.bias is not None:
            y += self.bias.data[:, None]
        return y.reshape(self.out_channels, oh, ow, n).transpose(3, 0, 1, 2)  # (N, C_out, OH, OW)

    def backward(self, dout: Any) -> Any:
        if self._cols is None:
            raise RuntimeError("Conv2d.backward called before forward")
        # Free when dout is in the (C_out, OH, OW, N) memory order forward produced.
        d2 = dout.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)  # (C_out, OH*OW*N)
        self.weight.grad += (d2 @ self._cols.T).reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += d2.sum(axis=1)
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*kH*kW)
        dcols = w2.T @ d2  # (C*kH*kW, OH*OW*N)
        return col2im(dcols, self._x_shape, *self._geometry(), batch_last=True)

    def _geometry(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        return self.kernel_size, self.stride, self.padding

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
