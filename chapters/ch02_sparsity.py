r"""Chapter 2: sparsity, measured (book §2.1–2.3).

What it shows
-------------
* §2.1: the three kinds of sparsity on a trained digits MLP (64-300-100-10),
  before and after global magnitude pruning: weight sparsity (per layer and
  whole model), connection sparsity (neurons whose incoming or outgoing
  weights are all zero) and activation sparsity (exact zeros in each layer's
  output on the test set). Figures: weight histograms (pruning opens a gap
  around zero), the bool masks of the pruned layers, and a tiny layer drawn
  with only its kept connections (the book's §2.1 diagram labelled "sparse"
  connects every neuron; see docs/errata.md#s2-1).
* §2.2: bytes of the pruned model dense, CSR, COO and BSR (index arrays
  counted), and the measured time of one layer's product, dense against CSR,
  at the sparsity pruning reached. Whether CSR wins is printed from the
  timings, not assumed.
* §2.3: which input pixels the pruned first layer still reads (a figure).

Pruning here is one-shot, without retraining (chapter 3 retrains).
Runs in a few seconds on an idle 2-core machine (``--quick`` trains fewer epochs).

Usage::

    python chapters/ch02_sparsity.py [--quick] [--seed 0] [--out figures/ch02]
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import metrics, nn, optim, prune
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.report import chapter_parser, format_table, median_time, save_figure, use_agg
from nnprune.sparse import to_sparse
from nnprune.train import evaluate, fit

EPOCHS = 20
QUICK_EPOCHS = 4
BATCH_SIZE = 64
LR = 0.05
MOMENTUM = 0.9
MLP_SIZES = (64, 300, 100, 10)
SPARSITY = 0.9  # global magnitude pruning: fraction of all weights set to zero
BSR_BLOCK = (2, 2)  # divides every weight shape of the MLP
TIMED_LAYER = "2"  # the 300 -> 100 layer, the largest weight matrix
TIMING_BATCHES = (1, 256)
REPEATS, QUICK_REPEATS = 101, 21
TIMING_THREADS = 1  # scipy.sparse kernels are single-threaded; so is BLAS here, to be fair
NOISE = 0.10  # timings within +-10% count as equal


def weight_layers(model: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def measures(model: nn.Module, X: np.ndarray) -> dict:
    """§2.1: weight, connection and activation sparsity of ``model``."""
    return {
        "layers": metrics.layer_table(model, input_shape=X.shape[1:]),
        "model_sparsity": metrics.model_sparsity(model),
        "weight_sparsity": metrics.layer_sparsity(model),
        "connections": metrics.connection_sparsity(model),
        "activations": metrics.activation_sparsity(model, X),
    }


def print_measures(model: nn.Module, dense: dict, pruned: dict) -> None:
    for title, m in (("dense (trained)", dense), ("pruned", pruned)):
        per_layer = ", ".join(f"{n}: {s:.2%}" for n, s in m["weight_sparsity"].items())
        print(
            f"\nWeight sparsity, {title}: whole model {m['model_sparsity']:.2%} of the weights"
            f" (per layer {per_layer}); the table counts the biases too"
        )
        print(metrics.format_table(m["layers"]))
    rows = []
    for name, c in pruned["connections"].items():
        d = dense["connections"][name]
        rows.append(
            {
                "layer": name,
                "dead neurons (dense)": f"{d['zero_outputs']}/{d['outputs']}",
                "dead neurons (pruned)": f"{c['zero_outputs']}/{c['outputs']}",
                "unused inputs (dense)": f"{d['zero_inputs']}/{d['inputs']}",
                "unused inputs (pruned)": f"{c['zero_inputs']}/{c['inputs']}",
            }
        )
    print(
        "\nConnection sparsity: neurons with all incoming weights zero, inputs with all "
        "outgoing weights zero"
    )
    print(format_table(rows))
    kinds = dict(model.named_modules())
    rows = [
        {
            "layer": name,
            "type": type(kinds[name]).__name__,
            "dense": s,
            "pruned": pruned["activations"][name],
        }
        for name, s in dense["activations"].items()
    ]
    print("\nActivation sparsity on the test set: share of outputs exactly zero")
    print(format_table(rows, formats={"dense": "{:.2%}", "pruned": "{:.2%}"}))


def storage(model: nn.Module) -> list[dict]:
    """§2.2: bytes of the whole model in each format (non-prunable biases stay dense)."""
    dense = metrics.model_bytes(model, "dense")
    rows = [{"format": "dense", "bytes": dense}]
    for fmt, kwargs in (("csr", {}), ("coo", {}), ("bsr", {"blocksize": BSR_BLOCK})):
        rows.append({"format": fmt, "bytes": metrics.model_bytes(model, fmt, **kwargs)})
    rows.append(
        {
            "format": "csr, small index dtypes",
            "bytes": metrics.model_bytes(model, "csr", compact=True),
        }
    )
    for r in rows:
        r["vs dense"] = r["bytes"] / dense
    return rows


def time_layer(layer: nn.Linear, x: np.ndarray, repeats: int) -> list[dict]:
    """§2.2–2.3: ``x @ W.T`` dense against CSR at the layer's sparsity, per batch size."""
    w = layer.weight.data
    csr = to_sparse(w, "csr")
    rows = []
    with threadpool_limits(TIMING_THREADS):
        for batch in TIMING_BATCHES:
            xb = np.ascontiguousarray(x[:batch])
            t_dense = median_time(lambda xb=xb: xb @ w.T, repeats=repeats, warmup=3)
            t_csr = median_time(lambda xb=xb: (csr @ xb.T).T, repeats=repeats, warmup=3)
            rows.append(
                {
                    "batch": batch,
                    "dense_us": 1e6 * t_dense,
                    "csr_us": 1e6 * t_csr,
                    "csr_speedup": t_dense / t_csr,
                }
            )
    return rows


