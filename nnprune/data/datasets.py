r"""Small data sets that need no network: scikit-learn's digits and two synthetic sets.

* :func:`load_digits` -- **real** data: the UCI ML hand-written digits
  (optical recognition of handwritten digits, 1797 grey-scale 8x8 images of
  the digits 0-9, pixel values 0-16), as bundled with scikit-learn
  (``sklearn.datasets.load_digits``), so it loads offline.
* :func:`make_blobs`, :func:`make_spirals` -- **synthetic** data drawn from a
  seeded generator, for exercises and quick tests. Numbers measured on them
  say nothing about real data.

Every loader returns ``(X, y)`` with ``X`` float32 and ``y`` int64 class labels.

Book: §1.2 (models trained on small data sets), §6 (case studies on data that runs here).
"""

from __future__ import annotations

import numpy as np

from ..checks import check_nonnegative, check_positive_int
from ..rng import SeedLike, as_generator


def load_digits(flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load the 8x8 hand-written digits bundled with scikit-learn (no download).

    The UCI ML "Optical Recognition of Handwritten Digits" test set as shipped
    by ``sklearn.datasets.load_digits``: 1797 images, 10 classes (about 180 each).

    Parameters
    ----------
    flatten : bool, default True
        ``True`` gives ``X`` of shape ``(1797, 64)`` (for an MLP); ``False``
        gives images of shape ``(1797, 1, 8, 8)`` (``(N, C, H, W)``, for a CNN).

    Returns
    -------
    X : numpy.ndarray, float32
        Pixels scaled from 0-16 to [0, 1].
    y : numpy.ndarray, int64, shape ``(1797,)``
        The digit, 0-9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0)).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    X = X.reshape(len(X), -1) if flatten else X[:, None, :, :]  # (N, 64) or (N, 1, 8, 8)
    return np.ascontiguousarray(X), y


def class_sizes(n_samples: int, n_classes: int) -> np.ndarray:
    """Split ``n_samples`` into ``n_classes`` counts that differ by at most one.

    Shared by the synthetic data sets here and in :mod:`~nnprune.data.audio` and
    :mod:`~nnprune.data.text`.
    """
    if n_samples < n_classes:
        raise ValueError(f"n_samples must be at least n_classes ({n_classes}), got {n_samples}")
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _shuffled(X: np.ndarray, y: np.ndarray, gen: np.random.Generator) -> tuple:
    order = gen.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def make_blobs(
    n_samples: int = 300,
    n_classes: int = 3,
    n_features: int = 2,
    seed: SeedLike = 0,
    *,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-5.0, 5.0),
) -> tuple[np.ndarray, np.ndarray]:
    r"""Synthetic Gaussian clusters, one per class.

    Class centres :math:`\mu_k` are drawn uniformly from ``center_box`` in each
    feature; a sample of class :math:`k` is :math:`x = \mu_k + \sigma\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, I)`. Class sizes differ by at most one
    and the samples are shuffled.

    Parameters
    ----------
    n_samples : int, default 300
        Total number of samples (at least ``n_classes``).
    n_classes : int, default 3
        Number of clusters (= classes).
    n_features : int, default 2
        Dimension of each sample.
    seed : int or numpy.random.Generator, default 0
        Source of every random draw: the same seed gives the same data.
    cluster_std : float, default 1.0
        :math:`\sigma`, the standard deviation of each cluster.
    center_box : (float, float), default (-5, 5)
        Bounds of the uniform distribution of the centres.

    Returns
    -------
    X : numpy.ndarray, float32, shape ``(n_samples, n_features)``
    y : numpy.ndarray, int64, shape ``(n_samples,)``
    """
    n_samples = check_positive_int("n_samples", n_samples)
    n_classes = check_positive_int("n_classes", n_classes)
    n_features = check_positive_int("n_features", n_features)
    cluster_std = check_nonnegative("cluster_std", cluster_std)
    low, high = (float(v) for v in center_box)
    if not low < high:
        raise ValueError(f"center_box must be (low, high) with low < high, got {center_box!r}")
    sizes = class_sizes(n_samples, n_classes)
    gen = as_generator(seed)
    centers = gen.uniform(low, high, size=(n_classes, n_features))
    y = np.repeat(np.arange(n_classes), sizes)
    X = centers[y] + cluster_std * gen.standard_normal((n_samples, n_features))
    return _shuffled(X, y, gen)


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: SeedLike = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Synthetic interleaved 2-D spirals, one arm per class (not linearly separable).

    Arm :math:`k` of :math:`K` has points at radius :math:`r \in [0, 1]` (evenly
    spaced) and angle :math:`\theta = 4r + 2\pi k/K + \text{noise}\cdot\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, 1)`; a point is
    :math:`x = (r\sin\theta,\ r\cos\theta)`. (The CS231n "spiral" data set,
    generalised to :math:`K` arms.)

    Parameters
    ----------
    n_samples : int, default 300
        Total number of points (at least ``n_classes``).
    n_classes : int, default 3
        Number of arms (= classes).
    noise : float, default 0.2
        Standard deviation of the angular noise, in radians.
    seed : int or numpy.random.Generator, default 0
        Source of every random draw.

    Returns
    -------
    X : numpy.ndarray, float32, shape ``(n_samples, 2)``
    y : numpy.ndarray, int64, shape ``(n_samples,)``
    """
    n_samples = check_positive_int("n_samples", n_samples)
    n_classes = check_positive_int("n_classes", n_classes)
    noise = check_nonnegative("noise", noise)
    sizes = class_sizes(n_samples, n_classes)
    gen = as_generator(seed)
    xs, ys = [], []
    for k, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        theta = 4.0 * r + 2.0 * np.pi * k / n_classes + noise * gen.standard_normal(m)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))  # (m, 2)
        ys.append(np.full(m, k))
    return _shuffled(np.concatenate(xs), np.concatenate(ys), gen)


__all__ = ["load_digits", "make_blobs", "make_spirals"]
