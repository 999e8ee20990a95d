r"""Chapter 3: pruning methods compared, measured (book §3.1–3.3).

What it shows
-------------
* §3.1 unstructured pruning (weights masked to zero, arrays keep their shape):
  global magnitude, layer-wise magnitude, and Han et al.'s per-layer threshold
  :math:`|w| < q\,\sigma(W)`; structured pruning: the hidden neurons (MLP) or
  filters (CNN) with the smallest L1 norm are **removed**, so the model really
  shrinks (``nnprune.prune.prune_units``).
* §3.2 the criteria as operating points: a sparsity, a quality ``q``, or a
  fraction of units removed.
* §3.3 one table, same trained model, same data, same seed and the same short
  masked retraining for every method: accuracy before and after retraining,
  sparsity, parameters and non-zeros, compression, FLOPs, the theoretical
  speed-up, bytes dense and CSR, and the **measured** latency of a batch of
  256 (dense kernels; and CSR kernels for the masked models). The conclusion
  is computed from the table; the book's §3.3 rankings are not measured (see
  docs/errata.md#s3-3). An accuracy-vs-removed-parameters plot and a speed-up plot.
  A control row, ``dense + retraining``, gives the unpruned model the same
  extra epochs, so that what retraining alone adds is not credited to pruning.

Columns: ``removed`` = 1 - non-zero parameters / dense parameters;
``compress`` = dense parameters / non-zero parameters; ``theory x`` = dense
FLOPs / non-zero FLOPs (a perfect sparse kernel's speed-up; for a shrunk model
its real FLOP reduction); ``x dense`` / ``x csr`` = measured speed-up over the
dense model's latency (> 1 is faster).

The whole study runs for the digits MLP (64-300-100-10) and the small CNN
(filter pruning); ``--quick`` runs fewer points for the MLP only. Full run:
about 10 s on an idle 2-core machine (longer, and noisier, on a busy one).
Everything runs on NumPy/SciPy (``--backend`` is accepted and ignored): the
timings compare CPU kernels.

Usage::

    python chapters/ch03_pruning_methods.py [--quick] [--seed 0] [--out figures/ch03]
"""

from __future__ import annotations

import copy

from threadpoolctl import threadpool_limits

from nnprune import metrics, nn, optim, prune
from nnprune.data import digits_splits
from nnprune.metrics.latency import compare_latency
from nnprune.models import mlp, small_cnn
from nnprune.report import chapter_parser, format_table, save_figure, use_agg, write_csv
from nnprune.sparse import to_sparse_model
from nnprune.train import evaluate, fit

EPOCHS, QUICK_EPOCHS = 20, 4
RETRAIN_EPOCHS, QUICK_RETRAIN_EPOCHS = 3, 1  # the same budget for every method
BATCH_SIZE = 64
LR, RETRAIN_LR, MOMENTUM = 0.05, 0.01, 0.9
MLP_SIZES = (64, 300, 100, 10)
CNN_CHANNELS = (16, 32)
UNSTRUCTURED = (0.5, 0.75, 0.9, 0.95)
POINTS = {  # method -> operating points
    "global magnitude": UNSTRUCTURED,
    "layer-wise magnitude": UNSTRUCTURED,
    "Han q*std": (0.5, 1.0, 1.5, 2.0),
    "L1 units removed": (0.25, 0.5, 0.75),
}
QUICK_POINTS = {
    "global magnitude": (0.5, 0.9),
    "layer-wise magnitude": (0.9,),
    "Han q*std": (1.0,),
    "L1 units removed": (0.25, 0.5, 0.75),
}
CNN_POINTS = {"global magnitude": UNSTRUCTURED, "L1 units removed": (0.25, 0.5, 0.75)}
LATENCY_BATCH = 256
REPEATS, QUICK_REPEATS = 40, 10
LATENCY_THREADS = 1  # scipy.sparse is single-threaded; BLAS gets the same here
NOISE = 0.10  # speed-ups within +-10% are reported as no measurable change
ACC_TOL = 0.01  # "as accurate as dense": within one percentage point
CONTROL = "dense + retraining"  # the dense model given the same extra epochs, unpruned


def prune_model(model: nn.Sequential, method: str, point: float, input_shape: tuple) -> None:
    """Apply one method at one operating point, in place."""
    weights = list(model.prunable_parameters())  # (name, module, attr, param)
    if method == CONTROL:
        return
    if method == "global magnitude":
        prune.to_sparsity(model, point, scope="global")
    elif method == "layer-wise magnitude":
        prune.to_sparsity(model, point, scope="layer")
    elif method == "Han q*std":
        for _, module, attr, _ in weights:
            prune.std_threshold_unstructured(module, attr, q=point)
    else:  # every hidden layer; the output units are the classes and stay
        hidden = [t.name.rpartition(".")[0] for t in weights[:-1]]
        for name in hidden:
            prune.prune_units(model, name, point, criterion="l1", input_shape=input_shape)


