"""Checks of the chapter-2 lab exercise: statistics of a weight histogram (§2.1).

Imported by :mod:`nnprune.exercises.checks.ch2` (the worker imports one module per chapter).
"""

from __future__ import annotations

import numpy as np

from ..harness import as_array, check, compare, function, require

EX = "ch2.weight_histogram"


def _pruned_layer(seed=0):
    """A (40, 50) layer: Laplace weights, 60% pruned to exact 0, then 5% of the zeros made
    tiny again (scale 1e-4, as a loop without a mask leaves them) and 2% rounding noise (1e-9).
    """
    rng = np.random.default_rng(seed)
    w = rng.laplace(scale=0.05, size=(40, 50))
    w[np.abs(w) < np.quantile(np.abs(w), 0.6)] = 0.0
    for fraction, scale in ((0.05, 1e-4), (0.02, 1e-9)):
        tiny = (rng.random(w.shape) < fraction) & (w == 0)
        w[tiny] = rng.normal(scale=scale, size=int(np.sum(tiny)))
    return w


def _stats(w, ddof=0, excess=True, signed=False):
    w = w.ravel().astype(np.float64)
    d = w - w.mean()
    m2 = np.sum(d**2) / (w.size - ddof)
    kurt = np.mean(d**4) / np.mean(d**2) ** 2 - (3.0 if excess else 0.0)
    return {"mean": w.mean(), "std": np.sqrt(m2), "excess_kurtosis": kurt,
            "p99_abs": np.percentile(w if signed else np.abs(w), 99)}  # fmt: skip


@check(EX, "weight_stats: population std, excess kurtosis, 99th percentile of |w|")
def _weight_stats(student):
    fn = function(student, "weight_stats")
    for seed in (0, 1):
        w = _pruned_layer(seed)
        got = fn(w.copy())
        keys = ("mean", "std", "excess_kurtosis", "p99_abs")
        require(isinstance(got, dict) and set(keys) <= set(got),
                f"return a dict with the keys {list(keys)}, got {got!r:.200}")  # fmt: skip
        truth = _stats(w)
        wrong = {"std": [("population std (ddof=0), as np.std's default", _stats(w, 1)["std"])],
                 "excess_kurtosis": [("EXCESS kurtosis: m4 / m2^2 - 3 (0 for a Gaussian)",
                                      _stats(w, excess=False)["excess_kurtosis"])],
                 "p99_abs": [("the percentile of |w|, not of w",
                              _stats(w, signed=True)["p99_abs"])]}  # fmt: skip
        for k in keys:
            compare(k, got[k], truth[k], case=f"a pruned (40, 50) layer, seed {seed}",
                    mistakes=wrong.get(k, ()))


@check(EX, "fraction_within: |w - mean| <= k std")
def _within(student):
    fn = function(student, "fraction_within")
    w = _pruned_layer(2)
    d = np.abs(w - w.mean())
    for k in (0.5, 1.0, 2.0):
        compare("fraction_within(w, k)", fn(w.copy(), k), np.mean(d <= k * w.std()),
                case=f"k = {k}", mistakes=[("measure from the mean: |w - mean|, not |w|",
                                            np.mean(np.abs(w) <= k * w.std()))])  # fmt: skip


@check(EX, "zero_counts: exact zeros are not near zeros")
def _zeros(student):
    fn = function(student, "zero_counts")
    w = _pruned_layer(3)
    got = fn(w.copy(), 1e-3)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (exact, near), got {type(got).__name__}")  # fmt: skip
    compare("the exact-zero count", got[0], np.sum(w == 0), case="60% pruned + tiny leftovers",
            mistakes=[("exactly zero is w == 0: np.isclose(w, 0) also counts the tiny "
                       "leftovers", np.sum(np.isclose(w, 0)))])  # fmt: skip
    compare("the |w| <= tol count", got[1], np.sum(np.abs(w) <= 1e-3), case="tol = 1e-3",
            mistakes=[("|w| <= tol, both signs", np.sum(w <= 1e-3))])  # fmt: skip


@check(EX, "zero_bin: the histogram bar that holds 0, and the sparsity it misreads")
def _bin(student):
    fn, err = function(student, "zero_bin"), function(student, "histogram_sparsity_error")
    w = _pruned_layer(4)
    for bins in (20, 21):
        counts, edges = np.histogram(w, bins=bins, range=(-0.3, 0.3))
        j = int(np.searchsorted(edges, 0.0, side="right") - 1)
        got = fn(w.copy(), bins, 0.3)
        require(isinstance(got, tuple | list) and len(got) == 2,
                f"return (index, count), got {type(got).__name__}")  # fmt: skip
        case = f"{bins} bins on [-0.3, 0.3]"
        compare("the bin index", got[0], j, case=case,
                mistakes=[("NumPy's bins are [left, right): 0 is the LEFT edge of bin bins // 2 "
                           "when bins is even", j - 1)])  # fmt: skip
        compare("the count", got[1], counts[j], case=case)
        truth = counts[j] / w.size - np.mean(w == 0)
        compare("histogram_sparsity_error(w, bins, 0.3)", err(w.copy(), bins, 0.3), truth,
                case=case, mistakes=[("zero-bin fraction MINUS the exact-zero fraction",
                                      -truth)])  # fmt: skip
    a = as_array(err(w.copy(), 20, 0.3), "histogram_sparsity_error")
    require(float(a) > 0, "the zero bin must over-read the sparsity here")
