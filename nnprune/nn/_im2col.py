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

Two column orders are offered; rows are always ordered ``(c, i, j)``, like
``weight.reshape(C_out, -1)`` of a PyTorch ``(C_out, C, kH, kW)`` weight:

* ``batch_last=False`` (default): columns ``(n, p, q)``, shape
  ``(C*kH*kW, N*OH*OW)``, the textbook (Caffe) layout;
* ``batch_last=True``: columns ``(p, q, n)``, shape ``(C*kH*kW, OH*OW*N)``.
  The sample index is innermost, so every copy in ``im2col`` and every add
  in ``col2im`` runs over ``OW*N`` contiguous numbers instead of ``OW``:
  NumPy pays a fixed cost per inner run, and this makes both a few times
  faster. :class:`~nnprune.nn.Conv2d` uses it; its output is then an
  ``(N, C_out, OH, OW)`` view stored in memory order ``(C, H, W, N)``.

Either way the whole batch is one GEMM and no transpose copy is needed before
or after it.

``col2im`` is the adjoint (transpose) of ``im2col``: it scatter-adds every
column entry back to the input pixel it was read from, which is exactly the
gradient :math:`\partial L/\partial x` given :math:`\partial L/\partial\,\mathrm{cols}`.
Overlapping windows (stride smaller than kernel) add up; padding is cropped.
The property :math:`\langle \mathrm{im2col}(x), c\rangle = \langle x, \mathrm{col2im}(c)\rangle`
holds for every ``x`` and ``c`` (with zero padding), and the tests check it.

A 1-D convolution is the case ``H = 1``, ``kernel_size = (1, k)``.

Scratch memory. The columns are the largest arrays of a CNN step (``kH*kW``
times the input: 75 MB for a 32-channel 32x32 batch of 64). Allocating them
afresh on every call makes the operating system map and zero new pages each
time; :func:`workspace` hands out one reusable scratch array per name, dtype
and thread instead, and ``im2col(..., out=...)`` writes into it. The values
are the same either way (the tests check it).

