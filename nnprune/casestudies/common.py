r"""The before/after table shared by the three case studies (book §7), and its plot.

Every case study trains a dense model, then continues from that checkpoint
with several methods, each given the **same** retraining budget (epochs,
learning rate, schedule, optimiser):

* ``dense``: the dense checkpoint itself, for reference;
* ``dense+retrain`` (:data:`CONTROL`): the unpruned checkpoint trained for the
  retraining budget, the equal-budget control;
* one row per pruning method: prune a copy of the checkpoint, then retrain it.

The pruned models get more training than ``dense``; if the dense model had
not converged, comparing them with ``dense`` credits pruning with the gain
of the extra epochs. ``delta_pts`` is therefore measured against the
control, which had the same extra epochs without pruning. One row per
(model, method):

==================  ==========================================================
column              meaning
==================  ==========================================================
``params``          entries of all parameters (a physically shrunk model has fewer)
``nonzeros``        non-zero entries (:func:`nnprune.metrics.model_size`)
``flops``           multiply-accumulates per sample, dense and non-zero
                    (:func:`nnprune.metrics.flops`)
``kB_dense``        bytes of parameters and buffers stored dense
``kB_csr``          the same with each prunable weight in CSR
                    (:func:`nnprune.metrics.model_bytes`, SciPy's int32 indices)
``latency_ms``      median forward time of one batch; the models of a family
                    take turns, one timed pass each per round
                    (:func:`nnprune.metrics.latency.compare_latency`)
``accuracy``        test accuracy, mean ± std over seeds
``delta_pts``       accuracy minus that of ``dense+retrain`` of the same seed,
                    in points, then mean ± std over seeds
==================  ==========================================================

Structure, size and FLOP columns are those of the first seed (the methods
remove the same counts for every seed); latency is measured on the first
seed's models. Nothing here is asserted about quality: the numbers are
measured where they are printed.

Book: §7 (corrected, see docs/errata.md#s7: the book's parameter counts and
accuracy gains have no measurement behind them; these tables do).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, optim
from ..backend import to_backend
from ..metrics import flops as count_flops
from ..metrics import model_bytes, model_size
from ..metrics.latency import compare_latency
from ..optim.lr_scheduler import CosineAnnealingLR
from ..report import format_table, save_figure
from ..train import History, evaluate, fit

COLUMNS = [
    "model",
    "method",
    "params",
    "nonzeros",
    "flops",
    "flops_nz",
    "kB_dense",
    "kB_csr",
    "latency_ms",
    "accuracy",
    "delta_pts",
]
FORMATS = {
    "params": "{:,}",
    "nonzeros": "{:,}",
    "flops": "{:,}",
    "flops_nz": "{:,}",
    "kB_dense": "{:.1f}",
    "kB_csr": "{:.1f}",
    "latency_ms": "{:.2f}",
}
CONTROL = "dense+retrain"


def clone(model: nn.Module) -> nn.Module:
    """An independent deep copy (weights, masks, buffers): prune it, the original stays."""
    return copy.deepcopy(model)


def weights_of(model: nn.Module, kinds: tuple[type, ...] | None = None) -> list[str]:
    """Qualified names of the prunable parameters, optionally of modules of ``kinds`` only.

    The ``names`` that :func:`nnprune.prune.to_sparsity` takes.
    """
    return [
        t.name for t in model.prunable_parameters() if kinds is None or isinstance(t.module, kinds)
    ]


def train_model(
    model: nn.Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None,
    *,
    epochs: int,
    lr: float,
    seed: int,
    optimizer: str = "sgd",
    batch_size: int = 64,
    weight_decay: float = 0.0,
    backend: str | None = None,
) -> History:
    """Train with a fresh optimiser and a cosine learning-rate decay to 0 over ``epochs``.

    A new optimiser each call: after structural pruning the old one holds
    state of the wrong shapes, and retraining starts without momentum from
    the dense run. ``optimizer`` is ``"sgd"`` (momentum 0.9) or ``"adam"``
    (Adam; AdamW when ``weight_decay > 0``). ``backend`` moves the model
    first (:func:`nnprune.train.fit`); the batches follow the model.
    """
    if optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    elif optimizer == "adam":
        if weight_decay > 0:
            opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        else:
            opt = optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    sched = CosineAnnealingLR(opt, T_max=epochs)
    return fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        train,
        val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        scheduler=sched,
        progress=False,
        backend=backend,
    )


def measure(model: nn.Module, test: tuple[Any, Any], input_shape: Sequence[int]) -> dict[str, Any]:
    """Size, FLOPs, bytes and test accuracy of one model (latency: :func:`add_latency`)."""
    size, nonzero = model_size(model)
    total, total_nz = count_flops(model, input_shape)
    _, acc = evaluate(model, nn.CrossEntropyLoss(), test)
    return {
        "params": size,
        "nonzeros": nonzero,
        "flops": int(total),
        "flops_nz": int(total_nz),
        "kB_dense": model_bytes(model, "dense") / 1000,
        "kB_csr": model_bytes(model, "csr") / 1000,
        "acc": float(acc),
    }


def add_latency(
    records: list[dict], models: dict[tuple[str, str], nn.Module], x: Any, repeats: int
) -> None:
    """Time ``models`` (keyed ``(model, method)``) on ``x``; set ``latency_ms`` in ``records``.

    The models of one family take turns (:func:`~nnprune.metrics.latency.compare_latency`,
    one timed pass each per round, ``repeats`` rounds); ``x`` is moved to their backend.
    """
    families = sorted({key[0] for key in models})
    for family in families:
        group = {key[1]: m for key, m in models.items() if key[0] == family}
        xb = to_backend(x, next(iter(group.values())).backend)
        times = compare_latency(group, xb, repeats=repeats)
        for r in records:
            if r["model"] == family and r["method"] in times:
                r["latency_ms"] = 1000 * times[r["method"]]


def latency_note(repeats: int, x: Any) -> str:
    """The header line saying how ``latency_ms`` was measured (on batch ``x``)."""
    return (
        f"latency_ms: median of {repeats} interleaved repeats (models taking turns) "
        f"on this machine, batch of shape {tuple(x.shape)}"
    )


def _pm(values: Sequence[float], scale: float, signed: bool = False) -> str:
    arr = scale * np.asarray(values, dtype=float)
    mean = f"{arr.mean():+.2f}" if signed else f"{arr.mean():.2f}"
    return mean if arr.size == 1 else f"{mean} ± {arr.std(ddof=1):.2f}"


def summarize(records: list[dict]) -> list[dict]:
    """One row per (model, method) from per-seed records ``{model, method, seed, acc, ...}``.

    ``accuracy`` is the mean ± sample std (in %) over seeds, ``delta_pts`` the
    per-seed difference to the equal-budget control :data:`CONTROL` of the
    same model and seed (in points; empty on the control's own row);
    ``acc_mean``, ``delta_mean`` and ``accs`` keep the raw numbers. Other
    columns come from the first seed.

    Raises
    ------
    ValueError
        If a (model, seed) has no :data:`CONTROL` record.
    """
    control = {(r["model"], r["seed"]): r["acc"] for r in records if r["method"] == CONTROL}
    missing = sorted({(r["model"], r["seed"]) for r in records} - set(control))
    if missing:
        raise ValueError(
            f"records must hold a {CONTROL!r} run per (model, seed), missing {missing}"
        )
    rows: list[dict] = []
    keys = list(dict.fromkeys((r["model"], r["method"]) for r in records))
    for model, method in keys:
        runs = [r for r in records if (r["model"], r["method"]) == (model, method)]
        accs = [r["acc"] for r in runs]
        deltas = [r["acc"] - control[(model, r["seed"])] for r in runs]
        row = {k: v for k, v in runs[0].items() if k not in ("acc", "seed")}
        row.update(
            accuracy=_pm(accs, 100),
            delta_pts=_pm(deltas, 100, signed=True) if method != CONTROL else "",
            acc_mean=float(np.mean(accs)),
            delta_mean=float(100 * np.mean(deltas)),
            accs=accs,
            seeds=len(runs),
        )
        rows.append(row)
    return rows


def format_study(rows: list[dict], title: str) -> str:
    """The before/after table as plain text."""
    return format_table(rows, COLUMNS, FORMATS, title)


def retrain_and_measure(
    variants: dict[str, nn.Module],
    splits: Any,
    input_shape: Sequence[int],
    *,
    family: str,
    seed: int,
    records: list[dict],
    timed: dict[tuple[str, str], nn.Module] | None,
    extra: Any = None,
    **train_kwargs: Any,
) -> None:
    """Retrain every variant but ``"dense"`` with the same budget, then measure it.

    One record per variant is appended to ``records`` (``model``, ``method``,
    ``seed``, the :func:`measure` columns and ``extra(model) -> dict`` if
    given); ``timed`` (when not ``None``) keeps each model for the latency
    pass. ``train_kwargs`` go to :func:`train_model` unchanged for every
    variant, the control ``dense+retrain`` included: that is the equal budget.
    """
    for method, model in variants.items():
        if method != "dense":
            train_model(model, splits.train, None, seed=seed, **train_kwargs)
        row = measure(model, splits.test, input_shape)
        if extra is not None:
            row.update(extra(model))
        records.append({"model": family, "method": method, "seed": seed, **row})
        if timed is not None:
            timed[(family, method)] = model


def finish_study(
    records: list[dict],
    timed: dict[tuple[str, str], nn.Module],
    x_time: Any,
    repeats: int,
    *,
    dataset: str,
    header: str,
    out: str | None,
    figure: str,
    verbose: bool,
    footer: Any = None,
) -> list[dict]:
    """Time the first seed's models, summarise over seeds, print the table, save the plot.

    The last steps every study shares: :func:`add_latency` on ``timed``,
    :func:`summarize`, the table (``header`` plus the :func:`latency_note`),
    an optional ``footer(rows) -> str`` line and the figure ``out/figure``.
    """
    add_latency(records, timed, x_time, repeats)
    rows = summarize(records)
    for r in rows:
        r["dataset"] = dataset
    title = header + "\n" + latency_note(repeats, x_time)
    if verbose:
        print(format_study(rows, title))
        if footer is not None:
            print(footer(rows))
    if out is not None:
        path = plot_study(rows, out, figure, title)
        if verbose:
            print(f"plot: {path}")
    return rows


def plot_study(rows: list[dict], out: str, name: str, title: str) -> str:
    """Bar charts: accuracy (mean ± std over seeds) and non-zero parameters per (model, method)."""
    import matplotlib.pyplot as plt

    labels = [f"{r['model']}\n{r['method']}" for r in rows]
    acc = [100 * np.mean(r["accs"]) for r in rows]
    err = [100 * np.std(r["accs"], ddof=1) if len(r["accs"]) > 1 else 0.0 for r in rows]
    pos = np.arange(len(rows))
    fig, (ax_acc, ax_nz) = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(rows)), 3.8))
    ax_acc.bar(pos, acc, yerr=err, capsize=3, color="tab:blue")
    ax_acc.set(ylabel="test accuracy (%)", title="Accuracy (mean ± std over seeds)")
    ax_acc.set_ylim(max(0.0, min(acc) - 10), 100)
    ax_nz.bar(pos - 0.2, [r["params"] for r in rows], 0.4, label="parameters")
    ax_nz.bar(pos + 0.2, [r["nonzeros"] for r in rows], 0.4, label="non-zeros")
    ax_nz.set(ylabel="count", title="Size")
    ax_nz.legend(fontsize=8)
    for ax in (ax_acc, ax_nz):
        ax.set_xticks(pos, labels, fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return str(save_figure(fig, out, name))


__all__ = [
    "COLUMNS",
    "CONTROL",
    "add_latency",
    "clone",
    "format_study",
    "latency_note",
    "measure",
    "plot_study",
    "summarize",
    "train_model",
    "weights_of",
]
