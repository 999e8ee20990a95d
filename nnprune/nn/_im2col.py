r"""``im2col`` and ``col2im``: convolution and pooling as one matrix product.

``im2col`` copies every receptive field of a batch of images into a column, so
that a convolution with weight :math:`W \in \mathbb R^{C_{out}\times C k_H k_W}`
becomes one GEMM, :math:`Y = W\,\mathrm{cols}`:

.. math::

    \mathrm{cols}[(c, i, j),\,(n, p, q)] =
        x^{\text{pad}}[n, c,\; p s_H + i,\; q s_W + j],

for channel :math:`c`, kernel offset :math:`(i, j)`, sample :math:`n` and
output position :math:`(p, q)`, with
:math:`H_{out} = \lfloor (H + 2p_H - k_H)/s_H \rfloor + 1` (same for :math:`W`).

The layout is ``(C*kH*kW, N*OH*OW)``: rows are ordered like
``weight.reshape(C_out, -1)`` of a PyTorch ``(C_out, C, kH, kW)`` weight, and
columns run over the whole batch, so the batch is one GEMM and no transpose
copy is needed before or after it (the product ``(C_out, N*OH*OW)`` is a view
of an ``(N, C_out, OH, OW)`` array in memory order ``(C, N, H, W)``).

``col2im`` is the adjoint (transpose) of ``im2col``: it scatter-adds every
column entry back to the input pixel it was read from, which is exactly the
gradient :math:`\partial L/\partial x` given :math:`\partial L/\partial\,\mathrm{cols}`.
Overlapping windows (stride smaller than kernel) add up; padding is cropped.
The property :math:`\langle \mathrm{im2col}(x), c\rangle = \langle x, \mathrm{col2im}(c)\rangle`
holds for every ``x`` and ``c`` (with zero padding), and the tests check it.

A 1-D convolution is the case ``H = 1``, ``kernel_size = (1, k)``.

Book: §1.2 (CNN: convolution as a matrix product).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp

Pair = tuple[int, int]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length :math:`\\lfloor (size + 2\\,padding - kernel)/stride \\rfloor + 1`."""
    return (size + 2 * padding - kernel) // stride + 1


def pad_images(x: Any, padding: Pair, value: float = 0.0) -> Any:
    """Return ``x`` of shape ``(N, C, H, W)`` padded on H and W with ``value``.

    Returns ``x`` itself (no copy) when ``padding == (0, 0)``. Faster than
    ``numpy.pad`` because it fills one preallocated array.
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = get_xp(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def im2col(x: Any, kernel_size: Pair, stride: Pair, padding: Pair, pad_value: float = 0.0) -> Any:
    r"""Unfold the receptive fields of ``x`` into the columns of a matrix.

    Parameters
    ----------
    x : array, shape ``(N, C, H, W)``
        Images; any memory layout (a strided view is read in place).
    kernel_size, stride, padding : pair of int
        ``(kH, kW)``, ``(sH, sW)`` and ``(pH, pW)``, as in PyTorch.
    pad_value : float, default 0
        Value of the padded border (``-inf`` for max pooling).

    Returns
    -------
    cols : array, shape ``(C*kH*kW, N*OH*OW)``
        C-contiguous; row ``(c, i, j)`` and column ``(n, p, q)`` hold
        ``x_pad[n, c, p*sH + i, q*sW + j]``.
    """
    xp = get_xp(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel_size, stride
    oh = conv_output_size(h, kh, sh, padding[0])
    ow = conv_output_size(w, kw, sw, padding[1])
    x_pad = pad_images(x, padding, pad_value)
    s_n, s_c, s_h, s_w = x_pad.strides
    # A read-only strided view, no copy: windows[c, i, j, n, p, q] = x_pad[n, c, p*sH+i, q*sW+j].
    windows = xp.lib.stride_tricks.as_strided(
        x_pad,
        shape=(c, kh, kw, n, oh, ow),
        strides=(s_c, s_h, s_w, s_n, s_h * sh, s_w * sw),
    )
    return windows.reshape(c * kh * kw, n * oh * ow)  # (C*kH*kW, N*OH*OW), the one copy


def col2im(
    cols: Any, x_shape: tuple[int, ...], kernel_size: Pair, stride: Pair, padding: Pair
) -> Any:
    r"""Scatter-add columns back to images: the adjoint of :func:`im2col`.

    Parameters
    ----------
    cols : array, shape ``(C*kH*kW, N*OH*OW)``
        Values (typically :math:`\partial L/\partial\,\mathrm{cols}`), laid out
        as :func:`im2col` returns them.
    x_shape : tuple ``(N, C, H, W)``
        Shape of the images ``im2col`` read.
    kernel_size, stride, padding : pair of int
        As given to :func:`im2col`.

    Returns
    -------
    dx : array, shape ``(N, C, H, W)``
        :math:`dx[n, c, h, w] = \sum` of the column entries read from
        ``x[n, c, h, w]``; entries that fell on the padding are dropped.
    """
    xp = get_xp(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    oh = conv_output_size(h, kh, sh, ph)
    ow = conv_output_size(w, kw, sw, pw)
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)  # (C, kH, kW, N, OH, OW)
    # Accumulate in (C, N, H, W) order: each slice below is then a plain strided block.
    dx_pad = xp.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            # Kernel offset (i, j) read x_pad[:, :, i::sH, j::sW] (OH x OW of them).
            dx_pad[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += cols6[:, i, j]
    dx = dx_pad[:, :, ph : ph + h, pw : pw + w]  # (C, N, H, W), padding cropped
    return dx.transpose(1, 0, 2, 3)  # (N, C, H, W) view, memory order (C, N, H, W)
