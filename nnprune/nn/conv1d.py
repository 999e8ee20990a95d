r"""``Conv1d``: 1-D convolution (cross-correlation, as in PyTorch) by im2col + one GEMM.

A 1-D convolution over ``(N, C, L)`` is the 2-D one over ``(N, C, 1, L)`` with
a ``(1, k)`` kernel, so it reuses :func:`~nnprune.nn._im2col.im2col` and its
adjoint :func:`~nnprune.nn._im2col.col2im`.

Book: §1.2 (CNN: convolutional layers), used by the speech case study (§6.3, §7.3).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..checks import check_positive_int
from ..rng import SeedLike
from ._im2col import col2im, conv_output_size, im2col
from ._validate import check_input
from .init import default_init_
from .module import Module
from .parameter import Parameter


def _single(name: str, value: Any, minimum: int) -> tuple[int]:
    """An int or a 1-tuple of ints, each at least ``minimum``, as PyTorch's ``(v,)``."""
    single = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    if len(single) != 1 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum for v in single
    ):
        raise ValueError(f"{name} must be an int >= {minimum} or a 1-tuple of one, got {value!r}")
    return (int(single[0]),)


class Conv1d(Module):
    r"""1-D convolution over ``(N, C_in, L)`` sequences.

    .. math::

        y[n, o, p] = b_o + \sum_{c, j} W[o, c, j]\; x^{\text{pad}}[n, c,\; p s + j],
        \qquad L_{out} = \lfloor (L + 2p - k)/s \rfloor + 1.

    With :math:`X = \mathrm{im2col}(x)` of shape ``(C_in*k, N*L_out)`` and
    :math:`W` reshaped to ``(C_out, C_in*k)``, and
    :math:`\Delta = \partial L/\partial y` reshaped to ``(C_out, N*L_out)``:

    .. math::

        Y = W X + b\mathbf 1^\top,\qquad
        \frac{\partial L}{\partial W} = \Delta X^\top,\qquad
        \frac{\partial L}{\partial b} = \Delta \mathbf 1,\qquad
        \frac{\partial L}{\partial x} = \mathrm{col2im}\!\left(W^\top \Delta\right).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int
        Kernel length :math:`k` (a 1-tuple is accepted too, as in PyTorch).
    stride : int, default 1
    padding : int, default 0
        Zeros added to both ends of the sequence.
    bias : bool, default True
        Whether to learn an additive bias per output channel.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights (PyTorch's default initialisation,
        :func:`nnprune.nn.init.default_init_`, fan-in ``C_in*k``).

    Attributes
    ----------
    weight : Parameter, shape ``(out_channels, in_channels, k)``, prunable.
    bias : Parameter, shape ``(out_channels,)``, or ``None``.
    kernel_size, stride, padding : tuple of one int
        As PyTorch stores them, e.g. ``(3,)``.

    Book: §1.2 (CNN).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] = 0,
        bias: bool = True,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.kernel_size = _single("kernel_size", kernel_size, minimum=1)
        self.stride = _single("stride", stride, minimum=1)
        self.padding = _single("padding", padding, minimum=0)
        shape = (self.out_channels, self.in_channels, self.kernel_size[0])
        self.weight = Parameter(np.zeros(shape, np.float32), prunable=True)
        self.bias = Parameter(np.zeros(self.out_channels, np.float32)) if bias else None
        default_init_(self.weight, self.bias, seed)
        self._cols = None
        self._x_shape = None

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """``(N, C_out, L_out)`` for an input of shape ``(N, C_in, L)``."""
        n, _, length = x_shape
        l_out = conv_output_size(length, self.kernel_size[0], self.stride[0], self.padding[0])
        return n, self.out_channels, l_out

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=3, channels=self.in_channels)
        n, _, l_out = self.output_shape(x.shape)
        if l_out < 1:
            raise ValueError(
                f"Conv1d: input of shape {tuple(x.shape)} is shorter than kernel_size "
                f"{self.kernel_size} with padding {self.padding}"
            )
        x4 = x[:, :, None, :]  # (N, C, 1, L): a view
        cols = im2col(x4, *self._geometry())  # (C*k, N*L_out)
        self._cols, self._x_shape = cols, x4.shape
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*k)
        y = w2 @ cols  # (C_out, N*L_out)
        if self.bias is not None:
            y += self.bias.data[:, None]
        return y.reshape(self.out_channels, n, l_out).transpose(1, 0, 2)  # (N, C_out, L_out)

    def backward(self, dout: Any) -> Any:
        if self._cols is None:
            raise RuntimeError("Conv1d.backward called before forward")
        n, c, _, length = self._x_shape
        expected = self.output_shape((n, c, length))
        if tuple(getattr(dout, "shape", ())) != expected:
            raise ValueError(
                f"Conv1d.backward expects dout of shape {expected} (the output's), "
                f"got {tuple(getattr(dout, 'shape', ()))}"
            )
        d2 = dout.transpose(1, 0, 2).reshape(self.out_channels, -1)  # (C_out, N*L_out)
        self.weight.grad += (d2 @ self._cols.T).reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += d2.sum(axis=1)
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*k)
        dcols = w2.T @ d2  # (C*k, N*L_out)
        dx4 = col2im(dcols, self._x_shape, *self._geometry())  # (N, C, 1, L)
        return dx4[:, :, 0, :]  # (N, C, L)

    def _geometry(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        return (1, self.kernel_size[0]), (1, self.stride[0]), (0, self.padding[0])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
