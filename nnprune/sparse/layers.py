r"""Inference layers that multiply by a CSR weight when, and only when, it is faster.

``SparseLinear`` and ``SparseConv2d`` are built from a trained (pruned)
``Linear`` / ``Conv2d``. They hold the weight either dense or as a CSR
matrix (``scipy.sparse`` on NumPy, ``cupyx.scipy.sparse`` on CuPy) and compute
the same map:

.. math::

    \text{Linear: } y = x W^\top + b = (W x^\top)^\top + b, \qquad
    \text{Conv2d: } Y = W\,\mathrm{im2col}(x) + b\mathbf 1^\top,

with the product :math:`W \cdot (\text{dense})` done by a sparse kernel in
``"sparse"`` mode and by BLAS in ``"dense"`` mode. A sparse kernel only does
work for the :math:`a` non-zeros, but with scattered memory access and index
overhead, so it wins only at high sparsity, and where the break-even lies
depends on the layer shape, the batch size and the machine. ``mode="auto"``
therefore *measures* it: at construction both products run on a probe batch
(median of ``repeats`` timings each) and the faster one is kept in ``mode_``,
with the timings in ``timings_``. ``benchmarks/bench_sparse.py`` prints the
measured break-even sparsities on the machine it runs on. In two runs on a
shared, busy 2-core x86 machine (NumPy 2.4, SciPy 1.17, one BLAS thread,
float32, random unstructured sparsity), SciPy CSR was slower than dense at 0%
and 50% sparsity for both a 300x784 and a 1024x1024 layer at batch 1, 32 and
256; the break-even sparsity fell between 80% and 95% (load
average 5-7). The local notes in the book's reference material report ~95%
for small layers at batch 1. Timings on a loaded machine vary by tens of
percent, which is why ``"auto"`` measures rather than assumes.

These layers are inference-only: ``backward`` raises ``NotImplementedError``.

Book: §2.3 (compute benefits of sparsity).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import get_sparse_module, get_xp
from ..checks import check_one_of, check_pair, check_positive_int
from ..nn._im2col import conv_output_size, im2col
from ..nn._validate import check_input
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..rng import SeedLike, as_generator

MODES = ("auto", "dense", "sparse")


def _synchronize(xp: Any) -> None:
    """Wait for the GPU, so a timing covers the work and not just the launch."""
    if xp.__name__ == "cupy":
        xp.cuda.Device().synchronize()


def median_time(fn: Callable[[], Any], xp: Any, repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs, after one warm-up run."""
    fn()
    _synchronize(xp)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _synchronize(xp)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class _SparseInference(Module):
    """Shared machinery: hold ``W`` (out, K) dense or CSR, choose the mode by timing."""

    def _setup(self, w2: Any, bias: Any, mode: str, probe: Any, repeats: int) -> None:
        xp = get_xp(w2)
        self._xp = xp
        self._dense = w2
        self._csr = get_sparse_module(xp).csr_matrix(w2)  # explicit zeros are not stored
        self.bias = None if bias is None else xp.array(bias, copy=True)
        self.nnz = int(self._csr.nnz)
        self.timings_: dict[str, float] = {}
        if mode == "auto":
            repeats = check_positive_int("repeats", repeats)
            for m in ("dense", "sparse"):
                self.mode_ = m
                self.timings_[m] = median_time(lambda: self.forward(probe), xp, repeats)
            mode = "sparse" if self.timings_["sparse"] < self.timings_["dense"] else "dense"
        self.mode_ = mode
        # Keep only the representation the chosen mode uses.
        if mode == "sparse":
            self._dense = None
        else:
            self._csr = None

    def _matmul(self, cols: Any) -> Any:
        """``W @ cols`` for ``cols`` of shape ``(K, M)``; returns ``(out, M)``."""
        if self.mode_ == "sparse":
            return self._xp.asarray(self._csr @ cols)
        return self._dense @ cols

    @property
    def sparsity(self) -> float:
        """Fraction of zero weights."""
        return 1.0 - self.nnz / (self.weight_shape[0] * int(np.prod(self.weight_shape[1:])))

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} is inference-only; train the dense layer "
            "(nn.Linear / nn.Conv2d) and convert it afterwards"
        )


