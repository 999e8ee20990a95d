r"""The regularisation path: sparsity and accuracy as functions of :math:`\lambda`.

For each :math:`\lambda` in ``lams`` the same starting weights are trained with
:math:`\mathrm{Loss} + \lambda\,\Omega(W)` by one method, and the result is measured:

* ``zero_fraction``: fraction of the penalised weights that are exactly 0;
* ``small_fraction``: fraction with :math:`|W_{ij}| < 10^{-3}` (``small``), what a
  threshold would remove afterwards;
* ``accuracy``: test accuracy.

``"ista"`` (proximal L1) gives exact zeros that grow with :math:`\lambda`;
``"subgradient"`` (plain SGD on the L1 term, the book's Appendix C) makes weights
small but not zero; ``"reweighted"`` is reweighted L1 by proximal steps; ``"l2"``
(ridge / weight decay) and ``"irls"`` (the IRLS quadratic majoriser of L1) shrink
weights without making them exactly zero.

Book: §4.1–4.2 (corrected, see docs/errata.md#s4-2-lasso)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import nn, optim
from ..backend import get_xp
from ..checks import check_nonnegative, check_one_of, check_positive, check_positive_int
from ..nn.module import Module
from ..regularizers import as_parameter_list
from ..train import evaluate
from .irls import irls_train
from .ista import ista_train, subgradient_l1_train
from .l2 import l2_train
from .reweighted import reweighted_l1_train

METHODS = ("ista", "reweighted", "subgradient", "l2", "irls")


def small_fraction(params: Iterable[Any], small: float) -> float:
    r"""Fraction of entries with :math:`|W_{ij}| <` ``small`` (exact zeros included)."""
    plist = list(params)
    total = sum(p.size for p in plist)
    below = sum(int((get_xp(p.data).abs(p.data) < small).sum()) for p in plist)
    return below / total if total else 0.0


def train_sparse(
    method: str,
    model: Module,
    splits: Any,
    lam: float,
    *,
    epochs: int,
    lr: float = 0.05,
    momentum: float = 0.0,
    batch_size: int = 64,
    seed: int = 0,
    eps: float = 1e-3,
    refresh_every: int = 1,
) -> Any:
    """Train ``model`` in place by ``method`` at strength ``lam``; returns the ``TrainResult``."""
    method = check_one_of("method", method, METHODS)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    common = dict(lam=lam, epochs=epochs, batch_size=batch_size, seed=seed, progress=False)
    loss_fn = nn.CrossEntropyLoss()
    if method == "ista":
        return ista_train(model, loss_fn, opt, splits.train, **common)
    if method == "subgradient":
        return subgradient_l1_train(model, loss_fn, opt, splits.train, **common)
    if method == "l2":
        return l2_train(model, loss_fn, opt, splits.train, **common)
    if method == "irls":
        return irls_train(
            model, loss_fn, opt, splits.train, eps=eps, refresh_every=refresh_every, **common
        )
    return reweighted_l1_train(
        model, loss_fn, opt, splits.train, eps=eps, refresh_every=refresh_every, **common
    )


def lambda_path(
    model: Module | Callable[[], Module],
    splits: Any,
    lams: Sequence[float],
    method: str = "ista",
    *,
    epochs: int,
    lr: float = 0.05,
    momentum: float = 0.0,
    batch_size: int = 64,
    seed: int = 0,
    eps: float = 1e-3,
    refresh_every: int = 1,
    small: float = 1e-3,
) -> list[dict[str, Any]]:
    r"""Train one copy of the same starting model per :math:`\lambda` and measure each.

    Parameters
    ----------
    model : Module or callable returning a Module
        The starting point (untrained or pre-trained). A ``Module`` is deep-copied for
        every :math:`\lambda` and left unchanged; a callable is called once per
        :math:`\lambda` and must build identical models (a fixed seed).
    splits : Splits
        ``splits.train`` is trained on, ``splits.test`` measured (e.g. ``digits_splits``).
    lams : sequence of float
        The strengths :math:`\lambda \ge 0`, in the order the rows are returned.
    method : {"ista", "reweighted", "subgradient", "l2", "irls"}, default "ista"
    epochs : int
        Training epochs per :math:`\lambda`.
    lr, momentum : float, default 0.05, 0.0
        SGD settings (momentum 0: true proximal SGD for the proximal methods).
    batch_size, seed : int
        As in :func:`nnprune.train.fit`; the same for every :math:`\lambda`.
    eps, refresh_every
        Reweighted L1 settings (ignored by the other methods).
    small : float, default 1e-3
        Threshold of ``small_fraction``.

    Returns
    -------
    list of dict
        One row per :math:`\lambda`: ``method``, ``lam``, ``zero_fraction``,
        ``small_fraction``, ``accuracy`` (test), ``loss`` (test cross-entropy).

    Raises
    ------
    ValueError
        For an unknown method, a negative :math:`\lambda`, ``eps <= 0`` or a bad
        ``epochs``, before any training.

    Book: §4.1–4.2 (corrected, see docs/errata.md#s4-2-lasso)
    """
    method = check_one_of("method", method, METHODS)
    lams = [check_nonnegative(f"lams[{i}]", lam) for i, lam in enumerate(lams)]
    epochs = check_positive_int("epochs", epochs)
    check_positive("eps", eps)
    check_positive_int("refresh_every", refresh_every)
    small = check_positive("small", small)
    if not isinstance(model, Module) and not callable(model):
        raise ValueError(f"model must be a Module or a callable building one, got {model!r:.60}")
    rows = []
    for lam in lams:
        net = copy.deepcopy(model) if isinstance(model, Module) else model()
        res = train_sparse(
            method,
            net,
            splits,
            lam,
            epochs=epochs,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            seed=seed,
            eps=eps,
            refresh_every=refresh_every,
        )
        loss, acc = evaluate(net, nn.CrossEntropyLoss(), splits.test)
        rows.append(
            {
                "method": method,
                "lam": lam,
                "zero_fraction": res.zero_fraction,
                "small_fraction": small_fraction(as_parameter_list(net), small),
                "accuracy": acc,
                "loss": loss,
            }
        )
    return rows


__all__ = ["METHODS", "lambda_path", "small_fraction", "train_sparse"]
