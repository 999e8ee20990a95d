r"""Ready-made splits of the built-in data, used by the chapter scripts, the CLI and benchmarks.

Book: §1.3 (held-out evaluation).
"""

from __future__ import annotations

import numpy as np

from .datasets import load_digits
from .loader import Splits, Standardizer, train_val_test_split


def digits_splits(
    seed: int = 0,
    *,
    flatten: bool = True,
    standardize: bool = True,
    val_size: float = 0.15,
    test_size: float = 0.2,
) -> Splits:
    """The 8x8 digits split into stratified train/validation/test sets.

    Parameters
    ----------
    seed : int, default 0
        Seeds the split.
    flatten : bool, default True
        ``(N, 64)`` vectors for MLPs; ``False`` gives ``(N, 1, 8, 8)`` images for CNNs.
    standardize : bool, default True
        Standardise every pixel with the mean and std of the *training* set only.
    val_size, test_size : float
        Fractions of the 1797 images.

    Returns
    -------
    Splits
        ``(train, val, test)``, each an ``(X, y)`` pair (float32, int64).
    """
    X, y = load_digits(flatten=True)
    splits = train_val_test_split(X, y, val_size=val_size, test_size=test_size, seed=seed)
    if standardize:
        scaler = Standardizer().fit(splits.train[0])
        splits = Splits(*[(scaler.transform(Xs).astype(np.float32), ys) for Xs, ys in splits])
    if not flatten:
        splits = Splits(*[(Xs.reshape(-1, 1, 8, 8), ys) for Xs, ys in splits])
    return splits
