r"""Gradient-sensitivity scores of single weights: GSP, AGSP and SNIP.

All three read the dense gradient :math:`g = \partial J/\partial W` of the loss
:math:`J` of a batch, from the model's ordinary forward and backward passes
(backward returns dense gradients by contract, so a pruned weight still has one).

* **GSP** (gradient magnitude), averaged over the batches :math:`b = 1..B`:

  .. math:: s^{\mathrm{GSP}}_i = \frac1B \sum_b \big|g^{(b)}_i\big| .

  The absolute value is taken **per batch, then averaged**, not of the averaged
  gradient: near a minimum the full-data gradient :math:`\sum_b g^{(b)}` is close to
  zero for every weight, so :math:`|\sum_b g^{(b)}|` ranks by noise, while the
  per-batch magnitudes keep measuring how strongly the loss reacts to the weight
  (the same choice as Michel et al.'s :math:`E_x|\partial L/\partial\xi|`).

* **AGSP** (first-order Taylor, ShrinkBench's "gradient magnitude" :math:`|w\cdot g|`):

  .. math:: s^{\mathrm{AGSP}}_i = \frac1B \sum_b \big|w_i\, g^{(b)}_i\big| ,

  since removing weight :math:`i` changes the loss by
  :math:`J(w - w_i e_i) - J(w) = -w_i g_i + O(w_i^2)`. ``squared=True`` gives
  Molchanov et al. (2019)'s weight variant :math:`\sum_b (w_i g^{(b)}_i)^2`
  (up to the factor :math:`1/B`).

* **SNIP** (Lee, Ajanthan & Torr, 2019), at initialisation, on one batch:

  .. math::

      g_j = \frac{\partial J(c \odot w)}{\partial c_j}\Big|_{c=1}
          = w_j\,\frac{\partial J}{\partial w_j},
      \qquad s_j = \frac{|g_j|}{\sum_k |g_k|},

  normalised over every prunable weight of the network; keep the :math:`\kappa`
  largest, then train normally.

The book's GSP prunes the weight with the **minimum signed** gradient, one weight
at a time. The minimum of a signed quantity is its most negative value, a weight
whose gradient is large in magnitude: the book removes the weights the loss is
most sensitive to. :func:`book_gsp_select` keeps that rule only to show the flaw.
Here the scores are magnitudes, keyed by qualified parameter name, and
:func:`nnprune.prune.to_sparsity` prunes to an exact sparsity per step.

References
----------
N. Lee, T. Ajanthan and P. H. S. Torr, "SNIP: Single-shot Network Pruning based
on Connection Sensitivity", ICLR 2019.
P. Molchanov, A. Mallya, S. Tyree, I. Frosio and J. Kautz, "Importance Estimation
for Neural Network Pruning", CVPR 2019.
D. Blalock, J. J. Gonzalez Ortiz, J. Frankle and J. Guttag, "What is the State of
Neural Network Pruning?", MLSys 2020 (ShrinkBench).

Book: §4.3 (corrected, see docs/errata.md#s4-3-gsp, #s4-3-agsp).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_sparsity
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..prune import to_sparsity
from ._common import (
    check_batching,
    check_data,
    check_model,
    iter_batches,
    loss_and_backward,
    preserved,
)

Scores = dict[str, np.ndarray]


def _prunable(model: Module) -> dict[str, Parameter]:
    params = {t.name: t.param for t in model.prunable_parameters()}
    if not params:
        raise ValueError(f"{type(model).__name__} has no prunable parameters (weights) to score")
    return params


def _accumulate(
    model: Module,
    loss_fn: Any,
    data: Any,
    batch_size: int | None,
    n_batches: int | None,
    term: Callable[[Parameter], Any],
) -> Scores:
    """Mean over batches of ``term(p)`` (read after each backward), per prunable weight."""
    check_model(model)
    check_data(data)
    check_batching(batch_size, n_batches)
    params = _prunable(model)
    totals = {n: np.zeros(p.shape) for n, p in params.items()}
    count = 0
    with preserved(model):
        for xb, yb in iter_batches(model, data, batch_size, n_batches):
            loss_and_backward(model, loss_fn, xb, yb)
            for n, p in params.items():
                totals[n] += to_numpy(term(p)).astype(np.float64)
            count += 1
    return {n: t / count for n, t in totals.items()}


def signed_gradients(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    *,
    batch_size: int | None = None,
    n_batches: int | None = None,
) -> Scores:
    r"""The mean signed gradient :math:`\frac1B\sum_b g^{(b)}` of every prunable weight.

    Not a pruning score (see the module docstring); the raw quantity the book ranks.

    Parameters
    ----------
    model : Module
        Any nnprune model; left in its mode, with its gradients, afterwards.
    loss_fn : Module
        A loss with ``forward(output, target)`` and ``backward()``.
    data : (X, y)
        Samples; consecutive batches, unshuffled.
    batch_size : int, optional
        Samples per batch (default: all in one batch).
    n_batches : int, optional
        Use only the first ``n_batches`` batches (default: all).

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"0.weight": array of the weight's shape, ...}``, float64.

    Book: §4.3
    """
    return _accumulate(model, loss_fn, data, batch_size, n_batches, lambda p: p.grad)


def gsp_scores(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    *,
    batch_size: int | None = None,
    n_batches: int | None = None,
) -> Scores:
    r"""GSP: :math:`s_i = \frac1B\sum_b |g^{(b)}_i|` per prunable weight (low = prune first).

    Arguments and return value as :func:`signed_gradients`.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-gsp)
    """
    return _accumulate(model, loss_fn, data, batch_size, n_batches, lambda p: abs(p.grad))


def agsp_scores(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    *,
    batch_size: int | None = None,
    n_batches: int | None = None,
    squared: bool = False,
) -> Scores:
    r"""AGSP: first-order Taylor :math:`s_i = \frac1B\sum_b |w_i\, g^{(b)}_i|` (low = prune first).

    ``squared=True`` uses :math:`(w_i g^{(b)}_i)^2` instead (Molchanov et al., 2019).
    Other arguments and the return value as :func:`signed_gradients`.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-agsp)
    """
    if squared:
        return _accumulate(
            model, loss_fn, data, batch_size, n_batches, lambda p: (p.data * p.grad) ** 2
        )
    return _accumulate(model, loss_fn, data, batch_size, n_batches, lambda p: abs(p.data * p.grad))


def snip_scores(model: Module, loss_fn: Any, batch: tuple[Any, Any]) -> Scores:
    r"""SNIP connection sensitivity :math:`s_j = |w_j g_j| / \sum_k |w_k g_k|` on one batch.

    The normalisation runs over every prunable weight of the network, so the
    scores of all layers together sum to 1.

    Raises
    ------
    ValueError
        If every :math:`w_j g_j` is zero (nothing to normalise).

    Book: §4.3 (SNIP at initialisation)
    """
    raw = _accumulate(model, loss_fn, batch, None, None, lambda p: abs(p.data * p.grad))
    total = sum(float(s.sum()) for s in raw.values())
    if not total > 0:
        raise ValueError("SNIP: every |w * dJ/dw| is zero on this batch; nothing to rank")
    return {n: s / total for n, s in raw.items()}


def snip(model: Module, loss_fn: Any, batch: tuple[Any, Any], sparsity: float) -> Scores:
    r"""Prune at initialisation with SNIP: keep the most sensitive weights.

    :math:`\kappa = m - \operatorname{round}(\text{sparsity}\cdot m)` weights are kept.

    Scores from :func:`snip_scores`; masks set globally with
    :func:`nnprune.prune.to_sparsity` (exact count). Train the model normally afterwards:
    the optimisers keep the masks.

    Returns
    -------
    dict of str to numpy.ndarray
        The SNIP scores used.

    Book: §4.3 (SNIP at initialisation)
    """
    check_sparsity("sparsity", sparsity)
    scores = snip_scores(model, loss_fn, batch)
    to_sparsity(model, sparsity, scores, scope="global")
    return scores


def book_gsp_select(signed: Scores, count: int) -> list[tuple[str, int]]:
    """The book's literal GSP rule: the ``count`` weights with the smallest *signed* gradient.

    Kept only to show its flaw: the smallest signed gradients are the most
    negative ones, large in magnitude, i.e. the weights the loss is most
    sensitive to. Use :func:`gsp_scores` (magnitudes) instead.

    Returns
    -------
    list of (param_name, flat_index)
        In selection order (most negative first).

    Book: §4.3 (the uncorrected version, see docs/errata.md#s4-3-gsp)
    """
    names = list(signed)
    flat = np.concatenate([np.asarray(signed[n], np.float64).reshape(-1) for n in names])
    sizes = np.cumsum([0] + [np.asarray(signed[n]).size for n in names])
    out = []
    for i in np.argsort(flat, kind="stable")[:count]:
        j = int(np.searchsorted(sizes, i, side="right") - 1)
        out.append((names[j], int(i - sizes[j])))
    return out


__all__ = [
    "agsp_scores",
    "book_gsp_select",
    "gsp_scores",
    "signed_gradients",
    "snip",
    "snip_scores",
]
