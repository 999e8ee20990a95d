"""Does removing neurons and filters speed up the dense forward pass as much as its FLOPs say?

Structured pruning removes whole units, so the pruned model is an ordinary,
smaller dense model (``nnprune.prune.prune_units``). Its FLOPs fall by a
known ratio; this script measures how much of that ratio the forward pass
really gets, for

* an MLP 784-300-100-10 with ReLU on random inputs, batches 1, 64 and 256;
* the CNN of ``bench_engine.py`` on 1x28x28 inputs: Conv 3x3 1->16 (padding 1),
  ReLU, MaxPool 2, Conv 3x3 16->32, ReLU, MaxPool 2, Flatten, Linear 32*7*7->10,
  batches 1, 64 and 256;

with 25%, 50% and 75% of the units of every hidden layer (the MLP's two hidden
layers, the CNN's two convolutions) removed by L1 norm. The weights are random
(speed does not depend on their values). Columns: ``FLOPs x`` = dense FLOPs /
shrunk FLOPs (MACs of Linear/Conv2d per sample, ShrinkBench's count);
``time x`` = dense time / pruned time; ``follows`` = time x / FLOPs x
(1 means the speed-up follows the FLOP reduction exactly); ``ms floor`` = the
time of the same chain with one unit per hidden layer (what no removal can
cut: Python calls, reading the input, im2col of the image) and ``w/o floor``
the ratio once that floor is subtracted from both times. The verdict
(target 0.8, issue 13) is on the median ``follows`` at batch >= 64; batch 1 is
dominated by per-call overhead and summarised apart. A layer-by-layer table
shows where the shrunk CNN's time goes. Each time is the
median over ``--repeats`` forward passes in eval mode, float32, with the
models of one (network, batch) timed in interleaved rounds
(``nnprune.metrics.latency.compare_latency``), BLAS limited to ``--threads``.

Run::

    python benchmarks/bench_structured.py            # about a minute
    python benchmarks/bench_structured.py --quick    # a few seconds

Book: §3.1 (structural pruning), §3.3 (comparing methods).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import textwrap
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import metrics, nn, prune
from nnprune.metrics.latency import blas_report, compare_latency
from nnprune.report import format_table

FRACTIONS = (0.25, 0.5, 0.75)
BATCHES = {"MLP 784-300-100-10": (1, 64, 256), "CNN 16-32 on 28x28": (1, 64, 256)}
REPEATS = 30
QUICK = {
    "fractions": (0.5,),
    "batches": {"MLP 784-300-100-10": (1, 256), "CNN 16-32 on 28x28": (64,)},
    "repeats": 5,
}
FOLLOWS_WITHIN = 0.2  # "follows the FLOP ratio" when measured/FLOPs is within 20% of 1
TARGET_FOLLOWS = 0.8  # issue 13: median measured/FLOPs at batch >= 64
TARGET_BATCH = 64


def build(name: str, seed: int) -> tuple[nn.Sequential, tuple[int, ...], list[str]]:
    """The network, the shape of one input sample, and its hidden layers' names."""
    if name.startswith("MLP"):
        model = nn.Sequential(
            nn.Linear(784, 300, seed=seed),
            nn.ReLU(),
            nn.Linear(300, 100, seed=seed + 1),
            nn.ReLU(),
            nn.Linear(100, 10, seed=seed + 2),
        )
        return model, (784,), ["0", "2"]
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, seed=seed),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, seed=seed + 1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10, seed=seed + 2),
    )
    return model, (1, 28, 28), ["0", "3"]


def floor_model(name: str, seed: int) -> nn.Sequential:
    """The same chain with one unit per hidden layer: its time is the per-pass cost no unit
    removal can cut (Python calls, the first layer reading its input, im2col of the image)."""
    if name.startswith("MLP"):
        return nn.Sequential(
            nn.Linear(784, 1, seed=seed), nn.ReLU(), nn.Linear(1, 1, seed=seed), nn.ReLU(),
            nn.Linear(1, 10, seed=seed),
        )  # fmt: skip
    return nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1, seed=seed), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(1, 1, 3, padding=1, seed=seed), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7, 10, seed=seed),
    )  # fmt: skip


def shrunk(model: nn.Sequential, hidden: list[str], fraction: float, shape: tuple) -> nn.Sequential:
    """A copy with ``fraction`` of every hidden layer's units removed by L1 norm."""
    small = copy.deepcopy(model)
    for name in hidden:
        prune.prune_units(small, name, fraction, criterion="l1", input_shape=shape)
    return small


def run(name: str, batches, fractions, repeats: int, seed: int) -> list[dict]:
    model, shape, hidden = build(name, seed)
    models = {"dense": model} | {f: shrunk(model, hidden, f, shape) for f in fractions}
    models["floor"] = floor_model(name, seed)
    dense_flops, _ = metrics.flops(model, shape)
    rng = np.random.default_rng(seed)
    rows = []
    for batch in batches:
        x = rng.standard_normal((batch, *shape)).astype(np.float32)
        t = compare_latency(models, x, repeats=repeats)
        for f in fractions:
            flops_ratio = dense_flops / metrics.flops(models[f], shape)[0]
            measured = t["dense"] / t[f]
            rows.append(
                {
                    "network": name,
                    "batch": batch,
                    "removed": f,
                    "params": models[f].num_parameters(),
                    "FLOPs x": flops_ratio,
                    "ms dense": 1e3 * t["dense"],
                    "ms pruned": 1e3 * t[f],
                    "time x": measured,
                    "follows": measured / flops_ratio,
                    "ms floor": 1e3 * t["floor"],
                    "w/o floor": (t["dense"] - t["floor"])
                    / max(t[f] - t["floor"], 1e-12)
                    / flops_ratio,
                }
            )
    return rows


