"""Sparse storage (scipy.sparse, Deep-Compression codebooks) and sparse inference (CPU, GPU).

Book: §2.2 (storage), §2.3 (compute).
"""

from .codebook import load_compressed, save_compressed
from .convert import to_sparse_model
from .layers import SparseConv2d, SparseLinear
from .storage import (
    FORMATS,
    dense_nbytes,
    export_model,
    load_sparse,
    save_sparse,
    smallest_index_dtype,
    sparse_nbytes,
    to_sparse,
)

__all__ = [
    "FORMATS",
    "SparseConv2d",
    "SparseLinear",
    "dense_nbytes",
    "export_model",
    "load_compressed",
    "load_sparse",
    "save_compressed",
    "save_sparse",
    "smallest_index_dtype",
    "sparse_nbytes",
    "to_sparse",
    "to_sparse_model",
]
