"""Data sets (no network access), splits, normalisation and mini-batches.

Real data: :func:`load_digits` (scikit-learn's bundled 8x8 digits) and
:func:`load_mnist` (MNIST / Fashion-MNIST IDX files from a folder you point to).
Synthetic data: :func:`make_blobs`, :func:`make_spirals`. nnprune never
downloads anything.

Book: §1.1–1.3 (training and held-out evaluation), §6 (loaders for the real formats).
"""

from .datasets import load_digits, make_blobs, make_spirals
from .idx import load_mnist, read_idx
from .loader import DataLoader, Splits, Standardizer, train_val_test_split
from .presets import digits_splits

__all__ = [
    "DataLoader",
    "Splits",
    "Standardizer",
    "digits_splits",
    "load_digits",
    "load_mnist",
    "make_blobs",
    "make_spirals",
    "read_idx",
    "train_val_test_split",
]