def summary(rows: list[dict]) -> str:
    follows = np.array([r["follows"] for r in rows])
    close = int(np.sum(np.abs(follows - 1) <= FOLLOWS_WITHIN))
    worst = rows[int(np.argmin(follows))]
    return (
        f"the measured dense speed-up was {np.median(follows):.2f} of the FLOP ratio "
        f"(median; range {follows.min():.2f}-{follows.max():.2f}), within "
        f"{FOLLOWS_WITHIN:.0%} of it in {close} of {len(rows)} cases; furthest below at "
        f"{worst['network']}, batch {worst['batch']}, {worst['removed']:.0%} removed "
        f"({worst['time x']:.2f}x measured vs {worst['FLOPs x']:.2f}x FLOPs)."
    )


def layer_times(model: nn.Sequential, x: np.ndarray, repeats: int) -> list[tuple[str, float, int]]:
    """``(layer, median ms, MACs per sample)`` for each layer of a chain, in eval mode."""
    model.eval()
    out = []
    for layer in model:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            y = layer.forward(x)
            times.append(time.perf_counter() - start)
        if isinstance(layer, nn.Linear):
            macs = layer.in_features * layer.out_features
        elif isinstance(layer, nn.Conv2d):
            macs = int(np.prod(layer.weight.shape)) * int(np.prod(y.shape[2:]))
        else:
            macs = 0
        out.append((type(layer).__name__, 1e3 * float(np.median(times)), macs))
        x = y
    return out


def breakdown(name: str, batch: int, fraction: float, repeats: int, seed: int) -> None:
    """Print where the time of the dense and the shrunk model goes, layer by layer."""
    model, shape, hidden = build(name, seed)
    small = shrunk(model, hidden, fraction, shape)
    x = np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)
    dense, thin = layer_times(model, x, repeats), layer_times(small, x, repeats)
    print(f"\nLayer by layer, {name}, batch {batch}, {fraction:.0%} removed (median ms, MACs)")
    print(f"{'layer':<10} {'ms dense':>9} {'ms shrunk':>9} {'time x':>7} {'MACs x':>7}")
    for (kind, td, md), (_, ts, ms) in zip(dense, thin, strict=True):
        macs = f"{md / ms:>7.2f}" if ms else f"{'-':>7}"
        print(f"{kind:<10} {td:>9.3f} {ts:>9.3f} {td / ts:>7.2f} {macs}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one fraction, fewer batches")
    parser.add_argument("--repeats", type=int, default=None, help=f"default {REPEATS}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    if args.threads < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--threads and --repeats must be >= 1")
    fractions = QUICK["fractions"] if args.quick else FRACTIONS
    batches = QUICK["batches"] if args.quick else BATCHES
    repeats = args.repeats or (QUICK["repeats"] if args.quick else REPEATS)
    print(
        f"numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.threads} BLAS thread(s), float32, median of {repeats} repeats, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    with threadpool_limits(args.threads):
        print("BLAS: " + "\n      ".join(blas_report()))  # the threads the timings run with
        for name, net_batches in batches.items():
            rows += run(name, net_batches, fractions, repeats, args.seed)
    formats = {
        "removed": "{:.0%}",
        "params": "{:,}",
        "FLOPs x": "{:.2f}x",
        "ms dense": "{:.3f}",
        "ms pruned": "{:.3f}",
        "time x": "{:.2f}x",
        "follows": "{:.2f}",
        "ms floor": "{:.3f}",
        "w/o floor": "{:.2f}",
    }
    # "MLP 784-300-100-10" -> "MLP" in a column "net" (the legend below names them)
    shown = [{"net": r["network"].split()[0]} | {k: v for k, v in r.items() if k != "network"}
             for r in rows]  # fmt: skip
    print(
        format_table(
            shown,
            formats=formats,
            title="\nStructured pruning: FLOP ratio vs measured speed-up of the dense forward pass",
        )
    )
    print(
        "net: MLP = 784-300-100-10, CNN = conv 16-32 on 28x28; time x = ms dense / ms pruned;\n"
        "follows = time x / FLOPs x; ms floor: the same chain with one unit per hidden layer, "
        "which\nno removal can cut; w/o floor: follows, with the floor taken off both times"
    )
    big = [r for r in rows if r["batch"] >= TARGET_BATCH]
    one = [r for r in rows if r["batch"] == 1]
    if one:
        text = "Batch 1 (overhead-bound, reported apart): " + summary(one)
        print("\n" + textwrap.fill(text, 100))
    if big:
        print(textwrap.fill(f"Batch >= {TARGET_BATCH}: " + summary(big), 100))
        w = [r["w/o floor"] for r in big]
        print(f"Batch >= {TARGET_BATCH} without the floor: median {np.median(w):.2f}")
    if not args.quick:
        with threadpool_limits(args.threads):
            breakdown("CNN 16-32 on 28x28", 256, 0.75, max(5, repeats // 3), args.seed)
    if big:
        median = float(np.median([r["follows"] for r in big]))
        verdict = "PASS" if median >= TARGET_FOLLOWS else "FAIL"
        print(
            f"\n{verdict}: median measured/FLOPs speed-up at batch >= {TARGET_BATCH} is "
            f"{median:.2f} (target >= {TARGET_FOLLOWS})"
        )
    return rows


if __name__ == "__main__":
    main()
