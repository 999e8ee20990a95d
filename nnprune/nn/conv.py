r"""``Conv2d``: 2-D convolution (cross-correlation, as in PyTorch) by im2col + one GEMM.

Book: §1.2 (CNN: convolutional layers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import get_xp
from ..checks import check_pair, check_positive_int
from ..rng import SeedLike
from ._im2col import col2im_add, conv_output_size, im2col, pad_images, workspace
from ._validate import check_input
from .init import default_init_
from .module import Module
from .parameter import Parameter

SCRATCH_BYTES = 16 * 2**20
"""Largest band of the im2col matrix Conv2d unfolds at once (bytes)."""


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

    Memory: the forward pass keeps a reference to its input ``x``, not the
    ``C_in*kH*kW`` times larger column matrix :math:`X`; the backward pass
    unfolds ``x`` again. :math:`X` is never whole in memory: both passes go
    over bands of output rows (its column blocks), each unfolded into one
    scratch array of at most ``SCRATCH_BYTES`` shared by every convolution
    (:func:`nnprune.nn._im2col.workspace`), and the backward pass writes
    :math:`W^\top\Delta` over that band once its share of
    :math:`\partial L/\partial W` is added. The products are the formulas
    above, split by columns (:math:`Y_b = W X_b`,
    :math:`\partial L/\partial W = \sum_b \Delta_b X_b^\top`); with one band
    they are literally those. This costs one extra im2col per step and keeps a
    CIFAR-sized CNN's working memory near PyTorch's instead of twice it
    (``benchmarks/bench_cifar_cnn.py``); the tests check it against the
    plain one-matrix computation.

    The input gradient :math:`\mathrm{col2im}(W^\top\Delta)` is computed as
    written, except for stride-1 layers with ``C_out <= C_in``, where the same
    numbers come faster as a convolution of :math:`\Delta` with the flipped
    kernel (:meth:`_dx_by_flipped_kernel` says which runs; the tests check both
    against the plain formula).

    With ``input_requires_grad = False`` (see :class:`~nnprune.nn.Module`),
    :meth:`backward` adds the parameter gradients and returns ``None``,
    skipping :math:`W^\top\Delta` and col2im, as PyTorch does for the first layer.
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
        self._x = None

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
        xp = get_xp(x)
        if x.dtype.kind in "biu":  # integer pixels: compute (and differentiate) in float
            x = x.astype(xp.result_type(x, self.weight.data))
        self._x = x
        if n == 0:  # an empty batch gives an empty output, as in PyTorch
            return xp.zeros((0, self.out_channels, oh, ow), dtype=x.dtype)
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*kH*kW)
        y = xp.empty((self.out_channels, oh * ow * n), dtype=xp.result_type(x, w2))
        x_pad = self._pad(x, self.padding)
        for rows, cols in self._bands(x_pad, oh, ow):  # cols: X's columns for those rows
            xp.matmul(w2, cols, out=y[:, rows])  # Y_b = W X_b, (C_out, band)
        if self.bias is not None:
            y += self.bias.data[:, None]
        return y.reshape(self.out_channels, oh, ow, n).transpose(3, 0, 1, 2)  # (N, C_out, OH, OW)

    def backward(self, dout: Any) -> Any:
        x = self._x
        if x is None:
            raise RuntimeError("Conv2d.backward called before forward")
        xp = get_xp(dout)
        if tuple(dout.shape) != (x.shape[0], self.out_channels, *self.output_shape(x.shape)[2:]):
            raise ValueError(
                f"Conv2d.backward: dout has shape {tuple(dout.shape)}, expected "
                f"{(x.shape[0], self.out_channels, *self.output_shape(x.shape)[2:])} (the "
                "output of the last forward)"
            )
        n, _, oh, ow = dout.shape
        if n == 0:  # nothing to add to the gradients
            return xp.zeros_like(x) if self.input_requires_grad else None
        # Free when dout is in the (C_out, OH, OW, N) memory order forward produced.
        d2 = dout.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)  # Delta, (C_out, OH*OW*N)
        if self.bias is not None:
            self.bias.grad += d2.sum(axis=1)
        w2 = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C*kH*kW)
        dw_t = xp.zeros_like(w2.T)  # (dL/dW)^T, (C*kH*kW, C_out): X_b Delta_b^T is faster in BLAS
        flipped = self.input_requires_grad and self._dx_by_flipped_kernel()
        dx_pad = None
        if self.input_requires_grad and not flipped:
            c, h, w = x.shape[1:]
            ph, pw = self.padding
            dx_pad = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dout.dtype)  # (C, Hp, Wp, N)
        x_pad = self._pad(x, self.padding)
        for rows, cols in self._bands(x_pad, oh, ow):  # X_b unfolded again
            d_b = d2[:, rows]  # Delta_b, (C_out, band)
            dw_t += cols @ d_b.T  # dL/dW = sum_b Delta_b X_b^T, transposed
            if dx_pad is not None:
                dcols = xp.matmul(w2.T, d_b, out=cols)  # W^T Delta_b, over X_b
                row0 = rows.start // (ow * n)
                col2im_add(dcols, dx_pad, self.kernel_size, self.stride, row0)
        self.weight.grad += dw_t.T.reshape(self.weight.shape)
        if flipped:
            return self._dx_flipped(dout)
        if dx_pad is None:  # input_requires_grad is False
            return None
        c, h, w = x.shape[1:]
        ph, pw = self.padding
        return dx_pad[:, ph : ph + h, pw : pw + w, :].transpose(3, 0, 1, 2)  # (N, C, H, W)

    def _dx_by_flipped_kernel(self) -> bool:
        r"""Whether :meth:`backward` gets dL/dx as a convolution with the flipped kernel.

        For stride 1, :math:`\partial L/\partial x` is the convolution of
        :math:`\Delta` (padded by ``k - 1 - p``) with the kernel flipped in both
        spatial axes and its channel axes swapped; its im2col matrix has
        ``C_out*kH*kW`` rows against ``C_in*kH*kW`` for :math:`W^\top\Delta`, and it
        needs no col2im. Used when ``C_out <= C_in`` (measured 1.2-1.3x faster
        on the CIFAR CNN's 32->32 and 64->64 layers; slower otherwise).
        """
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        return (
            self.stride == (1, 1)
            and self.out_channels <= self.in_channels
            and ph <= kh - 1
            and pw <= kw - 1
        )

    def _dx_flipped(self, dout: Any) -> Any:
        """dL/dx = conv(Delta, flipped kernel), stride 1, padding ``k - 1 - p``."""
        xp = get_xp(dout)
        n, c, h, w = self._x.shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        w_flip = self.weight.data[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, C_out, kH, kW)
        w_flip = w_flip.reshape(c, -1)  # (C_in, C_out*kH*kW), a copy
        d_pad = self._pad(dout, (kh - 1 - ph, kw - 1 - pw))
        dx = xp.empty((c, h * w * n), dtype=dout.dtype)  # (C_in, H*W*N)
        for rows, cols in self._bands(d_pad, h, w):
            xp.matmul(w_flip, cols, out=dx[:, rows])
        return dx.reshape(c, h, w, n).transpose(3, 0, 1, 2)  # (N, C_in, H, W)

    def _pad(self, x: Any, padding: tuple[int, int]) -> Any:
        """``x`` zero-padded, ``(N, C, Hp, Wp)`` view of a ``(C, Hp, Wp, N)`` scratch array."""
        n, c, h, w = x.shape
        ph, pw = padding
        if ph == 0 and pw == 0:
            return x
        shape = (c, h + 2 * ph, w + 2 * pw, n)
        out = workspace("conv2d.pad", shape, x.dtype, get_xp(x))
        return pad_images(x, padding, batch_last=True, out=out)

    def _bands(self, x_pad: Any, oh: int, ow: int) -> Iterator[tuple[slice, Any]]:
        """``(columns, X_b)`` for bands of output rows whose columns fit ``SCRATCH_BYTES``.

        ``X_b = im2col(x)[:, columns]`` (batch-last, kernel and stride of this
        layer, ``x_pad`` padded already), written into the shared scratch
        array: each ``X_b`` is overwritten by the next.
        """
        n, c = x_pad.shape[:2]
        k = c * self.kernel_size[0] * self.kernel_size[1]
        per_row = k * ow * n * x_pad.dtype.itemsize  # bytes of X per output row
        step = max(1, min(oh, SCRATCH_BYTES // per_row))
        xp = get_xp(x_pad)
        for p0 in range(0, oh, step):
            p1 = min(oh, p0 + step)
            out = workspace("conv2d.cols", (k, (p1 - p0) * ow * n), x_pad.dtype, xp)
            geometry = self.kernel_size, self.stride, (0, 0)  # x_pad is padded already
            cols = im2col(x_pad, *geometry, batch_last=True, out=out, rows=(p0, p1))
            yield slice(p0 * ow * n, p1 * ow * n), cols

    def _geometry(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        return self.kernel_size, self.stride, self.padding

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