def label(method: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"q={value:g}" if method.startswith("Han") else f"{value:.0%}"


def retrain(model: nn.Module, splits, epochs: int, seed: int) -> float:
    """The same masked retraining for every method (a new optimiser: shapes may have changed)."""
    loss = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=RETRAIN_LR, momentum=MOMENTUM)
    fit(model, loss, opt, splits.train, epochs=epochs, batch_size=BATCH_SIZE, seed=seed,
        progress=False)  # fmt: skip
    return evaluate(model, loss, splits.test)[1]


def size_columns(m: nn.Module, dense: nn.Module, input_shape: tuple) -> dict:
    """Counts of ``m`` and the ratios against the dense model."""
    base_size, base_flops = dense.num_parameters(), metrics.flops(dense, input_shape)[0]
    size, size_nz = metrics.model_size(m)
    fl, fl_nz = metrics.flops(m, input_shape)
    return {
        "sparsity": metrics.model_sparsity(m),
        "removed": 1 - size_nz / base_size,
        "params": size,
        "nonzeros": size_nz,
        "compress": base_size / size_nz,
        "FLOPs": fl,
        "FLOPs nz": fl_nz,
        "theory x": base_flops / fl_nz,
        "bytes dense": metrics.model_bytes(m, "dense"),
        "bytes csr": metrics.model_bytes(m, "csr"),
    }


def latency_columns(rows: list[dict], models: dict, x, repeats: int) -> None:
    """Time every model (and the CSR twin of each masked one) together, interleaved."""
    timed = dict(models)
    for key, row in zip(models, rows, strict=True):
        if row["method"] != "L1 units removed":  # a shrunk model has no zeros for CSR to skip
            timed["csr " + key] = to_sparse_model(models[key], mode="sparse")
    with threadpool_limits(LATENCY_THREADS):
        t = compare_latency(timed, x, repeats=repeats)
    for key, row in zip(models, rows, strict=True):
        row["ms dense"], row["x dense"] = 1e3 * t[key], t["dense"] / t[key]
        if "csr " + key in t:
            row["ms csr"], row["x csr"] = 1e3 * t["csr " + key], t["dense"] / t["csr " + key]


def study(model: nn.Sequential, splits, points: dict, seed: int, quick: bool) -> dict:
    """Prune copies of one trained model with every method; measure each as §3.3 asks."""
    input_shape = splits.train[0].shape[1:]
    _, acc = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    rows = [{"method": "dense", "point": "-", "acc pruned": acc, "acc retrained": acc}]
    models = {"dense": model}
    for method, values in {CONTROL: (None,), **points}.items():
        for value in values:
            pruned = copy.deepcopy(model)
            prune_model(pruned, method, value, input_shape)
            _, acc = evaluate(pruned, nn.CrossEntropyLoss(), splits.test)
            acc_re = retrain(
                pruned, splits, QUICK_RETRAIN_EPOCHS if quick else RETRAIN_EPOCHS, seed
            )
            point = label(method, value)
            rows.append({"method": method, "point": point, "value": value, "acc pruned": acc,
                         "acc retrained": acc_re})  # fmt: skip
            models[f"{method} {point}"] = pruned
    for row, m in zip(rows, models.values(), strict=True):
        row.update(size_columns(m, model, input_shape))
    x = splits.test[0][:LATENCY_BATCH]
    latency_columns(rows, models, x, QUICK_REPEATS if quick else REPEATS)
    return {"rows": rows, "models": models, "input_shape": input_shape}


COLUMNS = {
    "method": "{}",
    "point": "{}",
    "acc pruned": "{:.2%}",
    "acc retrained": "{:.2%}",
    "sparsity": "{:.1%}",
    "removed": "{:.1%}",
    "params": "{:,}",
    "nonzeros": "{:,}",
    "compress": "{:.1f}x",
    "FLOPs": "{:,}",
    "FLOPs nz": "{:,}",
    "theory x": "{:.1f}x",
    "bytes dense": "{:,}",
    "bytes csr": "{:,}",
    "ms dense": "{:.3f}",
    "x dense": "{:.2f}x",
    "ms csr": "{:.3f}",
    "x csr": "{:.2f}x",
}


