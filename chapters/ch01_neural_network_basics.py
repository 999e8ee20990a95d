r"""Chapter 1: neural-network basics (book §1.1–1.3).

What it shows
-------------
* §1.1: a layer's forward and backward pass, checked in front of you against
  central differences (``nnprune.gradcheck``);
* §1.2: an MLP and a small CNN trained on real 8x8 handwritten digits;
* §1.3: the numbers pruning will change later: parameters, test accuracy and
  time per epoch, printed as a table, and learning curves saved as a figure.

Runs in about 10-20 s on a 2-core laptop (``--quick``: a few seconds).

Usage::

    python chapters/ch01_neural_network_basics.py [--quick] [--seed 0] [--out figures/ch01]
"""

from __future__ import annotations

import numpy as np

from nnprune import nn, optim
from nnprune.data import digits_splits
from nnprune.gradcheck import gradcheck
from nnprune.models import mlp, small_cnn
from nnprune.report import chapter_parser, format_table, save_figure, use_agg
from nnprune.train import evaluate, fit

EPOCHS = 20
QUICK_EPOCHS = 3
BATCH_SIZE = 64
LR = 0.05
MOMENTUM = 0.9
MLP_SIZES = (64, 300, 100, 10)  # LeNet-300-100 on 8x8 inputs
CNN_CHANNELS = (16, 32)


def show_gradcheck(seed: int) -> None:
    """§1.1: check a hand-written backward pass against central differences."""
    gen = np.random.default_rng(seed)
    layer = nn.Linear(5, 3, seed=seed).double()
    x = gen.normal(size=(4, 5))
    print("Gradient check of nn.Linear(5, 3) in float64 (relative error per array):")
    print(gradcheck(layer, x))
    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1, seed=seed).double()
    print("Gradient check of nn.Conv2d(2, 3, 3, padding=1):")
    print(gradcheck(conv, gen.normal(size=(2, 2, 5, 5))))


def train_one(name: str, model: nn.Module, splits, epochs: int, seed: int, backend: str) -> dict:
    """§1.2: train with SGD + momentum and measure what §1.3 talks about."""
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    hist = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        splits.train,
        splits.val,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        seed=seed,
        backend=backend,
    )
    _, test_acc = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    return {
        "model": name,
        "parameters": model.num_parameters(),
        "test_accuracy": test_acc,
        "ms_per_epoch": 1000 * float(np.median(hist.epoch_time)),
        "history": hist,
    }


def plot_curves(results: list[dict], out: str) -> str:
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for r in results:
        h = r["history"]
        epochs = np.arange(1, len(h) + 1)
        ax_loss.plot(epochs, h.loss, label=f"{r['model']} train")
        ax_loss.plot(epochs, h.val_loss, "--", label=f"{r['model']} validation")
        ax_acc.plot(epochs, h.val_accuracy, label=r["model"])
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy")
    ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8)
    fig.tight_layout()
    return str(save_figure(fig, out, "ch01_learning_curves.png"))


def main(argv: list[str] | None = None) -> list[dict]:
    args = chapter_parser(__doc__, "figures/ch01").parse_args(argv)
    use_agg()
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    show_gradcheck(args.seed)

    flat = digits_splits(args.seed, flatten=True)
    images = digits_splits(args.seed, flatten=False)
    results = [
        train_one(
            "MLP 64-300-100-10",
            mlp(MLP_SIZES, seed=args.seed),
            flat,
            epochs,
            args.seed,
            args.backend,
        ),
        train_one(
            "CNN 16-32",
            small_cnn(1, 10, 8, channels=CNN_CHANNELS, seed=args.seed),
            images,
            epochs,
            args.seed,
            args.backend,
        ),
    ]
    print()
    print(
        format_table(
            results,
            columns=["model", "parameters", "test_accuracy", "ms_per_epoch"],
            formats={"parameters": "{:,}", "test_accuracy": "{:.2%}", "ms_per_epoch": "{:.0f}"},
            title=f"Digits, {epochs} epochs, seed {args.seed} "
            f"(test set: {len(flat.test[1])} images)",
        )
    )
    print(f"\nlearning curves: {plot_curves(results, args.out)}")
    return results


if __name__ == "__main__":
    main()