class SparseLinear(_SparseInference):
    r"""Inference-only ``Linear`` with the weight in CSR: :math:`y = x W^\top + b`.

    Build it with :meth:`from_linear`. In ``"sparse"`` mode the product is
    :math:`(W_\text{CSR}\, x^\top)^\top`, one sparse-times-dense kernel over the
    batch.

    Parameters
    ----------
    weight : array, shape ``(out_features, in_features)``
        NumPy or CuPy; zeros are not stored.
    bias : array, shape ``(out_features,)``, optional
    mode : {"auto", "dense", "sparse"}, default "auto"
        ``"auto"`` times both products on a probe batch and keeps the faster.
    batch_size : int, default 32
        Rows of the probe batch; use the batch size you will run with, the
        break-even moves with it.
    repeats : int, default 7
        Timings per mode; the median is compared.
    seed : int or numpy.random.Generator, default 0
        Source of the probe batch's values.

    Attributes
    ----------
    mode_ : {"dense", "sparse"}
        The product ``forward`` uses.
    timings_ : dict
        ``{"dense": s, "sparse": s}``, median seconds per probe forward
        (empty unless ``mode="auto"``).
    nnz : int
        Stored non-zeros.
    """

    def __init__(
        self,
        weight: Any,
        bias: Any = None,
        mode: str = "auto",
        batch_size: int = 32,
        repeats: int = 7,
        seed: SeedLike = 0,
    ) -> None:
        super().__init__()
        mode = check_one_of("mode", mode, MODES)
        if getattr(weight, "ndim", None) != 2:
            raise ValueError(
                f"weight must be a 2-D array, got shape {getattr(weight, 'shape', None)}"
            )
        self.out_features, self.in_features = (int(s) for s in weight.shape)
        if bias is not None and tuple(bias.shape) != (self.out_features,):
            raise ValueError(
                f"bias must have shape ({self.out_features},), got {tuple(bias.shape)}"
            )
        self.weight_shape = (self.out_features, self.in_features)
        batch_size = check_positive_int("batch_size", batch_size)
        xp = get_xp(weight)
        host = as_generator(seed).standard_normal((batch_size, self.in_features))
        probe = xp.asarray(host.astype(weight.dtype))
        self._setup(xp.array(weight, copy=True), bias, mode, probe, repeats)

    @classmethod
    def from_linear(
        cls,
        linear: Linear,
        mode: str = "auto",
        batch_size: int = 32,
        repeats: int = 7,
        seed: SeedLike = 0,
    ) -> SparseLinear:
        """Build from an ``nn.Linear`` (its weight as it is, pruned entries zero)."""
        if not isinstance(linear, Linear):
            raise TypeError(f"from_linear expects an nn.Linear, got {type(linear).__name__}")
        bias = None if linear.bias is None else linear.bias.data
        return cls(
            linear.weight.data, bias, mode=mode, batch_size=batch_size, repeats=repeats, seed=seed
        )

    def forward(self, x: Any) -> Any:
        check_input(self, x, min_ndim=2, last_dim=self.in_features)
        if self.mode_ == "dense":
            y = x @ self._dense.T  # (..., out), exactly as nn.Linear computes it
            if self.bias is not None:
                y += self.bias  # in place: y is a fresh array
            return y
        x2 = x.reshape(-1, self.in_features)  # (N*, in)
        # One CSR-times-dense kernel over the batch: for each non-zero w_ij it adds
        # w_ij * x[:, j] to row i of the (out, N*) result, contiguous over the batch.
        yt = self._csr @ x2.T  # (out, N*), a fresh C-ordered array
        if self.bias is not None:
            yt += self.bias[:, None]  # in place, before the transpose
        # The transpose is a view (Fortran-ordered): no copy, and a following
        # SparseLinear's x2.T is then C-contiguous, so SciPy does not copy it either.
        return self._xp.asarray(yt).T.reshape(*x.shape[:-1], self.out_features)  # (..., out)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"nnz={self.nnz}, mode_={self.mode_!r}"
        )


