r"""Gradual magnitude pruning during training (Zhu & Gupta 2017), as a ``fit`` callback.

At the steps a schedule names, the mask is recomputed by magnitude so that
the sparsity equals the schedule's target :math:`s_t`:

.. math::

    s_t = s_f + (s_i - s_f)\left(1 - \frac{t - t_0}{t_{end} - t_0}\right)^{3}
    \quad (\text{``PolynomialDecay``}),\qquad
    M_t = \text{keep all but the } \operatorname{round}(s_t n) \text{ smallest } |w|.

Pruned weights are exactly zero, so they are the smallest magnitudes and
stay pruned: recomputing the mask over all weights equals pruning the
missing :math:`\operatorname{round}(s_t n) - n_\text{pruned}` among the
survivors, which is what this callback does (no tie between a pruned zero
and a kept weight can then revive the pruned one). Between pruning steps the
optimiser keeps the masked weights at zero.

M. Zhu, S. Gupta, *To prune, or not to prune: exploring the efficacy of
pruning for model compression*, ICLR Workshop 2018 (arXiv 1710.01878).

Book: §8 (gradual pruning), §3.2 (adaptive pruning).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checks import check_sparsity
from ..nn.module import Module
from ._select import SCOPES, pruned_count, selected_parameters
from .loop import decide


class GradualPruning:
    """Callback for :func:`nnprune.train.fit`: prune on a schedule after optimiser steps.

    Parameters
    ----------
    schedule : callable
        ``schedule(step) -> (should_prune, sparsity)``, e.g.
        ``PolynomialDecay(0.0, 0.9, begin_step=0, end_step=500, frequency=50)``.
    layers : list of str, optional
        Weights to prune (dotted names or module names, see
        :func:`nnprune.pipeline.select`); default every prunable weight. To
        leave the output layer dense: ``layers=prunable_names(model)[:-1]``.
    scope : {"global", "layer"}, default "global"
        Rank all selected weights together, or prune each tensor to ``s_t``.

    Attributes
    ----------
    history_ : list of (int, float, float)
        ``(step, target sparsity, achieved sparsity)`` at every pruning step.

    Examples
    --------
    >>> from nnprune.pipeline import GradualPruning, PolynomialDecay
    >>> cb = GradualPruning(PolynomialDecay(0.0, 0.8, begin_step=0, end_step=100, frequency=10))
    >>> # fit(model, loss_fn, opt, train, epochs=5, callbacks=[cb])

    Book: §8 (gradual pruning)
    """

    def __init__(
        self, schedule: Any, layers: Sequence[str] | None = None, scope: str = "global"
    ) -> None:
        if not callable(schedule):
            raise TypeError(
                f"schedule must be callable: step -> (should_prune, sparsity), got {schedule!r}"
            )
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
        self.schedule = schedule
        self.layers = None if layers is None else list(layers)
        self.scope = scope
        self.history_: list[tuple[int, float, float]] = []

    def on_step_end(self, step: int, model: Module) -> None:
        should_prune, target = self.schedule(step)
        if not should_prune:
            return
        target = check_sparsity("schedule sparsity", target)
        decide(model, target, "magnitude", self.scope, self.layers)
        params = list(selected_parameters(model, self.layers).values())
        achieved = sum(pruned_count(p) for p in params) / sum(p.size for p in params)
        self.history_.append((int(step), float(target), achieved))

    def __repr__(self) -> str:
        return f"GradualPruning(schedule={self.schedule!r}, scope={self.scope!r})"
