r"""``MaxPool2d`` and ``AvgPool2d``: down-sampling over ``kH x kW`` windows.

Two paths compute the same thing:

* the fast path, for windows that tile the image (``stride == kernel_size``,
  no padding): the image is cut by a reshape, a view with no copy,
  ``(N, C, OH*kH, OW*kW) -> (N, C, OH, kH, OW, kW)``; rows and columns past
  ``OH*kH`` and ``OW*kW`` are dropped, as PyTorch's floor rule drops them.
  The layer then loops over the ``kH*kW`` kernel offsets, each a strided
  ``(N, C, OH, OW)`` slice of that view: NumPy reduces a length-4 axis far
  more slowly than it combines four whole arrays element-wise;
* the general path (overlapping windows, padding) through
  :func:`nnprune.nn._im2col.im2col` with batch-last columns.

Gradients are allocated in the memory order of the input (``zeros_like``), so
that after a :class:`~nnprune.nn.Conv2d` every array in the chain keeps that
layer's ``(C, H, W, N)`` order and no layout change costs a copy.

Book: §1.2 (CNN: pooling layers).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_pair
from ._im2col import col2im, conv_output_size, im2col
from ._validate import check_input
from .module import Module


class _Pool2d(Module):
    """Shared arguments, checks and window views of the 2-D pooling layers."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = check_pair("kernel_size", kernel_size, minimum=1)
        self.stride = self.kernel_size if stride is None else check_pair("stride", stride)
        self.padding = check_pair("padding", padding, minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"padding must be at most half of kernel_size {self.kernel_size}, "
                f"got {self.padding}"
            )
        self._x = None
        self._x_shape = None
        self._fast = False

    def _prepare(self, x: Any) -> tuple[int, int]:
        check_input(self, x, ndim=4)
        _, _, h, w = x.shape
        oh = conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0])
        ow = conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1])
        if oh < 1 or ow < 1:
            raise ValueError(
                f"{type(self).__name__}: input of shape {tuple(x.shape)} is smaller than "
                f"kernel_size {self.kernel_size}"
            )
        self._x, self._x_shape = x, x.shape
        self._fast = self.stride == self.kernel_size and self.padding == (0, 0)
        return oh, ow

    def _tiles(self, x: Any, oh: int, ow: int) -> Any:
        """View ``(N, C, OH, kH, OW, kW)`` of the tiled part of ``x`` (no copy)."""
        n, c, _, _ = x.shape
        kh, kw = self.kernel_size
        return x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)  # (N, C, OH, kH, OW, kW)

    def _offsets(self) -> list[tuple[int, int]]:
        """Kernel offsets ``(i, j)`` in row-major order (the order PyTorch scans a window)."""
        return [(i, j) for i in range(self.kernel_size[0]) for j in range(self.kernel_size[1])]

    def _zeros_like_input(self, dtype: Any, covered: bool = False) -> Any:
        """Zero gradient shaped and laid out in memory like the input (order ``"K"``).

        Keeping the input's memory order (e.g. ``(C, N, H, W)`` after a
        convolution) lets the next layer's backward reshape it without a copy.
        With ``covered`` (the caller writes every entry) the array is left
        uninitialised: no pass over memory that is overwritten anyway.
        """
        xp = get_xp(self._x)
        return (xp.empty_like if covered else xp.zeros_like)(self._x, dtype=dtype)

    def _tiled_exactly(self, oh: int, ow: int) -> bool:
        """Whether the ``OH x OW`` windows of the fast path cover the whole input."""
        h, w = self._x_shape[2:]
        return oh * self.kernel_size[0] == h and ow * self.kernel_size[1] == w

    def _cols(self, x: Any, pad_value: float) -> Any:
        """Windows as ``(C, kH*kW, OH*OW*N)`` via im2col (batch-last columns)."""
        c = x.shape[1]
        cols = im2col(x, *self._geometry(), pad_value, batch_last=True)  # (C*kH*kW, OH*OW*N)
        return cols.reshape(c, -1, cols.shape[1])  # (C, kH*kW, OH*OW*N)

    def _col2im(self, dcols: Any) -> Any:
        """Scatter ``(C, kH*kW, OH*OW*N)`` window gradients back to the input."""
        dcols = dcols.reshape(-1, dcols.shape[2])  # (C*kH*kW, OH*OW*N)
        return col2im(dcols, self._x_shape, *self._geometry(), batch_last=True)

    def _geometry(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        return self.kernel_size, self.stride, self.padding

    def _from_cols(self, y: Any, oh: int, ow: int) -> Any:
        """``(C, OH*OW*N)`` -> ``(N, C, OH, OW)`` view."""
        n, c = self._x_shape[:2]
        return y.reshape(c, oh, ow, n).transpose(3, 0, 1, 2)  # (N, C, OH, OW)

    def _to_cols(self, dout: Any) -> Any:
        """``(N, C, OH, OW)`` -> ``(C, OH*OW*N)``."""
        return dout.transpose(1, 2, 3, 0).reshape(dout.shape[1], -1)  # (C, OH*OW*N)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    r"""Maximum over each ``kH x kW`` window (padding counts as :math:`-\infty`).

    .. math::

        y[n, c, p, q] = \max_{i, j}\; x^{\text{pad}}[n, c,\; p s_H + i,\; q s_W + j],
        \qquad
        \frac{\partial L}{\partial x^{\text{pad}}[n, c, p s_H + i^*, q s_W + j^*]}
            \mathrel{+}= \frac{\partial L}{\partial y[n, c, p, q]},

    where :math:`(i^*, j^*)` is the *first* maximum of the window in row-major
    order, as in PyTorch; every other entry of the window gets no gradient.

    On the fast path the training-mode forward records :math:`(i^*, j^*)`; after
    an ``eval()`` forward (inference: usually no backward follows) it is found
    from the cached input when :meth:`backward` is called. Same result either way.

    Parameters
    ----------
    kernel_size : int or pair of int
    stride : int or pair of int, optional
        Defaults to ``kernel_size``.
    padding : int or pair of int, default 0
        At most half the kernel size (as PyTorch requires).
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self._argmax = None

    def forward(self, x: Any) -> Any:
        oh, ow = self._prepare(x)
        if self._fast:
            self._argmax = None
            if self.training:
                best, self._argmax = self._tiled_max(x, oh, ow, argmax=True)
                return best
            # eval(): backward is rare here (e.g. saliency scores); it finds argmax then.
            return self._tiled_max(x, oh, ow, argmax=False)[0]
        cols = self._cols(x, float("-inf"))  # (C, kH*kW, OH*OW*N)
        self._argmax = cols.argmax(axis=1)[:, None]  # (C, 1, OH*OW*N), first max
        return self._from_cols(cols.max(axis=1), oh, ow)

    def _tiled_max(self, x: Any, oh: int, ow: int, argmax: bool) -> tuple[Any, Any]:
        """Fast path: ``(y, argmax)`` (``argmax`` ``None`` unless asked), both ``(N, C, OH, OW)``.

        ``argmax`` is the row-major offset of the first maximum in each window.
        """
        xp = get_xp(x)
        tiles = self._tiles(x, oh, ow)  # (N, C, OH, kH, OW, kW) view
        best = tiles[:, :, :, 0, :, 0].copy(order="K")  # (N, C, OH, OW)
        index = None
        if argmax:
            # One byte per output is enough for windows of up to 255 entries.
            index_type = xp.uint8 if len(self._offsets()) <= 256 else xp.int32
            index = xp.zeros_like(best, dtype=index_type)  # same memory order as best
        for k, (i, j) in enumerate(self._offsets()[1:], start=1):
            window = tiles[:, :, :, i, :, j]  # (N, C, OH, OW) view, offset (i, j)
            if index is not None:
                # Strictly greater keeps the first maximum; k grows, so max() keeps the last win.
                xp.maximum(index, (window > best) * index_type(k), out=index)
            xp.maximum(best, window, out=best)
        return best, index

    def backward(self, dout: Any) -> Any:
        if self._x is None:
            raise RuntimeError("MaxPool2d.backward called before forward")
        xp = get_xp(dout)
        kk = self.kernel_size[0] * self.kernel_size[1]
        if self._fast:
            if self._argmax is None:  # forward ran in eval mode
                self._argmax = self._tiled_max(self._x, *dout.shape[2:], argmax=True)[1]
            dx = self._zeros_like_input(dout.dtype, self._tiled_exactly(*dout.shape[2:]))
            dtiles = self._tiles(dx, *dout.shape[2:])  # (N, C, OH, kH, OW, kW) view into dx
            # One copy into the memory order of dx and argmax (dout may come in another,
            # e.g. from Flatten): the kH*kW products below then run over aligned arrays.
            aligned = xp.empty_like(self._argmax, dtype=dout.dtype)
            aligned[...] = dout
            for k, (i, j) in enumerate(self._offsets()):
                xp.multiply(aligned, self._argmax == k, out=dtiles[:, :, :, i, :, j])
            return dx
        d2 = self._to_cols(dout)  # (C, OH*OW*N)
        winner = xp.arange(kk)[None, :, None] == self._argmax  # (C, kH*kW, OH*OW*N)
        return self._col2im(winner * d2[:, None])


class AvgPool2d(_Pool2d):
    r"""Mean over each ``kH x kW`` window; padded zeros count (``count_include_pad=True``).

    .. math::

        y[n, c, p, q] = \frac{1}{k_H k_W}\sum_{i, j}
            x^{\text{pad}}[n, c,\; p s_H + i,\; q s_W + j],\qquad
        \frac{\partial L}{\partial x} =
            \mathrm{col2im}\!\left(\tfrac{1}{k_H k_W}\,\mathbf 1\,\delta^\top\right),

    i.e. each window entry receives :math:`\delta[n, c, p, q] / (k_H k_W)`.

    Parameters
    ----------
    kernel_size : int or pair of int
    stride : int or pair of int, optional
        Defaults to ``kernel_size``.
    padding : int or pair of int, default 0
        At most half the kernel size (as PyTorch requires).
    """

    def forward(self, x: Any) -> Any:
        if getattr(getattr(x, "dtype", None), "kind", "f") in "biu":  # mean of integers: float
            x = x.astype(get_xp(x).float64)
        oh, ow = self._prepare(x)
        if self._fast:
            tiles = self._tiles(x, oh, ow)  # (N, C, OH, kH, OW, kW) view
            total = tiles[:, :, :, 0, :, 0].copy(order="K")  # (N, C, OH, OW)
            for i, j in self._offsets()[1:]:
                total += tiles[:, :, :, i, :, j]
            total /= self.kernel_size[0] * self.kernel_size[1]
            return total
        return self._from_cols(self._cols(x, 0.0).mean(axis=1), oh, ow)

    def backward(self, dout: Any) -> Any:
        if self._x_shape is None:
            raise RuntimeError("AvgPool2d.backward called before forward")
        xp = get_xp(dout)
        kh, kw = self.kernel_size
        share = dout * (1.0 / (kh * kw))  # (N, C, OH, OW), a new array: dout is not touched
        if self._fast:
            dx = self._zeros_like_input(dout.dtype, self._tiled_exactly(*dout.shape[2:]))
            dtiles = self._tiles(dx, *dout.shape[2:])  # (N, C, OH, kH, OW, kW) view into dx
            for i, j in self._offsets():
                dtiles[:, :, :, i, :, j] = share
            return dx
        d2 = self._to_cols(share)  # (C, OH*OW*N)
        return self._col2im(xp.broadcast_to(d2[:, None], (d2.shape[0], kh * kw, d2.shape[1])))
