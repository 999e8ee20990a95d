r"""Model size as ShrinkBench counts it, the compression ratio, and model bytes.

.. math::

    \text{size} = \sum_{p} |p|, \qquad
    \text{size}_{nz} = \sum_{p} \mathrm{nnz}(p), \qquad
    \text{compression ratio} = \frac{\text{size}}{\text{size}_{nz}},

summed over *all* parameters (weights, biases, normalisation scales), as in
ShrinkBench's ``model_size`` (Blalock et al., MLSys 2020). A compression ratio
of 10 means one parameter in ten is left; it is a ratio, not a fraction.

Parameter counts say nothing about bytes: a pruned dense array is as large as
before, and a sparse one pays for its indices. :func:`model_bytes` counts
the bytes of every parameter and buffer in a chosen storage format.

Book: §1.3 (effect of pruning on model size), §2.2 (storage).
"""

from __future__ import annotations

import math
from typing import Any

from ..nn.module import Module
from ..sparse.storage import (
    check_format,
    compact_components,
    dense_nbytes,
    sparse_nbytes,
    to_sparse,
)
from .sparsity import count_zeros

BYTE_FORMATS = ("dense", "csr", "csc", "coo", "bsr")


def model_size(model: Module) -> tuple[int, int]:
    """``(size, size_nz)``: number of parameter entries, and of non-zero ones (all parameters)."""
    size = sum(p.size for p in model.parameters())
    zeros = sum(count_zeros(p) for p in model.parameters())
    return int(size), int(size - zeros)


def compression_ratio(model: Module) -> float:
    """``size / size_nz`` (``inf`` when every parameter is zero).

    Raises
    ------
    ValueError
        If the model has no parameters.
    """
    size, nonzero = model_size(model)
    if size == 0:
        raise ValueError("compression_ratio: the model has no parameters")
    return math.inf if nonzero == 0 else size / nonzero


def model_bytes(
    model: Module, format: str = "dense", blocksize: Any = None, compact: bool = False
) -> int:
    """Bytes to hold the model's parameters and buffers in a storage format.

    Parameters
    ----------
    model : Module
    format : {"dense", "csr", "csc", "coo", "bsr"}, default "dense"
        ``"dense"``: every array at ``size * itemsize``. The sparse formats
        store each prunable parameter as that sparse matrix (counted by
        :func:`nnprune.sparse.sparse_nbytes`: values plus index arrays) and
        everything else dense, as :func:`nnprune.sparse.export_model` does.
    blocksize : pair of int, optional
        BSR block shape.
    compact : bool, default False
        Count index arrays in the smallest unsigned dtype that fits, as
        :func:`nnprune.sparse.save_sparse` writes them (before the file's zip
        compression), instead of SciPy's in-memory ``int32``.

    Masks are not counted: a pruned parameter's mask is its non-zero pattern
    (``save_sparse`` stores one only when it differs).

    Raises
    ------
    ValueError
        For an unknown ``format`` (and a bad ``blocksize``, see ``to_sparse``).
    """
    if str(format).lower() == "dense":
        if blocksize is not None:
            raise ValueError(f"blocksize is only used with format='bsr', got format={format!r}")
        sparse_format = None
    else:
        try:
            sparse_format = check_format(format)
        except ValueError:
            raise ValueError(
                f"format must be one of {list(BYTE_FORMATS)}, got {format!r}"
            ) from None
    total = 0
    for p in model.parameters():
        if sparse_format is None or not p.prunable:
            total += dense_nbytes(p)
            continue
        matrix = to_sparse(p, sparse_format, blocksize)
        if compact:
            total += sum(int(a.nbytes) for a in compact_components(matrix).values())
        else:
            total += sparse_nbytes(matrix)
    for _, b in model.named_buffers():
        if b is not None:
            total += dense_nbytes(b)
    return int(total)
