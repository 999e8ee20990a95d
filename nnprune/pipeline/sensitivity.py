r"""Tuning pruning (§5.2): per-layer sensitivity, and sweeps over sparsity and threshold.

* :func:`sensitivity_analysis` prunes **one** layer at a time to each
  sparsity, without retraining, and records the validation accuracy; the
  model's weights and masks are restored after every point. Layers whose
  accuracy falls early are sensitive and deserve a lower sparsity (Han et
  al. 2015, Fig. 6; Distiller's ``perform_sensitivity_analysis``).
* :func:`sparsity_sweep` prunes the whole model to each sparsity (one-shot,
  optionally retrained) and :func:`threshold_sweep` does the same with Han
  et al.'s per-layer threshold :math:`\tau_l = q\,\sigma(W_l)`; every point
  starts from the same trained weights (copied with ``state_dict``).

All accuracies are on ``splits.val``: hyper-parameters are chosen on
validation data, never on the test set.

Book: §5.2 (threshold tuning, sensitivity analysis).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import prune
from .._atomic import save_figure
from .._atomic import write_csv as _write_csv
from ..checks import check_sparsity
from ..nn.module import Module
from ._select import (
    CRITERIA,
    pruned_count,
    select,
    selected_parameters,
    weight_sparsity,
)
from .loop import decide, evaluate, retrain

DEFAULT_SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _total_pruned(model: Module) -> int:
    return sum(pruned_count(p) for p in model.parameters())


def sensitivity_analysis(
    model: Module,
    splits: Any,
    sparsities: Iterable[float] = DEFAULT_SPARSITIES,
    layers: Sequence[str] | None = None,
    criterion: str = "magnitude",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Validation accuracy with one layer pruned at a time, for every sparsity.

    Parameters
    ----------
    model : Module
        Trained; left exactly as it was (weights and masks).
    splits : Splits
        ``splits.val`` is evaluated.
    sparsities : iterable of float in [0, 1)
        Sparsity of the one pruned weight tensor.
    layers : list of str, optional
        Weights to analyse (default every prunable weight).
    criterion : {"magnitude", "random"}

    Returns
    -------
    list of dict
        ``{"layer", "sparsity", "accuracy", "loss", "pruned", "model_pruned"}``
        per (layer, sparsity): ``pruned`` counts the layer's pruned weights and
        ``model_pruned`` all pruned entries in the model at that point.

    Book: §5.2 (sensitivity analysis)
    """
    sparsities = [check_sparsity("sparsities", s) for s in sparsities]
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    targets = selected_parameters(model, layers)
    state = model.state_dict()
    rows = []
    try:
        for name, param in targets.items():
            for s in sparsities:
                decide(model, s, criterion, "layer", [name], seed=seed)
                loss, acc = evaluate(model, splits.val)
                rows.append(
                    {
                        "layer": name,
                        "sparsity": s,
                        "accuracy": acc,
                        "loss": loss,
                        "pruned": pruned_count(param),
                        "model_pruned": _total_pruned(model),
                    }
                )
                model.load_state_dict(state)
    finally:
        model.load_state_dict(state)
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write sweep or sensitivity rows to ``path`` as CSV (atomically)."""
    return _write_csv(path, rows)


def _dense_line(ax: Any, dense: float | None, chance: float | None = None) -> None:
    """The dense model's accuracy (dashed) and the chance level (dotted), as references."""
    from ..plots.fonts import label

    if dense is not None:
        text = f"{100 * dense:.2f}%"
        name = label(f"稠密 {text}", f"dense {text}")
        ax.axhline(100 * dense, color="k", ls="--", lw=1, label=name)
    if chance is not None:
        ax.axhline(100 * chance, color="grey", ls=":", lw=1,
                   label=label(f"随机猜测 {chance:.0%}", f"chance {chance:.0%}"))  # fmt: skip
        ax.set_ylim(max(0.0, 100 * chance - 8), 102)  # 0-100 %, where a collapse shows


def _labels(ax: Any, x: str, title: str) -> None:
    from ..plots.fonts import label

    ax.set(xlabel=x, ylabel=label("验证集准确率 (%)", "validation accuracy (%)"), title=title)


def plot_sensitivity(
    rows: Sequence[dict[str, Any]],
    out_dir: str | os.PathLike,
    name: str = "sensitivity.png",
    dense: float | None = None,
    title: str = "Per-layer sensitivity, one-shot, no retraining",
    chance: float | None = None,
) -> Path:
    """One validation-accuracy-vs-sparsity curve per layer; saved as ``out_dir/name``.

    ``dense``: the unpruned model's validation accuracy, drawn as a dashed reference;
    ``chance``: the chance level (e.g. 0.1 for ten classes), drawn dotted, the y axis then
    spanning it to 100 %; ``title``: the figure's title (name the model and data there).
    """
    import matplotlib.pyplot as plt

    from ..plots.fonts import label

    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    _dense_line(ax, dense, chance)
    for layer in dict.fromkeys(r["layer"] for r in rows):
        pts = [(100 * r["sparsity"], 100 * r["accuracy"]) for r in rows if r["layer"] == layer]
        ax.plot(*zip(*pts, strict=True), marker="o",
                label=label(f"仅剪 {layer}", f"only {layer} pruned"))  # fmt: skip
    _labels(ax, label("该层稀疏度 (%)", "sparsity of this layer only (%)"), title)
    ax.legend(fontsize=8, loc="center left")
    return save_figure(fig, out_dir, name)


