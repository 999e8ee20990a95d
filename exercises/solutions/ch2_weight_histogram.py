r"""Exercise ch2.weight_histogram: §2.1 稀疏性的概念 (the concept of sparsity).

Task
----
Read a layer's weight distribution with numbers instead of by eye: its spread, its tails
(kurtosis: trained and pruned layers are far from Gaussian), how much of it lies near 0,
and how many weights are *exactly* 0. Then meet the histogram trap: the bar around 0 of a
histogram mixes exact zeros (pruned) with small non-zero weights (not pruned), so a
sparsity read off a histogram is wrong.

Maths
-----
With :math:`\mu` the mean and :math:`m_k = \frac1n\sum_i (w_i - \mu)^k` the central moments:
:math:`\sigma = \sqrt{m_2}` (population standard deviation, ``ddof=0``), excess kurtosis
:math:`m_4 / m_2^2 - 3` (0 for a Gaussian, larger for heavy tails or a spike at 0).
``np.histogram(w, bins, range=(-lim, lim))`` uses the bins :math:`[e_j, e_{j+1})` (the last
one closed): with an even number of bins, 0 is an edge and belongs to the bin on its right.

Shapes
------
``w`` any shape (use every entry). ``weight_stats`` returns a dict with the keys ``mean``,
``std``, ``excess_kurtosis``, ``p99_abs`` (the 99th percentile of :math:`|w|`, NumPy's default
linear interpolation); ``fraction_within`` a float; ``zero_counts`` the pair
``(exactly 0, |w| <= tol)``; ``zero_bin`` the pair ``(index, count)`` of the histogram bin
that contains 0; ``histogram_sparsity_error`` a float.

Rules
-----
NumPy only.

Hint
----
``np.histogram`` returns ``(counts, edges)``; the bin holding 0 is the ``j`` with
``edges[j] <= 0 < edges[j + 1]`` (``np.searchsorted(edges, 0, side="right") - 1``).

Check your work: ``nnprune check ch2.weight_histogram``
"""

import numpy as np


def weight_stats(w):
    """``{"mean", "std", "excess_kurtosis", "p99_abs"}`` of every entry of ``w``."""
    # BEGIN SOLUTION
    # Why: population moments (ddof=0) as a statistics text defines kurtosis; the excess
    # subtracts the Gaussian's 3. Usual mistakes: ddof=1, or kurtosis without the - 3.
    w = np.asarray(w, dtype=float).ravel()
    d = w - w.mean()
    m2, m4 = np.mean(d**2), np.mean(d**4)
    return {"mean": float(w.mean()), "std": float(np.sqrt(m2)),
            "excess_kurtosis": float(m4 / m2**2 - 3.0),
            "p99_abs": float(np.percentile(np.abs(w), 99))}
    # END SOLUTION


def fraction_within(w, k):
    """Fraction of entries with ``|w - mean| <= k * std`` (population std)."""
    # BEGIN SOLUTION
    w = np.asarray(w, dtype=float).ravel()
    return float(np.mean(np.abs(w - w.mean()) <= k * w.std()))
    # END SOLUTION


def zero_counts(w, tol):
    """``(number of entries exactly 0, number with |w| <= tol)``."""
    # BEGIN SOLUTION
    return int(np.sum(w == 0)), int(np.sum(np.abs(w) <= tol))
    # END SOLUTION


def zero_bin(w, bins, lim):
    """``(j, count)`` of the bin of ``np.histogram(w, bins, range=(-lim, lim))`` holding 0."""
    # BEGIN SOLUTION
    # Why: NumPy's bins are half-open [e_j, e_j+1), so with an even number of bins 0 is the
    # left edge of bin bins // 2. Usual mistake: taking bins // 2 - 1, the bar left of 0.
    counts, edges = np.histogram(w, bins=bins, range=(-lim, lim))
    j = int(np.searchsorted(edges, 0.0, side="right") - 1)
    return j, int(counts[j])
    # END SOLUTION


def histogram_sparsity_error(w, bins, lim):
    """Sparsity read from the zero bin (count / size) minus the true fraction of exact zeros."""
    # BEGIN SOLUTION
    w = np.asarray(w)
    return zero_bin(w, bins, lim)[1] / w.size - float(np.mean(w == 0))
    # END SOLUTION
