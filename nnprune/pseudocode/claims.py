r"""Two of the book's sentences measured on the digits, for their errata.

* §3.2 lists "importance pruning" as removing *important* connections ("剪除重要的连接或
  神经元"). :func:`prune_important` prunes the same fraction of a trained softmax
  regression's weights by smallest and by largest |w|.
* §5.2 says a too-small threshold may hurt accuracy and a too-large one may fail to prune.
  :func:`threshold_direction` shows it is the other way round.

Book: §3.2, §5.2 (corrected, see docs/errata.md#s3-2 and docs/errata.md#s5-2).
"""

from __future__ import annotations

import numpy as np

from ._toy import accuracy, loop_setup


def prune_important(quick: bool = True, seed: int = 0, fraction: float = 0.5) -> dict:
    """Test accuracy after zeroing ``fraction`` of W: the smallest |w| vs the largest."""
    s = loop_setup(quick, seed)
    p, W = s.problem, s.W0
    order = np.argsort(np.abs(W), axis=None)
    k = int(round(fraction * W.size))
    out = {"fraction": fraction, "acc_dense": accuracy(p.x_test, p.y_test, W)}
    for name, idx in (("acc_prune_unimportant", order[:k]), ("acc_prune_important", order[-k:])):
        pruned = W.copy().ravel()
        pruned[idx] = 0
        out[name] = accuracy(p.x_test, p.y_test, pruned.reshape(W.shape))
    return out


def threshold_direction(
    quick: bool = True, seed: int = 0, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)
) -> list[dict]:
    """Sparsity and test accuracy of the trained W after ``|w| <= t`` is zeroed, per t."""
    s = loop_setup(quick, seed)
    p, W = s.problem, s.W0
    rows = []
    for q in quantiles:
        t = float(np.quantile(np.abs(W), q))
        pruned = np.where(np.abs(W) > t, W, 0.0)
        rows.append({"threshold": t, "sparsity": float(np.mean(pruned == 0)),
                     "accuracy": accuracy(p.x_test, p.y_test, pruned)})  # fmt: skip
    return rows
