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
``accuracy``        test accuracy, mean ± std over seeds
``delta_pts``       accuracy minus that of ``dense+retrain`` of the same seed,
                    in points, then mean ± std over seeds
==================  ==========================================================

Structure, size and FLOP columns are those of the first seed (the methods
remove the same counts for every seed). Latency is not reported here: on a
shared machine, forward times of these small models varied by more than the
differences between them (chapter 3 and the chapter-8 lesson measure latency
with interleaved medians and a noise row). Nothing here is asserted about
quality: the numbers are measured where they are printed.

The study flow itself is written once, in :func:`run_study`; each study
(:mod:`nnprune.casestudies.image`, ``.text``, ``.speech``) is a :class:`Study` that says
only what differs: its data, its dense model, its pruning methods and its
training settings.

Book: §7 (corrected, see docs/errata.md#s7: the book's parameter counts and
accuracy gains have no measurement behind them; these tables do).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim
from .._atomic import save_figure
from ..metrics import flops as count_flops
from ..metrics import model_bytes, model_size
from ..optim.lr_scheduler import CosineAnnealingLR
from ..report import format_table
from ..train import History, evaluate, fit

ACCURACY_COLUMNS = ["model", "method", "test_acc_%", "delta_pts"]
SIZE_COLUMNS = ["model", "method", "params", "nonzeros", "flops", "flops_nz", "kB_dense", "kB_csr"]
COLUMNS = ["model", "method", "accuracy", "delta_pts", *SIZE_COLUMNS[2:]]
FORMATS = {
    "params": "{:,}",
    "nonzeros": "{:,}",
    "flops": "{:,}",
    "flops_nz": "{:,}",
    "kB_dense": "{:.1f}",
    "kB_csr": "{:.1f}",
}
CONTROL = "dense+retrain"
Prune = Callable[[nn.Module, str, Any, dict], Any]


@dataclass(frozen=True)
class Study:
    """What one case study is made of; :func:`run_study` runs every study the same way.

    Attributes
    ----------
    section, name : str
        The book section (``"7.1"``) and a short name (``"image"``).
    dataset : str
        The data's name, printed in the header.
    families : tuple of str
        The model families, each trained dense then pruned (``("cnn", "resnet")``).
    load : callable
        ``load(seed) -> (splits, context)``: train/val/test and what ``build`` needs.
    build : callable
        ``build(family, splits, context, seed) -> Module``, the untrained dense model.
    methods : dict of str to callable
        ``{method name: prune(model, family, splits, context)}``, each pruning a
        copy of the trained dense model in place.
    input_shape : callable
        ``input_shape(splits) -> tuple``: one sample's shape, for the FLOP count.
    train, retrain : dict
        Keyword arguments of :func:`train_model` for the dense run and for the
        retraining of the control and of every method (the equal budget).
    extra : callable, optional
        ``extra(model, dense) -> dict`` of study-specific columns.
    trained : dict of str to callable, optional
        Methods that prune while they train (e.g. :func:`l1_threshold_trainer`):
        ``{name: trainer(model, train=..., **retrain)}`` replaces the retraining of
        that copy and spends the same budget ``retrain``.
    figure : str
        File name of the plot.
    """

    section: str
    name: str
    dataset: str
    families: tuple[str, ...]
    load: Callable[[int], tuple[Any, dict]]
    build: Callable[[str, Any, dict, int], nn.Module]
    methods: dict[str, Prune]
    input_shape: Callable[[Any], tuple[int, ...]]
    train: dict[str, Any]
    retrain: dict[str, Any]
    figure: str
    extra: Callable[[nn.Module, nn.Module], dict] | None = None
    trained: dict[str, Callable[..., Any]] = field(default_factory=dict)


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


