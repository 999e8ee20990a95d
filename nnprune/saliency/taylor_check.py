r"""Predicted vs actual loss change: when does the first-order Taylor estimate hold?

Every gradient saliency of §4.3 rests on one approximation. Removing a unit sets
its output :math:`z_j` (as the next layer reads it) to zero; removing a weight sets
:math:`w_i` to zero. To first order,

.. math::

    \Delta J_\text{unit} \approx -\sum_{n,p} z_{n,j,p}\,\frac{\partial J}{\partial z_{n,j,p}},
    \qquad
    \Delta J_\text{weight} \approx -w_i\,\frac{\partial J}{\partial w_i},
    \qquad
    \Delta J_{S} \approx -\sum_{i \in S} w_i\,\frac{\partial J}{\partial w_i},

while the actual change is :math:`J(\text{removed}) - J` measured on the same data.
The functions here put both side by side, with Pearson and Spearman correlations
(:func:`scipy.stats.pearsonr`, :func:`scipy.stats.spearmanr`): for single small
weights the two agree closely; for whole units, large weights or large removed sets
the curvature terms (:math:`\tfrac12 \delta^\top H \delta`, ignored here and
approximated by OBD) take over and the estimate fails, first in size, then in rank.

All computations run on the whole ``data`` as one batch, in evaluation mode; the
model (weights, masks, modes, gradients) is left as it was.

Book: §4.3 (corrected, see docs/errata.md#s4-3-agsp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_xp, to_numpy
from ..checks import check_sparsity
from ..nn.module import Module
from ._common import check_data, check_model, iter_batches, loss_and_backward, preserved
from .units import find_layer, forward_backward, sequential_layers, unit_output_index


@dataclass
class TaylorReport:
    """Predicted and actual loss changes of a set of removals.

    Attributes
    ----------
    rows : list of (key, predicted, actual)
        ``key`` is a unit index, a flat weight index, or a sparsity.
    loss : float
        Loss before any removal.
    pearson, spearman : float
        Correlations of the predicted and actual columns (NaN with fewer than two
        rows or a constant column).
    what : str
        What was removed, for printing.
    """

    rows: list[tuple[float, float, float]]
    loss: float
    pearson: float
    spearman: float
    what: str

    def __str__(self) -> str:
        lines = [
            f"{self.what}: loss {self.loss:.6f}",
            f"{'key':>10} {'predicted':>12} {'actual':>12}",
        ]
        lines += [f"{k:>10g} {p:>12.4e} {a:>12.4e}" for k, p, a in self.rows]
        lines.append(f"Pearson r = {self.pearson:.4f}, Spearman rho = {self.spearman:.4f}")
        return "\n".join(lines)


def _correlations(pred: np.ndarray, act: np.ndarray) -> tuple[float, float]:
    if pred.size < 2 or np.ptp(pred) == 0 or np.ptp(act) == 0:
        return float("nan"), float("nan")
    from scipy import stats  # imported here: scipy.stats takes about a second to load

    return float(stats.pearsonr(pred, act)[0]), float(stats.spearmanr(pred, act)[0])


def _report(keys: Any, pred: list[float], act: list[float], loss: float, what: str) -> TaylorReport:
    p, a = np.asarray(pred, np.float64), np.asarray(act, np.float64)
    rows = [(k, float(x) + 0.0, float(y) + 0.0) for k, x, y in zip(keys, p, a, strict=True)]
    return TaylorReport(rows, loss, *_correlations(p, a), what)


def _check_indices(indices: Any, n: int, what: str) -> np.ndarray:
    if indices is None:
        return np.arange(n)
    arr = np.asarray(indices).reshape(-1)
    if arr.size == 0 or arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a non-empty sequence of ints, got {indices!r:.60}")
    if arr.min() < 0 or arr.max() >= n or len(np.unique(arr)) != arr.size:
        raise ValueError(f"{what} must be distinct ints in [0, {n}), got {arr.tolist()!r:.80}")
    return arr.astype(np.int64)


def taylor_report(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    layer: str | Module,
    units: Any = None,
) -> TaylorReport:
    r"""For each unit of ``layer``, the predicted and the actual loss change of removing it alone.

    predicted :math:`= -\sum_{n,p} z_{n,j,p}\,\partial J/\partial z_{n,j,p}` (the first-order
    term behind :func:`nnprune.saliency.gsap_scores`), actual :math:`= J(z_j = 0) - J`, where
    :math:`z` is the unit's output as the next mixing layer reads it; zeroing it is what
    :func:`nnprune.prune.remove_units` does to the function.

    Parameters
    ----------
    model : Sequential
    loss_fn : Module
    data : (X, y)
        One batch (all of it).
    layer : str or Module
        A ``Linear`` or ``Conv2d`` layer.
    units : sequence of int, optional
        Units to test (default: all).

    Returns
    -------
    TaylorReport
        Rows ``(unit, predicted, actual)``.

    Book: §4.3
    """
    check_model(model)
    X, y = check_data(data)
    layers = sequential_layers(model)
    i = find_layer(layers, layer)
    point = unit_output_index(layers, i)
    units = _check_indices(units, layers[i][1].weight.shape[0], "units")
    pred, act = [], []
    with preserved(model):
        xb, yb = next(iter_batches(model, (X, y), None, None))
        loss, outputs, grads = forward_backward(model, layers, loss_fn, xb, yb, {point})
        z, dz = outputs[point], grads[point]
        prod = to_numpy(z * dz).astype(np.float64)
        first_order = prod.reshape(prod.shape[0], prod.shape[1], -1).sum(axis=(0, 2))  # (units,)
        for j in units:
            x = z.copy()
            x[:, j] = 0
            for _, m in layers[point + 1 :]:
                x = m(x)
            act.append(float(loss_fn(x, yb)) - loss)
            pred.append(-first_order[j])
    return _report([int(j) for j in units], pred, act, loss, f"units of layer {layers[i][0]!r}")


def _weight_setup(model: Module, loss_fn: Any, data: Any, names: list[str]) -> tuple[float, dict]:
    named = dict(model.named_parameters())
    for n in names:
        if n not in named:
            raise ValueError(f"{n!r} is not a parameter of the model; it has {list(named)}")
    xb, yb = next(iter_batches(model, data, None, None))
    loss = loss_and_backward(model, loss_fn, xb, yb)
    return loss, {n: named[n] for n in names}


def _loss(model: Module, loss_fn: Any, data: Any) -> float:
    xb, yb = next(iter_batches(model, data, None, None))
    return float(loss_fn(model(xb), yb))


def weight_taylor_report(
    model: Module, loss_fn: Any, data: tuple[Any, Any], name: str, indices: Any = None
) -> TaylorReport:
    r"""Per weight of parameter ``name``: predicted :math:`-w_i g_i` vs actual :math:`J(w_i=0) - J`.

    ``indices`` are flat indices into the parameter (default: all; one forward each).
    The first-order term behind AGSP and SNIP. Returns rows ``(index, predicted, actual)``.

    Book: §4.3
    """
    check_model(model)
    check_data(data)
    with preserved(model):
        loss, params = _weight_setup(model, loss_fn, data, [name])
        p = params[name]
        idx = _check_indices(indices, p.size, "indices")
        w, g = to_numpy(p.data).reshape(-1), to_numpy(p.grad).reshape(-1)
        pred, act = [], []
        for i in idx:
            pos = np.unravel_index(int(i), p.shape)
            old = p.data[pos].copy()
            p.data[pos] = 0
            try:
                act.append(_loss(model, loss_fn, data) - loss)
            finally:
                p.data[pos] = old
            pred.append(-float(w[i]) * float(g[i]))
    return _report([int(i) for i in idx], pred, act, loss, f"weights of {name!r}")


def weight_taylor_sweep(
    model: Module, loss_fn: Any, data: tuple[Any, Any], scores: dict[str, Any], sparsities: Any
) -> TaylorReport:
    r"""Remove the lowest-scored fraction of weights at once: predicted vs actual, per sparsity.

    For each :math:`s` in ``sparsities``, the set :math:`S` is the
    :math:`\operatorname{round}(s\cdot n)` weights with the smallest ``scores`` (global
    ranking over the scored parameters, e.g. from :func:`gsp_scores`,
    :func:`agsp_scores` or :func:`snip_scores`); predicted
    :math:`= -\sum_{i\in S} w_i g_i`, actual :math:`= J(w_S = 0) - J`. Small sets follow
    the first-order estimate; large ones leave it. The weights are restored.
    Returns rows ``(sparsity, predicted, actual)``.

    Book: §4.3
    """
    check_model(model)
    check_data(data)
    if not isinstance(scores, dict) or not scores:
        raise ValueError("scores must be a non-empty dict {param_name: array}")
    levels = [check_sparsity("sparsity", s) for s in np.atleast_1d(sparsities).tolist()]
    with preserved(model):
        loss, params = _weight_setup(model, loss_fn, data, list(scores))
        names = list(params)
        for n in names:
            if np.shape(scores[n]) != params[n].shape:
                raise ValueError(f"scores[{n!r}] must have shape {params[n].shape}")
        flat = np.concatenate(
            [np.asarray(to_numpy(scores[n]), np.float64).reshape(-1) for n in names]
        )
        wg = np.concatenate([to_numpy(params[n].data * params[n].grad).reshape(-1) for n in names])
        order = np.argsort(flat, kind="stable")
        sizes = np.cumsum([0] + [params[n].size for n in names])
        saved = {n: params[n].data.copy() for n in names}
        pred, act = [], []
        try:
            for s in levels:
                drop = np.zeros(flat.size, bool)
                drop[order[: round(s * flat.size)]] = True
                for k, n in enumerate(names):
                    part = drop[sizes[k] : sizes[k + 1]].reshape(params[n].shape)
                    xp = get_xp(saved[n])
                    params[n].data[...] = xp.where(xp.asarray(part), 0, saved[n])
                act.append(_loss(model, loss_fn, data) - loss)
                pred.append(-float(wg[drop].astype(np.float64).sum()))
        finally:
            for n in names:
                params[n].data[...] = saved[n]
    return _report(levels, pred, act, loss, "lowest-scored weights removed together")


__all__ = ["TaylorReport", "taylor_report", "weight_taylor_report", "weight_taylor_sweep"]