class SparseConv2d(_SparseInference):
    r"""Inference-only ``Conv2d`` through im2col with the weight in CSR.

    .. math::

        Y = W\,\mathrm{im2col}(x) + b\mathbf 1^\top,\qquad
        W \in \mathbb R^{C_{out}\times C_{in} k_H k_W},\;
        \mathrm{im2col}(x) \in \mathbb R^{C_{in} k_H k_W \times N\,OH\,OW}.

    Build it with :meth:`from_conv`; the arguments are those of
    :class:`SparseLinear` plus the convolution's geometry. The probe batch of
    ``mode="auto"`` has shape ``(batch_size, C_in, *input_size)``, so
    ``input_size`` is required then.
    """

    def __init__(
        self,
        weight: Any,
        bias: Any = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        mode: str = "auto",
        input_size: tuple[int, int] | None = None,
        batch_size: int = 8,
        repeats: int = 7,
        seed: SeedLike = 0,
    ) -> None:
        super().__init__()
        mode = check_one_of("mode", mode, MODES)
        if getattr(weight, "ndim", None) != 4:
            raise ValueError(
                f"weight must be a 4-D (C_out, C_in, kH, kW) array, got shape "
                f"{getattr(weight, 'shape', None)}"
            )
        self.out_channels, self.in_channels, kh, kw = (int(s) for s in weight.shape)
        if bias is not None and tuple(bias.shape) != (self.out_channels,):
            raise ValueError(
                f"bias must have shape ({self.out_channels},), got {tuple(bias.shape)}"
            )
        self.weight_shape = tuple(int(s) for s in weight.shape)
        self.kernel_size = (kh, kw)
        self.stride = check_pair("stride", stride, minimum=1)
        self.padding = check_pair("padding", padding, minimum=0)
        xp = get_xp(weight)
        probe = None
        if mode == "auto":
            if input_size is None:
                raise ValueError("input_size (H, W) is needed for mode='auto', got None")
            h, w = check_pair("input_size", input_size, minimum=1)
            batch_size = check_positive_int("batch_size", batch_size)
            host = as_generator(seed).standard_normal((batch_size, self.in_channels, h, w))
            probe = xp.asarray(host.astype(weight.dtype))
        w2 = weight.reshape(self.out_channels, -1)  # (C_out, C_in*kH*kW)
        self._setup(xp.array(w2, copy=True), bias, mode, probe, repeats)

    @classmethod
    def from_conv(
        cls,
        conv: Conv2d,
        mode: str = "auto",
        input_size: tuple[int, int] | None = None,
        batch_size: int = 8,
        repeats: int = 7,
        seed: SeedLike = 0,
    ) -> SparseConv2d:
        """Build from an ``nn.Conv2d`` (its weight as it is, pruned entries zero)."""
        if not isinstance(conv, Conv2d):
            raise TypeError(f"from_conv expects an nn.Conv2d, got {type(conv).__name__}")
        bias = None if conv.bias is None else conv.bias.data
        return cls(
            conv.weight.data,
            bias,
            stride=conv.stride,
            padding=conv.padding,
            mode=mode,
            input_size=input_size,
            batch_size=batch_size,
            repeats=repeats,
            seed=seed,
        )

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=4, channels=self.in_channels)
        n, _, h, w = x.shape
        oh = conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0])
        ow = conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1])
        if oh < 1 or ow < 1:
            raise ValueError(
                f"SparseConv2d: input of shape {tuple(x.shape)} is smaller than kernel_size "
                f"{self.kernel_size} with padding {self.padding}"
            )
        cols = im2col(x, self.kernel_size, self.stride, self.padding)  # (C*kH*kW, N*OH*OW)
        y = self._matmul(cols)  # (C_out, N*OH*OW)
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y.reshape(self.out_channels, n, oh, ow).transpose(1, 0, 2, 3)  # (N, C_out, OH, OW)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, nnz={self.nnz}, mode_={self.mode_!r}"
        )