def plot_sweep(
    rows: Sequence[dict[str, Any]],
    out_dir: str | os.PathLike,
    name: str = "sweep.png",
    label: str = "",
    dense: float | None = None,
    chance: float | None = None,
) -> Path:
    """Validation accuracy against achieved sparsity for sweep rows; saved as ``out_dir/name``.

    Rows of :func:`threshold_sweep` get each point labelled with its ``q``, below and to
    the left of the point (clear of the dense line above and of the curve, which falls to
    the right); ``dense`` (the unpruned validation accuracy) is drawn dashed and ``chance``
    (e.g. 0.1 for ten classes) dotted; the x axis spans 0-100 % so no label meets the frame.
    """
    import matplotlib.pyplot as plt

    from ..plots.fonts import label as bilingual

    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    _dense_line(ax, dense, chance)
    x = [100 * r["sparsity"] for r in rows]
    y = [100 * r["accuracy"] for r in rows]
    ax.plot(x, y, marker="o", label=bilingual("一次剪枝，不再训练", "pruned, one-shot"))
    for r, xi, yi in zip(rows, x, y, strict=True):
        if "q" in r:
            ax.annotate(f"q={r['q']:g}", (xi, yi), xytext=(-6, -13), textcoords="offset points",
                        ha="right", fontsize=9)  # fmt: skip
    ax.set_xlim(0, 102)
    _labels(ax, bilingual("实际权重稀疏度 (%)", "achieved weight sparsity (%)"), label)
    ax.legend(fontsize=8, loc="center left")
    return save_figure(fig, out_dir, name)


def _sweep(model, splits, points, prune_fn, retrain_epochs, lr, layers, seed, key):
    work = copy.deepcopy(model)
    state = model.state_dict()
    rows = []
    for value in points:
        work.load_state_dict(state)
        prune_fn(work, value)
        pruned_loss, pruned_acc = evaluate(work, splits.val)
        retrain(work, splits, retrain_epochs, lr, seed=seed)
        loss, acc = evaluate(work, splits.val)
        rows.append({key: value, "sparsity": weight_sparsity(work, layers),
                     "accuracy_pruned": pruned_acc, "accuracy": acc, "loss": loss})  # fmt: skip
    return rows


def sparsity_sweep(
    model: Module,
    splits: Any,
    sparsities: Iterable[float] = DEFAULT_SPARSITIES,
    *,
    retrain_epochs: int = 0,
    lr: float = 0.005,
    criterion: str = "magnitude",
    scope: str = "global",
    layers: Sequence[str] | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One-shot pruning to each sparsity, each from the same trained weights.

    ``model`` is not changed (a copy is pruned). ``lr`` is the retraining
    rate (already lowered). Rows: ``{"target", "sparsity" (achieved),
    "accuracy_pruned", "accuracy", "loss"}`` on ``splits.val``.

    Book: §5.2 (choosing the sparsity)
    """
    points = [check_sparsity("sparsities", s) for s in sparsities]
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    select(model, layers)

    def prune_fn(work: Module, s: float) -> None:
        decide(work, s, criterion, scope, layers, seed=seed)

    return _sweep(model, splits, points, prune_fn, retrain_epochs, lr, layers, seed, "target")


def threshold_sweep(
    model: Module,
    splits: Any,
    qs: Iterable[float] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
    *,
    retrain_epochs: int = 0,
    lr: float = 0.005,
    layers: Sequence[str] | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    r"""Han et al.'s threshold :math:`|w| < q\,\sigma(W_l)` per layer, for each ``q``.

    ``model`` is not changed. Rows: ``{"q", "sparsity" (achieved),
    "accuracy_pruned", "accuracy", "loss"}`` on ``splits.val``. A larger
    ``q`` prunes at least as much (the threshold only grows).

    Book: §5.2 (choosing the threshold), §3.2
    """
    qs = list(qs)
    for q in qs:
        if isinstance(q, bool) or not isinstance(q, int | float) or not q >= 0:
            raise ValueError(f"qs must hold numbers >= 0, got {q!r}")
    targets = selected_parameters(model, layers)

    def prune_fn(work: Module, q: float) -> None:
        for name in targets:
            mod_name, _, attr = name.rpartition(".")
            prune.std_threshold_unstructured(work.get_submodule(mod_name), attr, q)

    return _sweep(model, splits, qs, prune_fn, retrain_epochs, lr, layers, seed, "q")
