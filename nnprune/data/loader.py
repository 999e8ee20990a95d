r"""Splits, normalisation and mini-batches.

* :func:`train_val_test_split` -- a seeded (optionally stratified) split into
  training, validation and test sets. Pruning decisions (thresholds, schedules,
  early stopping) are tuned on the validation set; the test set is touched
  once, for the final number.
* :class:`Standardizer` -- per-feature :math:`(x - \mu) / \sigma`, fitted on
  the training set only so that no statistic leaks from held-out data.
* :class:`DataLoader` -- an iterable of ``(xb, yb)`` mini-batches, reshuffled
  every epoch from its own seeded generator.

Book: §1.1 (the training loop), §1.3 (accuracy on held-out data).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_fraction, check_nonnegative, check_positive_int
from ..rng import SeedLike, as_generator


def check_xy(X: Any, y: Any) -> None:
    """Raise unless ``X`` and ``y`` are arrays with the same number of samples (axis 0)."""
    if not hasattr(X, "shape") or not hasattr(y, "shape"):
        raise TypeError(f"X and y must be arrays, got {type(X).__name__} and {type(y).__name__}")
    if len(X.shape) == 0 or len(y.shape) == 0:
        raise ValueError(
            f"X and y must have a sample axis, got shapes {tuple(X.shape)} and {tuple(y.shape)}"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples, got {X.shape[0]} and {y.shape[0]}"
        )


class Splits(NamedTuple):
    """The result of :func:`train_val_test_split`: three ``(X, y)`` pairs."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: SeedLike = 0,
    stratify: bool = True,
) -> Splits:
    """Split ``(X, y)`` into disjoint training, validation and test sets.

    With ``stratify=True`` each class is split separately (its samples shuffled,
    then ``round(n_c * test_size)`` to test and ``round(n_c * val_size)`` to
    validation), so every part keeps the class proportions. Each part comes
    back in a shuffled order.

    Parameters
    ----------
    X : numpy.ndarray, shape ``(N, ...)``
    y : numpy.ndarray, shape ``(N,)``
        Labels (integer classes when ``stratify=True``).
    val_size, test_size : float in (0, 1), default 0.15
        Fractions of the samples; their sum must be below 1.
    seed : int or numpy.random.Generator, default 0
        The same seed gives the same split.
    stratify : bool, default True
        Keep the class proportions in every part.

    Returns
    -------
    Splits
        ``splits.train``, ``splits.val``, ``splits.test``: ``(X, y)`` pairs;
        it also unpacks as ``train, val, test = ...``.

    Raises
    ------
    ValueError
        If a size is outside (0, 1), the sizes sum to 1 or more, X and y differ
        in length, or a part would be empty.
    """
    check_xy(X, y)
    val_size = check_fraction("val_size", val_size, low_inclusive=False)
    test_size = check_fraction("test_size", test_size, low_inclusive=False)
    if val_size + test_size >= 1.0:
        raise ValueError(
            f"val_size + test_size must be below 1, got {val_size} + {test_size} = "
            f"{val_size + test_size}"
        )
    gen = as_generator(seed)
    y_host = to_backend(y, "numpy")
    n = len(y_host)
    if stratify:
        if y_host.ndim != 1:
            raise ValueError(f"stratify=True needs 1-D labels y, got shape {y_host.shape}")
        groups = [np.flatnonzero(y_host == c) for c in np.unique(y_host)]
    else:
        groups = [np.arange(n)]
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for idx in groups:
        idx = gen.permutation(idx)
        n_test = int(round(len(idx) * test_size))
        n_val = int(round(len(idx) * val_size))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    out = {}
    for name, chunks in parts.items():
        idx = gen.permutation(np.concatenate(chunks))
        if len(idx) == 0:
            raise ValueError(
                f"the {name} set would be empty with {n} samples, val_size={val_size}, "
                f"test_size={test_size}; use more samples or larger sizes"
            )
        sel = get_xp(X).asarray(idx)
        out[name] = (X[sel], y[sel])
    return Splits(**out)