def plot_histograms(before: dict, after: dict, threshold: float, out: str) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(before), figsize=(4 * len(before), 5.5))
    for j, name in enumerate(before):
        w0, w1 = before[name].ravel(), after[name].ravel()
        bins = np.linspace(w0.min(), w0.max(), 81)
        axes[0, j].hist(w0, bins=bins, color="tab:blue")
        axes[0, j].set_title(f"layer {name}: trained, {w0.size:,} weights", fontsize=9)
        kept = w1[w1 != 0]
        axes[1, j].hist(kept, bins=bins, color="tab:orange")
        for t in (-threshold, threshold):
            axes[1, j].axvline(t, color="k", lw=0.8, ls="--")
        axes[1, j].set_title(
            f"pruned: {kept.size:,} kept, {w1.size - kept.size:,} exact zeros (not drawn)",
            fontsize=9,
        )
        axes[1, j].set_xlabel("weight value")
    fig.suptitle(f"Global magnitude pruning leaves a gap |w| < {threshold:.3g} around zero")
    fig.tight_layout()
    return str(save_figure(fig, out, "ch02_weight_histograms.png"))


def plot_masks(model: nn.Module, out: str) -> str:
    import matplotlib.pyplot as plt

    layers = weight_layers(model)
    first, second = layers["0"], layers["2"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    for ax, name, layer in ((axes[0], "0", first), (axes[1], "2", second)):
        mask = layer.weight.mask
        ax.imshow(mask, cmap="gray_r", interpolation="nearest", aspect="auto")
        ax.set(
            title=f"layer {name} mask {mask.shape}: {mask.mean():.1%} kept (black)",
            xlabel="input",
            ylabel="neuron",
        )
    reads = first.weight.mask.sum(axis=0).reshape(8, 8)  # kept outgoing weights per pixel
    im = axes[2].imshow(reads, cmap="viridis")
    axes[2].set(title="kept weights per input pixel", xticks=[], yticks=[])
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    fig.tight_layout()
    return str(save_figure(fig, out, "ch02_sparse_masks.png"))


def plot_tiny_layer(seed: int, out: str) -> str:
    """A tiny layer before and after pruning, drawn with only the kept connections."""
    import matplotlib.pyplot as plt

    layer = nn.Linear(8, 6, seed=seed)
    dense_w = layer.weight.data.copy()
    prune.l1_unstructured(layer, "weight", amount=0.75)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, w, title in (
        (axes[0], dense_w, "dense: 48 connections"),
        (axes[1], layer.weight.data, None),
    ):
        n_out, n_in = w.shape
        y_in, y_out = np.linspace(0, 1, n_in), np.linspace(0.1, 0.9, n_out)
        for i, j in zip(*np.nonzero(w), strict=True):
            ax.plot(
                [0, 1],
                [y_in[j], y_out[i]],
                color="tab:blue",
                lw=0.5 + 3 * abs(w[i, j]) / np.abs(dense_w).max(),
            )
        used_in, used_out = (w != 0).any(axis=0), (w != 0).any(axis=1)
        ax.scatter(np.zeros(n_in), y_in, s=120, zorder=3, c=np.where(used_in, "k", "lightgray"))
        ax.scatter(np.ones(n_out), y_out, s=120, zorder=3, c=np.where(used_out, "k", "lightgray"))
        ax.set(
            title=title
            or f"75% pruned: {np.count_nonzero(w)} connections kept\n"
            f"(gray: {(~used_in).sum()} inputs, {(~used_out).sum()} neurons disconnected)",
            xticks=[0, 1],
            xticklabels=["inputs", "neurons"],
            yticks=[],
        )
    fig.tight_layout()
    return str(save_figure(fig, out, "ch02_tiny_layer_graph.png"))


def main(argv: list[str] | None = None) -> dict:
    args = chapter_parser(__doc__, "figures/ch02").parse_args(argv)
    use_agg()
    splits = digits_splits(args.seed, flatten=True)
    X_test = splits.test[0]
    model = mlp(MLP_SIZES, seed=args.seed)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    fit(model, nn.CrossEntropyLoss(), opt, splits.train, epochs=epochs, batch_size=BATCH_SIZE,
        seed=args.seed, backend=args.backend, progress=False)  # fmt: skip
    model.to("numpy")
    _, acc_dense = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    dense = measures(model, X_test)
    before = {n: m.weight.data.copy() for n, m in weight_layers(model).items()}

    prune.to_sparsity(model, SPARSITY, scope="global")
    _, acc_pruned = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    pruned = measures(model, X_test)
    after = {n: m.weight.data for n, m in weight_layers(model).items()}
    threshold = float(min(np.abs(w[w != 0]).min() for w in after.values()))

    print(
        f"MLP {'-'.join(map(str, MLP_SIZES))} on digits, seed {args.seed}; global magnitude "
        f"pruning to {SPARSITY:.0%} of all weights, no retraining"
    )
    print(f"test accuracy: dense {acc_dense:.2%}, pruned {acc_pruned:.2%}")
    print_measures(model, dense, pruned)

    bytes_rows = storage(model)
    print(
        "\n§2.2 Bytes of the pruned model (values + indices; biases dense; int32 indices "
        "unless noted)"
    )
    print(format_table(bytes_rows, formats={"bytes": "{:,}", "vs dense": "{:.2f}x"}))

    h = X_test
    for m in list(model)[: int(TIMED_LAYER)]:
        h = m(h)  # the timed layer's real input: the previous layer's activations
    layer = weight_layers(model)[TIMED_LAYER]
    layer_s = metrics.sparsity(layer.weight)
    timing = time_layer(layer, h, QUICK_REPEATS if args.quick else REPEATS)
    print(
        f"\n§2.2–2.3 Time of x @ W.T for layer {TIMED_LAYER} {tuple(layer.weight.shape)} at "
        f"{layer_s:.1%} sparsity ({TIMING_THREADS} thread, median of repeats)"
    )
    print(
        format_table(
            timing, formats={"dense_us": "{:.1f}", "csr_us": "{:.1f}", "csr_speedup": "{:.2f}x"}
        )
    )
    for r in timing:
        x = r["csr_speedup"]
        verdict = "faster" if x > 1 + NOISE else "SLOWER" if x < 1 / (1 + NOISE) else "as fast"
        print(
            f"  batch {r['batch']:>3}: CSR is {verdict} {'as' if verdict == 'as fast' else 'than'}"
            f" dense ({x:.2f}x; FLOPs say {1 / (1 - layer_s):.1f}x at best)"
        )

    # Pixels with no signal in training: their weights never get a gradient.
    constant = splits.train[0].std(axis=0) == 0
    kept = weight_layers(model)["0"].weight.mask[:, constant]
    print(
        f"\n§2.3 {constant.sum()} input pixels are constant in the training data; magnitude "
        f"pruning kept {kept.sum()} of their {kept.size} weights ({kept.mean():.1%}; the layer "
        f"keeps {1 - pruned['weight_sparsity']['0']:.1%}): never trained, their magnitude is "
        "their initial value. Magnitude is not usefulness."
    )

    figures = [
        plot_histograms(before, after, threshold, args.out),
        plot_masks(model, args.out),
        plot_tiny_layer(args.seed, args.out),
    ]
    print("\nfigures:\n  " + "\n  ".join(figures))
    return {
        "model": model,
        "accuracy": {"dense": acc_dense, "pruned": acc_pruned},
        "dense": dense,
        "pruned": pruned,
        "threshold": threshold,
        "bytes": bytes_rows,
        "timing": timing,
        "timed_layer_sparsity": layer_s,
        "constant_pixels_kept": int(kept.sum()),
        "figures": figures,
    }


if __name__ == "__main__":
    main()