def make_optimizer(model: nn.Module, optimizer: str, lr: float, weight_decay: float = 0.0) -> Any:
    """``"sgd"`` (momentum 0.9) or ``"adam"`` (AdamW when ``weight_decay > 0``) on the model."""
    if optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    if optimizer == "adam":
        if weight_decay > 0:
            return optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        return optim.Adam(model.parameters(), lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")


def l1_threshold_trainer(
    names: Callable[[nn.Module], list[str]], lam: float, sparsity: float
) -> Callable[..., Any]:
    r"""The book's §7.1/§7.3 method as a trainer that spends the retraining budget itself.

    ``trainer(model, *, epochs, lr, seed, optimizer="sgd", batch_size=64,
    weight_decay=0.0, backend=None)`` takes :func:`train_model`'s arguments (the
    control's budget: the same optimiser, cosine schedule, epochs and batches) and runs
    :func:`nnprune.pipeline.l1_threshold_prune` on the weights ``names(model)``: L1 with
    a rising magnitude threshold for the first half of the epochs, then masked retraining.
    """

    def trainer(model: nn.Module, *, epochs: int, lr: float, seed: int, optimizer: str = "sgd",
                batch_size: int = 64, weight_decay: float = 0.0, backend: str | None = None,
                train: tuple[Any, Any]) -> Any:  # fmt: skip
        from ..pipeline.l1_threshold import l1_threshold_prune

        opt = make_optimizer(model, optimizer, lr, weight_decay)
        return l1_threshold_prune(
            model, nn.CrossEntropyLoss(), opt, train, names=names(model), lam=lam,
            sparsity=sparsity, epochs=epochs, batch_size=batch_size, seed=seed,
            scheduler=CosineAnnealingLR(opt, T_max=epochs), progress=False, backend=backend,
        )  # fmt: skip

    return trainer


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
    opt = make_optimizer(model, optimizer, lr, weight_decay)
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
    """Size, FLOPs, bytes and test accuracy of one model."""
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
    """The before/after tables as plain text: accuracy first, then size (each < 100 columns)."""
    extra = [c for c in ("heads", "rnn_sparsity") if c in rows[0]]
    fmt = FORMATS | {"rnn_sparsity": "{:.1%}"}
    shown = [{"test_acc_%": r["accuracy"], **r} for r in rows]
    accuracy = format_table(shown, ACCURACY_COLUMNS + extra, fmt, title)
    return accuracy + "\n\n" + format_table(rows, SIZE_COLUMNS, fmt, "size of each model")


def retrain_and_measure(
    variants: dict[str, nn.Module],
    splits: Any,
    input_shape: Sequence[int],
    *,
    family: str,
    seed: int,
    records: list[dict],
    extra: Callable[[nn.Module], dict] | None = None,
    log: Callable[[str], None] | None = None,
    trainers: dict[str, Callable[..., Any]] | None = None,
    **train_kwargs: Any,
) -> None:
    """Retrain every variant but ``"dense"`` with the same budget, then measure it.

    One record per variant is appended to ``records`` (``model``, ``method``,
    ``seed``, the :func:`measure` columns and ``extra(model) -> dict`` if
    given). ``train_kwargs`` go to :func:`train_model` unchanged for every
    variant, the control ``dense+retrain`` included: that is the equal budget.
    ``log`` gets one line per finished model. A method in ``trainers`` is trained by
    ``trainers[method](model, train=splits.train, seed=seed, **train_kwargs)`` instead
    (a method that prunes while it trains, in the same budget).
    """
    for method, model in variants.items():
        start = time.perf_counter()
        if trainers and method in trainers:
            trainers[method](model, train=splits.train, seed=seed, **train_kwargs)
        elif method != "dense":
            train_model(model, splits.train, None, seed=seed, **train_kwargs)
        row = measure(model, splits.test, input_shape)
        if extra is not None:
            row.update(extra(model))
        records.append({"model": family, "method": method, "seed": seed, **row})
        if log is not None and method != "dense":
            log(
                f"  seed {seed} {family} {method}: retrained {train_kwargs.get('epochs')} epoch(s) "
                f"in {time.perf_counter() - start:.1f} s, test accuracy {row['acc']:.2%}"
            )


def run_study(
    study: Study,
    seeds: Sequence[int],
    out: str | None,
    *,
    backend: str = "numpy",
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train, prune, retrain and measure, for every seed and family; print and plot the tables.

    For each seed and family: build and train the dense model
    (``study.train``), copy it once per method and once for the control
    :data:`CONTROL`, prune each copy with its method, retrain the control and
    every pruned copy with ``study.retrain`` (the equal budget), measure all
    (:func:`measure` and ``study.extra``), then :func:`summarize` over seeds.
    With ``verbose``, one line per finished training (progress) and the
    tables; with ``out``, the figure ``out/study.figure``.
    """
    log = print if verbose else None
    records: list[dict] = []
    for seed in seeds:
        splits, context = study.load(seed)
        shape = study.input_shape(splits)
        for family in study.families:
            start = time.perf_counter()
            dense = study.build(family, splits, context, seed).to(backend)
            train_model(dense, splits.train, None, seed=seed, **study.train)
            if log is not None:
                log(
                    f"  seed {seed} {family} dense: trained {study.train['epochs']} epoch(s) "
                    f"in {time.perf_counter() - start:.1f} s"
                )
            variants = {"dense": dense, CONTROL: clone(dense)}
            for method, prune_fn in study.methods.items():
                variants[method] = copy_ = clone(dense)
                prune_fn(copy_, family, splits, context)
            for method in study.trained:  # these prune while they spend the retraining budget
                variants[method] = clone(dense)
            extra = None if study.extra is None else (lambda m, d=dense: study.extra(m, d))
            retrain_and_measure(
                variants,
                splits,
                shape,
                family=family,
                seed=seed,
                records=records,
                extra=extra,
                log=log,
                trainers=study.trained,
                **study.retrain,
            )
    rows = summarize(records)
    chance = 1 / (int(splits.train[1].max()) + 1)  # every class equally likely: a guess
    for r in rows:  # n_test: one test sample is 100 / n_test points of accuracy
        r["dataset"], r["chance"], r["n_test"] = study.dataset, chance, len(splits.test[1])
    optimiser = study.train.get("optimizer", "sgd")
    title = (
        f"case study {study.name} (§{study.section}): {study.dataset}, {len(seeds)} seed(s), "
        f"{backend}, "
        f"dense {study.train['epochs']} epochs ({optimiser}),\nthen {study.retrain['epochs']} "
        f"epochs for {CONTROL} and each method;\ndelta_pts vs {CONTROL} (equal budget), "
        "accuracy on the test split"
    )
    if verbose:
        print(format_study(rows, title))
    if out is not None:
        plot_study(rows, out, study.figure, f"§{study.section} {study.name}, {study.dataset}")
    return rows


def plot_study(rows: list[dict], out: str, name: str, title: str) -> str:
    """Test accuracy of each pruned model against its equal-budget control, and the sizes.

    Left: one horizontal segment per (model, method), from the accuracy of the control
    ``dense+retrain`` (a dashed line over that model's rows) to the method's accuracy
    (a dot, labelled with the accuracy and the change in points); the chance level is a
    dotted line, always drawn (the axis reaches down to it). Error bars (sample std over
    seeds) only with several seeds. Right: parameters and non-zeros of each pruned model, the dense
    model's parameter count as a dashed line. ``dense`` and the control are references
    (lines), never bars among the methods.
    """
    import matplotlib.pyplot as plt

    from ..plots.fonts import label, setup

    setup()  # before the figure: its texts take their font when they are created
    seeds = rows[0]["seeds"]
    shown = [r for r in rows if r["method"] not in (CONTROL, "dense")]
    names = [f"{r['model']}: {r['method']}" for r in shown]
    control = {r["model"]: 100 * r["acc_mean"] for r in rows if r["method"] == CONTROL}
    dense = {r["model"]: r["params"] for r in rows if r["method"] == "dense"}
    acc = np.array([100 * r["acc_mean"] for r in shown])
    err = [100 * np.std(r["accs"], ddof=1) if seeds > 1 else 0.0 for r in shown]
    pos = np.arange(len(shown))[::-1].astype(float)
    chance = 100 * rows[0].get("chance", 0.0)
    lo, hi = min(*acc, *control.values()), max(*acc, *control.values())
    pad = 0.3 * (hi - lo) + 2
    size = {"figsize": (12, 1.9 + 0.5 * len(shown)), "layout": "constrained"}
    rows_label = label("模型：方法", "model: method")
    fig, (ax, ax_nz) = plt.subplots(1, 2, **size)
    lo = min(lo, chance)  # the axis reaches down to chance: one scale for every row
    for model, c in control.items():
        y = pos[[r["model"] == model for r in shown]]
        ax.vlines(c, y.min() - 0.4, y.max() + 0.4, color="k", ls="--", lw=1.2,
                  label=label("等预算对照", CONTROL) if model == shown[0]["model"] else None)
        ax_nz.vlines(dense[model], y.min() - 0.4, y.max() + 0.4, color="k", ls="--", lw=1.2,
                     label=label("稠密模型参数", "dense parameters")
                     if model == shown[0]["model"] else None)  # fmt: skip
    ax.hlines(pos, [control[r["model"]] for r in shown], acc, color="tab:blue", lw=2)
    ax.errorbar(acc, pos, xerr=err if seeds > 1 else None, fmt="o", color="tab:blue",
                capsize=3)  # fmt: skip
    for p, a, r in zip(pos, acc, shown, strict=True):
        right = r["delta_mean"] >= 0  # the label away from the control's line
        ax.annotate(f"{a:.1f}% ({r['delta_mean']:+.1f})", (a, p), xytext=(6 if right else -6, 4),
                    textcoords="offset points", ha="left" if right else "right", fontsize=8)
    ax.axvline(chance, color="grey", ls=":", lw=1.5, label=label("随机猜测", "chance"))
    ax.set_xlim(max(0.0, lo - pad), min(110.0, hi + pad))
    ax.set_ylim(pos.min() - 0.7, pos.max() + 0.8)
    spread = "mean ± std over seeds" if seeds > 1 else "1 seed"
    ax.set(yticks=pos, yticklabels=names, ylabel=rows_label,
           xlabel=label("测试准确率 (%)", f"test accuracy (%; {spread})"),
           title=label("准确率：剪枝模型与等预算对照", "accuracy: pruned vs the equal-budget "
                       "control\n(label: accuracy, change in points)"))  # fmt: skip

    ax_nz.barh(pos + 0.2, [r["params"] for r in shown], 0.4, label=label("参数", "parameters"))
    ax_nz.barh(pos - 0.2, [r["nonzeros"] for r in shown], 0.4,
               label=label("非零权重", "non-zeros"))  # fmt: skip
    ax_nz.set(yticks=pos, yticklabels=names, ylabel=rows_label,
              xlabel=label("权重个数", "number of weights"),
              title=label("模型大小", "size of each model"))  # fmt: skip
    ax_nz.set_xlim(0, 1.1 * max(dense.values()))
    handles = [h for a in (ax, ax_nz) for h in a.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"{title} ({spread})")
    return str(save_figure(fig, out, name))


__all__ = [
    "COLUMNS",
    "CONTROL",
    "Study",
    "clone",
    "format_study",
    "l1_threshold_trainer",
    "make_optimizer",
    "measure",
    "plot_study",
    "retrain_and_measure",
    "run_study",
    "summarize",
    "train_model",
    "weights_of",
]
