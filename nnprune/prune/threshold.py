r"""Threshold criteria: prune every weight whose magnitude is below a cut-off.

Unlike the ``amount``-based methods, the number pruned is not fixed in advance:
it is whatever falls below the threshold. :func:`threshold_unstructured` takes
the cut-off itself; :func:`std_threshold_unstructured` is Han et al.'s
per-layer rule :math:`\tau = q\,\sigma(W)`. Neither is in
``torch.nn.utils.prune`` (which only takes an ``amount``). Both act on the
entries still kept: pruned entries stay pruned.

S. Han, J. Pool, J. Tran, W. J. Dally, *Learning both Weights and Connections
for Efficient Neural Networks*, NeurIPS 2015.

Book: §3.2 (threshold criterion)
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from ..checks import check_nonnegative
from ..nn.module import Module
from ._apply import apply_method
from ._checks import get_parameter
from .methods import BasePruningMethod, score_stats


class ThresholdUnstructured(BasePruningMethod):
    r"""Prune every kept entry whose magnitude is below a fixed threshold.

    .. math::

        m_i = 0 \iff |w_i| < \tau .

    Unlike :class:`L1Unstructured` the count is not fixed in advance: it is
    whatever falls below :math:`\tau` (Han et al., 2015).

    Book: §3.2 (threshold criterion)
    """

    PRUNING_TYPE = "unstructured"
    CRITERION = "|w| < threshold"

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        scores = np.abs(t)
        pruned = scores < self.threshold
        self.stats_ = {"threshold": self.threshold, **score_stats(scores, pruned)}
        return default_mask & ~pruned


def threshold_unstructured(
    module: Module, name: str, threshold: float, *, force: bool = False
) -> Module:
    r"""Prune every kept entry of ``module.<name>`` with :math:`|w_i| < \tau` (``threshold``).

    .. math::

        m_i \leftarrow m_i \cdot \mathbb{1}[\,|w_i| \ge \tau\,].

    Entries already pruned stay pruned. Not in PyTorch (which only takes an
    ``amount``); the fixed-threshold criterion of Han et al. (2015).

    Book: §3.2 (threshold criterion)
    """
    tau = check_nonnegative("threshold", threshold)
    return apply_method(
        ThresholdUnstructured(tau), module, name, force=force, function="threshold_unstructured"
    )


def std_threshold_unstructured(
    module: Module, name: str, q: float, *, force: bool = False
) -> Module:
    r"""Han et al.'s per-layer quality threshold: prune :math:`|w_i| < q\,\sigma(W)`.

    .. math::

        \tau = q \cdot \sigma(W),\qquad
        \sigma(W) = \sqrt{\tfrac{1}{N}\textstyle\sum_i (w_i - \bar w)^2},\qquad
        m_i \leftarrow m_i \cdot \mathbb{1}[\,|w_i| \ge \tau\,].

    :math:`\sigma` is the population standard deviation (``ddof=0``) of **all**
    :math:`N` entries of the layer's weight tensor as it is now, pruned zeros
    included (Distiller's ``SensitivityPruner`` does the same with ``ddof=1``).
    The quality parameter :math:`q` sets how aggressive the layer's pruning is.

    S. Han, J. Pool, J. Tran, W. J. Dally, *Learning both Weights and
    Connections for Efficient Neural Networks*, NeurIPS 2015.

    Book: §3.2 (threshold criterion)
    """
    q = check_nonnegative("q", q)
    param = get_parameter(module, name, force=force)
    std = float(np.std(to_numpy(param.data).astype(np.float64)))
    return apply_method(
        ThresholdUnstructured(q * std),
        module,
        name,
        force=force,
        function="std_threshold_unstructured",
        extra={"q": q, "std": std},
    )