Book: §1.2 (CNN: convolution as a matrix product).
"""

from __future__ import annotations

import threading
from typing import Any

from ..backend import get_xp

Pair = tuple[int, int]

_scratch = threading.local()


def workspace(name: str, shape: tuple[int, ...], dtype: Any, xp: Any) -> Any:
    """A scratch array of ``shape``, reused by every call with the same ``name``.

    One flat buffer per ``(name, array library, dtype)`` and thread, grown to
    the largest size asked for and kept (like PyTorch's caching allocator).
    The contents are garbage: the caller overwrites them, and must be done
    with the array before the next call with the same name. :func:`release_workspace`
    frees the buffers.
    """
    buffers = _scratch.__dict__.setdefault("buffers", {})
    key = (name, xp.__name__, xp.dtype(dtype).str)
    size = 1
    for d in shape:
        size *= d
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buffers[key] = None  # let the old buffer go before the new one is allocated
        buf = buffers[key] = xp.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def release_workspace() -> None:
    """Free this thread's scratch buffers (they come back on the next convolution)."""
    _scratch.__dict__.pop("buffers", None)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length :math:`\\lfloor (size + 2\\,padding - kernel)/stride \\rfloor + 1`."""
    return (size + 2 * padding - kernel) // stride + 1


def pad_images(
    x: Any, padding: Pair, value: float = 0.0, *, batch_last: bool = False, out: Any = None
) -> Any:
    """Return ``x`` of shape ``(N, C, H, W)`` padded on H and W with ``value``.

    Returns ``x`` itself (no copy) when ``padding == (0, 0)``. Otherwise the
    result is an ``(N, C, H + 2pH, W + 2pW)`` view of one preallocated array
    (faster than ``numpy.pad``) stored in the order :func:`im2col` reads it:
    ``(C, H, W, N)`` if ``batch_last`` else ``(C, N, H, W)``. With
    ``batch_last``, ``out`` (shape ``(C, H + 2pH, W + 2pW, N)``, e.g. from
    :func:`workspace`) is filled instead of a new array.
    """
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = get_xp(x)
    n, c, h, w = x.shape
    if batch_last:
        shape = (c, h + 2 * ph, w + 2 * pw, n)
        if out is None:
            out = xp.empty(shape, dtype=x.dtype)
        elif tuple(out.shape) != shape:
            raise ValueError(f"out must have shape {shape}, got {tuple(out.shape)}")
        out.fill(value)
        out[:, ph : ph + h, pw : pw + w, :] = x.transpose(1, 2, 3, 0)
        return out.transpose(3, 0, 1, 2)  # (N, C, H + 2pH, W + 2pW) view
    if out is not None:
        raise ValueError("pad_images: out is only supported with batch_last=True")
    out = xp.full((c, n, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x.transpose(1, 0, 2, 3)
    return out.transpose(1, 0, 2, 3)  # (N, C, H + 2pH, W + 2pW) view


def im2col(
    x: Any,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    pad_value: float = 0.0,
    *,
    batch_last: bool = False,
    out: Any = None,
    rows: tuple[int, int] | None = None,
) -> Any:
    r"""Unfold the receptive fields of ``x`` into the columns of a matrix.

    Parameters
    ----------
    x : array, shape ``(N, C, H, W)``
        Images; any memory layout (a strided view is read in place).
    kernel_size, stride, padding : pair of int
        ``(kH, kW)``, ``(sH, sW)`` and ``(pH, pW)``, as in PyTorch.
    pad_value : float, default 0
        Value of the padded border (``-inf`` for max pooling).
    batch_last : bool, default False
        Column order ``(p, q, n)`` instead of ``(n, p, q)`` (see the module notes).
    out : array, optional
        C-contiguous array of the result's shape and ``x``'s dtype to write
        into (e.g. from :func:`workspace`); a new array is returned without it.
    rows : (int, int), optional
        Only the output rows ``p0 <= p < p1`` (needs ``batch_last``): the
        columns ``p0*OW*N`` to ``p1*OW*N`` of the full matrix. A convolution
        can then run band by band in a small scratch array.

    Returns
    -------
    cols : array, shape ``(C*kH*kW, N*OH*OW)``
        C-contiguous; row ``(c, i, j)`` and column ``(n, p, q)`` (or
        ``(p, q, n)``) hold ``x_pad[n, c, p*sH + i, q*sW + j]``. ``out`` if given.
    """
    xp = get_xp(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel_size, stride
    oh = conv_output_size(h, kh, sh, padding[0])
    ow = conv_output_size(w, kw, sw, padding[1])
    p0, p1 = (0, oh) if rows is None else rows
    if rows is not None and not (batch_last and 0 <= p0 < p1 <= oh):
        raise ValueError(f"rows must satisfy 0 <= p0 < p1 <= {oh} with batch_last, got {rows}")
    x_pad = pad_images(x, padding, pad_value, batch_last=batch_last)
    x_pad = x_pad[:, :, p0 * sh :]  # the band starts at input row p0*sH
    oh = p1 - p0
    s_n, s_c, s_h, s_w = x_pad.strides
    # Read-only strided views, no copy: windows[c, i, j, n, p, q] = x_pad[n, c, p*sH+i, q*sW+j].
    if batch_last:
        shape, strides = (c, kh, kw, oh, ow, n), (s_c, s_h, s_w, s_h * sh, s_w * sw, s_n)
    else:
        shape, strides = (c, kh, kw, n, oh, ow), (s_c, s_h, s_w, s_n, s_h * sh, s_w * sw)
    windows = xp.lib.stride_tricks.as_strided(x_pad, shape=shape, strides=strides)
    if out is None:
        return windows.reshape(c * kh * kw, n * oh * ow)  # (C*kH*kW, N*OH*OW), the one copy
    if tuple(out.shape) != (c * kh * kw, n * oh * ow) or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous array of shape {(c * kh * kw, n * oh * ow)}, "
            f"got shape {tuple(out.shape)}"
        )
    out.reshape(shape)[...] = windows  # the same copy, into memory that is already mapped
    return out


def col2im(
    cols: Any,
    x_shape: tuple[int, ...],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    *,
    batch_last: bool = False,
) -> Any:
    r"""Scatter-add columns back to images: the adjoint of :func:`im2col`.

    Parameters
    ----------
    cols : array, shape ``(C*kH*kW, N*OH*OW)``
        Values (typically :math:`\partial L/\partial\,\mathrm{cols}`), laid out
        as :func:`im2col` returns them with the same ``batch_last``.
    x_shape : tuple ``(N, C, H, W)``
        Shape of the images ``im2col`` read.
    kernel_size, stride, padding : pair of int
        As given to :func:`im2col`.
    batch_last : bool, default False
        Column order ``(p, q, n)`` instead of ``(n, p, q)``.

    Returns
    -------
    dx : array, shape ``(N, C, H, W)``
        :math:`dx[n, c, h, w] = \sum` of the column entries read from
        ``x[n, c, h, w]``; entries that fell on the padding are dropped. A view
        stored in memory order ``(C, H, W, N)`` if ``batch_last`` else ``(C, N, H, W)``.
    """
    xp = get_xp(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    hp, wp = h + 2 * ph, w + 2 * pw
    if batch_last:
        dx_pad = xp.zeros((c, hp, wp, n), dtype=cols.dtype)  # (C, Hp, Wp, N)
        col2im_add(cols, dx_pad, kernel_size, stride)
        return dx_pad[:, ph : ph + h, pw : pw + w, :].transpose(3, 0, 1, 2)  # (N, C, H, W)
    oh = conv_output_size(h, kh, sh, ph)
    ow = conv_output_size(w, kw, sw, pw)
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)  # (C, kH, kW, N, OH, OW)
    dx_pad = xp.zeros((c, n, hp, wp), dtype=cols.dtype)  # (C, N, Hp, Wp)
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += cols6[:, i, j]
    return dx_pad[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3)  # (N, C, H, W)


def col2im_add(cols: Any, dx_pad: Any, kernel_size: Pair, stride: Pair, row0: int = 0) -> None:
    r"""Add batch-last columns into padded images in place: the loop inside :func:`col2im`.

    Parameters
    ----------
    cols : array, shape ``(C*kH*kW, OH'*OW*N)``
        Columns of the output rows ``row0 <= p < row0 + OH'`` (all of them
        when ``row0 = 0`` and ``OH' = OH``), order ``(p, q, n)``.
    dx_pad : array, shape ``(C, H + 2pH, W + 2pW, N)``
        Padded image gradient, added into.
    kernel_size, stride : pair of int
    row0 : int, default 0
        First output row the columns belong to.
    """
    c, hp, wp, n = dx_pad.shape
    (kh, kw), (sh, sw) = kernel_size, stride
    ow = (wp - kw) // sw + 1
    oh = cols.shape[1] // (ow * n)
    cols6 = cols.reshape(c, kh, kw, oh, ow, n)  # (C, kH, kW, OH', OW, N)
    top = row0 * sh
    for i in range(kh):
        for j in range(kw):
            # Kernel offset (i, j) read x_pad[:, :, top + i::sH, j::sW] (OH' x OW of them).
            dx_pad[:, top + i : top + i + sh * oh : sh, j : j + sw * ow : sw, :] += cols6[:, i, j]