def _span(values: list[float], fmt: str = "{:.2f}x") -> str:
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def conclude(rows: list[dict]) -> list[str]:
    """Sentences computed from the table: what each family gave, and what was real."""
    lines, base = [], rows[0]
    pruned = [r for r in rows if not r["method"].startswith("dense")]
    for method in dict.fromkeys(r["method"] for r in pruned):
        rs = [r for r in rows if r["method"] == method]
        xd = [r["x dense"] for r in rs]
        if max(xd) > 1 + NOISE:
            verdict = "a real speed-up"
        elif max(xd) < 1 / (1 + NOISE):
            verdict = "SLOWER than dense"
        else:
            verdict = "no speed-up beyond noise"
        text = (
            f"{method}: compression {_span([r['compress'] for r in rs], '{:.1f}x')}, FLOPs "
            f"say {_span([r['theory x'] for r in rs], '{:.1f}x')}; measured with dense "
            f"kernels {_span(xd)} ({verdict})"
        )
        if all("x csr" in r for r in rs):
            text += f", with CSR kernels {_span([r['x csr'] for r in rs])}"
        lines.append(text)
    control = next(r for r in rows if r["method"] == CONTROL)
    lines.append(
        f"Timing noise: the control row runs the dense network itself and measured "
        f"{control['x dense']:.2f}x; its retraining moved accuracy by "
        f"{100 * (control['acc retrained'] - base['acc retrained']):+.2f} points"
    )
    good = [r for r in pruned if r["acc retrained"] >= base["acc retrained"] - ACC_TOL]
    if not good:
        return [
            *lines,
            f"No pruned model came within {100 * ACC_TOL:g} point of the dense accuracy.",
        ]
    best = max(
        ((r[k], k, r) for r in good for k in ("x dense", "x csr") if k in r), key=lambda t: t[0]
    )
    smallest = max(good, key=lambda r: r["compress"])
    kernel = "dense" if best[1] == "x dense" else "CSR"
    verdict = "a real speed-up" if best[0] > 1 + NOISE else "no model was measurably faster"
    lines.append(
        f"Within {100 * ACC_TOL:g} point of the dense accuracy: fastest is {best[2]['method']} "
        f"{best[2]['point']} with {kernel} kernels, {best[0]:.2f}x ({verdict}); most "
        f"compressed is {smallest['method']} {smallest['point']}, "
        f"{smallest['compress']:.1f}x"
    )
    return lines


def plot(rows: list[dict], title: str, out: str, name: str) -> str:
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_x) = plt.subplots(1, 2, figsize=(11, 4))
    ax_acc.axhline(rows[0]["acc retrained"], color="k", lw=0.8, label="dense")
    control = next(r for r in rows if r["method"] == CONTROL)
    ax_acc.axhline(control["acc retrained"], color="k", lw=0.8, ls="--", label=CONTROL)
    ax_x.axhline(1.0, color="k", lw=0.8)
    pruned = [r for r in rows if not r["method"].startswith("dense")]
    for i, method in enumerate(dict.fromkeys(r["method"] for r in pruned)):
        rs = [r for r in rows if r["method"] == method]
        removed = [r["removed"] for r in rs]
        color = f"C{i}"
        ax_acc.plot(removed, [r["acc retrained"] for r in rs], "o-", color=color, label=method)
        ax_acc.plot(removed, [r["acc pruned"] for r in rs], "x:", color=color)
        ax_x.plot(removed, [r["x dense"] for r in rs], "o-", color=color, label=f"{method}, dense")
        if all("x csr" in r for r in rs):
            ax_x.plot(removed, [r["x csr"] for r in rs], "s--", color=color, label=f"{method}, CSR")
        ax_x.plot(removed, [r["theory x"] for r in rs], "+", color=color, ms=10)
    ax_acc.set(
        xlabel="fraction of parameters removed",
        ylabel="test accuracy",
        title=f"{title}: retrained (o), before retraining (x)",
    )
    ax_x.set(
        xlabel="fraction of parameters removed",
        ylabel="speed-up over dense (log)",
        yscale="log",
        title="measured (lines) and FLOP ratio (+)",
    )
    ax_acc.legend(fontsize=7)
    ax_x.legend(fontsize=7)
    fig.tight_layout()
    return str(save_figure(fig, out, name))


def run(title: str, model: nn.Sequential, splits, points: dict, args) -> dict:
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        splits.train,
        epochs=QUICK_EPOCHS if args.quick else EPOCHS,
        batch_size=BATCH_SIZE,
        seed=args.seed,
        progress=False,
    )
    result = study(model, splits, points, args.seed, args.quick)
    rows = result["rows"]
    print(
        format_table(
            rows,
            columns=list(COLUMNS),
            formats=COLUMNS,
            title=(
                f"\n{title} on digits, seed {args.seed}: latency of a batch of {LATENCY_BATCH}, "
                f"{LATENCY_THREADS} thread, median of repeats"
            ),
        )
    )
    result["conclusion"] = conclude(rows)
    print("\n" + "\n".join(f"* {line}" for line in result["conclusion"]))
    slug = title.split()[0].lower()
    result["figure"] = plot(rows, title, args.out, f"ch03_{slug}_accuracy_vs_sparsity.png")
    csv_rows = [{k: r.get(k) for k in ("value", *COLUMNS)} for r in rows]
    result["csv"] = str(write_csv(f"{args.out}/ch03_{slug}_table.csv", csv_rows))
    print(f"figure: {result['figure']}\ntable: {result['csv']}")
    return result


def main(argv: list[str] | None = None) -> dict:
    args = chapter_parser(__doc__, "figures/ch03").parse_args(argv)
    use_agg()
    out = {
        "mlp": run(
            "MLP 64-300-100-10",
            mlp(MLP_SIZES, seed=args.seed),
            digits_splits(args.seed),
            QUICK_POINTS if args.quick else POINTS,
            args,
        )
    }
    out["cnn"] = None
    if not args.quick:
        cnn = small_cnn(1, 10, 8, channels=CNN_CHANNELS, seed=args.seed)
        out["cnn"] = run(
            "CNN 16-32 (filters)", cnn, digits_splits(args.seed, flatten=False), CNN_POINTS, args
        )
    return out


if __name__ == "__main__":
    main()