class Standardizer:
    r"""Per-feature standardisation :math:`z = (x - \mu) / \sigma`, fitted on training data.

    :math:`\mu` and :math:`\sigma` are the mean and (population) standard deviation
    of each feature over the samples (axis 0), so for images ``(N, C, H, W)`` each
    pixel position gets its own statistics. Features whose :math:`\sigma` is at most
    ``eps`` (e.g. a border pixel that is always 0) are only centred, not scaled
    (:math:`\sigma` is replaced by 1, as scikit-learn's ``StandardScaler`` does):
    dividing by a tiny floor would blow a test sample's rare non-zero up.

    Parameters
    ----------
    eps : float, default 1e-8
        Standard deviations at or below this count as zero.

    Attributes
    ----------
    mean_ : numpy.ndarray, shape ``X.shape[1:]``
    scale_ : numpy.ndarray, shape ``X.shape[1:]``
        The divisor actually used (:math:`\sigma`, or 1 where :math:`\sigma \le` eps).
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = check_nonnegative("eps", eps)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Compute ``mean_`` and ``scale_`` from ``X`` (the training set only)."""
        Xh = to_backend(X, "numpy")
        if Xh.ndim < 1 or len(Xh) < 1:
            raise ValueError(f"Standardizer.fit needs at least one sample, got shape {Xh.shape}")
        std = Xh.std(axis=0, dtype=np.float64)
        self.mean_ = Xh.mean(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > self.eps, std, 1.0)
        return self

    def transform(self, X: Any) -> Any:
        """Return ``(X - mean_) / scale_`` in X's dtype and backend."""
        if self.mean_ is None:
            raise RuntimeError("Standardizer is not fitted; call fit(X_train) first")
        if tuple(X.shape[1:]) != self.mean_.shape:
            raise ValueError(
                f"Standardizer was fitted on samples of shape {self.mean_.shape}, "
                f"got X of shape {tuple(X.shape)}"
            )
        xp = get_xp(X)
        dtype = X.dtype if X.dtype.kind == "f" else np.float32
        mean = xp.asarray(to_backend(self.mean_, backend_of(X)), dtype=dtype)
        scale = xp.asarray(to_backend(self.scale_, backend_of(X)), dtype=dtype)
        return (X.astype(dtype, copy=False) - mean) / scale

    def fit_transform(self, X: Any) -> Any:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)


class DataLoader:
    """Mini-batches ``(xb, yb)`` of a data set, shuffled each epoch.

    Parameters
    ----------
    X : array, shape ``(N, ...)``
    y : array, shape ``(N, ...)``
    batch_size : int, default 64
    shuffle : bool, default True
        Draw a new permutation from the loader's generator at the start of
        every iteration (epoch).
    seed : int or numpy.random.Generator, optional
        Seeds the loader's generator: the same seed gives the same sequence of
        epochs. ``None`` uses the process-wide generator (:func:`nnprune.manual_seed`).
    drop_last : bool, default False
        Drop the last, smaller batch.

    Examples
    --------
    >>> import numpy as np
    >>> loader = DataLoader(np.zeros((10, 3)), np.arange(10), batch_size=4, seed=0)
    >>> len(loader), [len(yb) for _, yb in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: SeedLike = None,
        drop_last: bool = False,
    ) -> None:
        check_xy(X, y)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.X, self.y = X, y
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._rng = as_generator(seed)

    @property
    def n_samples(self) -> int:
        """Number of samples ``N``."""
        return int(self.X.shape[0])

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        n = self.n_samples
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        xp = get_xp(self.X)
        for b in range(len(self)):
            idx = xp.asarray(order[b * self.batch_size : (b + 1) * self.batch_size])
            yield self.X[idx], self.y[idx]


__all__ = ["DataLoader", "Splits", "Standardizer", "train_val_test_split"]
