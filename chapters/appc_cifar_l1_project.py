"""Appendix C: the book's CIFAR-10 L1 pruning project, made to run (see docs/errata.md#app-c).

What the book does
------------------
Appendix C trains ``SimpleCNN`` (conv 3->32 3x3, ReLU, conv 32->64 3x3, ReLU, view as
64*8*8, fc1 -> 128, fc2 -> 10) on CIFAR-10, then retrains it with plain SGD on
``loss + 0.001 * sum(|p| for p in model.parameters())`` and reports test accuracy.

What is wrong with it
---------------------
* Two unpadded 3x3 convolutions on 32x32 leave 64x28x28 = 50176 features (there is no
  pooling), not 64*8*8 = 4096: the model fails on its first batch (shown below, not told).
* fc1 and fc2 have no non-linearity between them, so they are one linear map
  (``merge_linear`` turns them into a single layer with the same outputs).
* The L1 term penalises the biases too; and plain SGD on ``|W|`` makes weights small, never
  exactly zero, so nothing is pruned until a threshold is applied.
* ``pip install python==3.8`` is not an install command (Python is not a pip package).

What this script does instead
-----------------------------
1. Builds the literal ``SimpleCNN`` and prints nnprune's shape error on a CIFAR-shaped batch.
2. Trains the book's layers (flatten size fixed) and merges fc1 and fc2 with
   ``prune.merge_linear``: the same outputs to float tolerance, far fewer parameters.
3. The corrected project: conv-ReLU-pool blocks (padding 1, so 32x32 really gives 64x8x8
   and the model has the 545098 parameters the book's code implies) and a ReLU between fc1
   and fc2; L1 on the weights only, trained from the dense model (a) the book's way
   (subgradient SGD) and (b) by proximal gradient (ISTA), plus one ISTA run that also
   penalises the biases, as the book does; then global magnitude pruning to 90% of the
   weights, masked retraining, and bytes dense vs CSR. On digits (seed 0), at lambda up to
   3e-3 the two routes reach the same |W| < 1e-3 fraction and accuracy, but only ISTA's
   small weights are exactly 0 (table and histogram figure); at 1e-2 the subgradient's
   steps of +-lr*lambda across 0 cost accuracy (81.9% against ISTA's 90.5%).

Data: by default the bundled 8x8 digits (1x8x8 images), so it runs anywhere. Measured on
an idle 2-core CPU: about 8 s, ``--quick`` about 4 s (several times longer when other jobs
compete for the cores). On real CIFAR-10 (never downloaded): ``--cifar-root`` is the folder
holding the binary (``cifar-10-batches-bin``, preferred) or python (``cifar-10-batches-py``)
batches, or their parent; ``--limit N`` keeps N random training and test images, which
numpy-only training needs (the book's layers in step 2 alone have 6.4 million parameters).

Usage::

    python chapters/appc_cifar_l1_project.py [--quick] [--seed 0] [--out figures/appc]
    python chapters/appc_cifar_l1_project.py --cifar-root ~/data/cifar-10-batches-bin \\
        --limit 5000
"""

from __future__ import annotations

import copy
import time

import numpy as np

from nnprune import nn, optim, prune
from nnprune.algorithms import ista_train, subgradient_l1_train
from nnprune.data import digits_splits, load_cifar10
from nnprune.metrics import model_bytes, model_size
from nnprune.report import chapter_parser, format_table, save_figure, use_agg
from nnprune.rng import as_generator
from nnprune.train import evaluate, fit

CHANNELS, HIDDEN, CLASSES = (32, 64), 128, 10  # the book's widths
LR, MOMENTUM, BATCH_SIZE = 0.05, 0.9, 64  # the L1 phase uses momentum 0: exact (stochastic) ISTA
MERGE_EPOCHS, DENSE_EPOCHS, QUICK_DENSE_EPOCHS = 2, 15, 4
L1_EPOCHS, QUICK_L1_EPOCHS = 10, 3
LAMS, QUICK_LAMS = (1e-3, 3e-3, 1e-2), (3e-3, 1e-2)
PRUNE_LAM = 3e-3  # the lambda whose models are plotted, pruned and retrained
SPARSITY, RETRAIN_EPOCHS, QUICK_RETRAIN_EPOCHS = 0.9, 5, 2
SMALL = 1e-3  # the "near zero" threshold of the table
PERCENT = "zero_fraction small_fraction bias_zero_fraction accuracy pruned retrained".split()
FORMATS = {"lam": "{:g}"} | {k: "{:.2%}" for k in PERCENT}
LOSS = nn.CrossEntropyLoss()


def simple_cnn(in_ch: int, fc1_in: int, seed: int, *, fixed: bool) -> nn.Sequential:
    """The book's SimpleCNN (``fixed=False``) or the corrected one (``fixed=True``).

    The corrected one pads the convolutions, pools after each (so 32x32 really gives
    64x8x8) and puts a ReLU between fc1 and fc2. ``fc1_in`` is fc1's input width.
    """
    rng = as_generator(seed)
    (c1, c2), pad = CHANNELS, int(fixed)

    def pool() -> list[nn.Module]:  # a new module each time: a layer instance holds its input
        return [nn.MaxPool2d(2)] if fixed else []

    return nn.Sequential(
        *[nn.Conv2d(in_ch, c1, 3, padding=pad, seed=rng), nn.ReLU(), *pool()],
        *[nn.Conv2d(c1, c2, 3, padding=pad, seed=rng), nn.ReLU(), *pool(), nn.Flatten()],
        nn.Linear(fc1_in, HIDDEN, seed=rng),
        *([nn.ReLU()] if fixed else []),
        nn.Linear(HIDDEN, CLASSES, seed=rng),
    )


def show_literal_error(seed: int) -> str:
    """Run the book's SimpleCNN, as printed (fc1 expects 64*8*8), on a CIFAR-shaped batch."""
    try:
        simple_cnn(3, 64 * 8 * 8, seed, fixed=False)(np.zeros((2, 3, 32, 32), dtype=np.float32))
    except ValueError as err:
        print(f"Book's SimpleCNN on a (2, 3, 32, 32) batch -> ValueError: {err}")
        return str(err)
    print("Book's SimpleCNN ran without an error")
    return ""


def load_data(args) -> tuple[tuple, tuple, str]:
    """``(train, test, name)``; images ``(N, C, H, W)`` standardised with training statistics."""
    if args.cifar_root is None:
        splits = digits_splits(args.seed, flatten=False)
        return splits.train, splits.test, "digits 1x8x8"
    (Xtr, ytr), (Xte, yte) = load_cifar10(args.cifar_root), load_cifar10(args.cifar_root, False)
    if args.limit:
        rng = as_generator(args.seed)
        tr, te = rng.permutation(len(ytr))[: args.limit], rng.permutation(len(yte))[: args.limit]
        (Xtr, ytr), (Xte, yte) = (Xtr[tr], ytr[tr]), (Xte[te], yte[te])
    mean, std = Xtr.mean(axis=(0, 2, 3), keepdims=True), Xtr.std(axis=(0, 2, 3), keepdims=True)
    Xtr, Xte = [((X - mean) / std).astype(np.float32) for X in (Xtr, Xte)]
    return (Xtr, ytr), (Xte, yte), f"CIFAR-10 3x32x32, {len(ytr)} training images"


def sgd(model: nn.Module, momentum: float = MOMENTUM) -> optim.SGD:
    return optim.SGD(model.parameters(), lr=LR, momentum=momentum)


def accuracy(model: nn.Module, test: tuple) -> float:
    return evaluate(model.to("numpy"), LOSS, test)[1]


def weights(model: nn.Module, prunable: bool = True) -> np.ndarray:
    """All weights (``prunable=True``) or all biases of ``model`` as one flat array."""
    weights = [t.param for t in model.prunable_parameters()]
    mine = {id(w) for w in weights}
    chosen = weights if prunable else [p for p in model.parameters() if id(p) not in mine]
    return np.concatenate([p.data.ravel() for p in chosen])


def merge_demo(in_ch: int, side: int, train, test, kw: dict) -> dict:
    """The book's layers (flatten size fixed), trained; fc1 and fc2 merged into one Linear."""
    book = simple_cnn(in_ch, CHANNELS[1] * (side - 4) ** 2, kw["seed"], fixed=False)
    fit(book, LOSS, sgd(book), train, epochs=MERGE_EPOCHS, **kw)
    merged = copy.deepcopy(book.to("numpy"))
    record = prune.merge_linear(merged, "5")  # fc1 is layer 5; fc2 (layer 6) folds into it
    out = {"outputs": book(test[0]), "merged_outputs": merged(test[0])}
    out.update(params_before=record.params_before, params_after=record.params_after)
    out["max_abs_diff"] = float(np.abs(out["outputs"] - out["merged_outputs"]).max())
    print(
        f"fc1 -> fc2 without a ReLU: {out['params_before']} parameters; merged into one "
        f"Linear: {out['params_after']}; largest output difference {out['max_abs_diff']:.2e}"
    )
    return out


def l1_training(dense, lams, epochs: int, train, test, kw: dict) -> tuple[list[dict], dict]:
    """(a) subgradient SGD and (b) ISTA from the dense model, weights only; one row per run.

    A last run penalises the biases too, as the book does, to show what that changes.
    """
    runs = [("subgradient", subgradient_l1_train, lam, False) for lam in lams]
    runs += [("ista", ista_train, lam, False) for lam in lams]
    runs.append(("ista, biases too (book)", ista_train, lams[-1], True))
    rows, models = [], {}
    for method, train_fn, lam, biases_too in runs:
        model = copy.deepcopy(dense)
        params = list(model.parameters()) if biases_too else None  # None: weights only
        train_fn(model, LOSS, sgd(model, 0.0), train, lam=lam, epochs=epochs, params=params, **kw)
        w, b = weights(model.to("numpy")), weights(model, prunable=False)
        models[method, lam] = model
        rows.append(
            {
                "method": method,
                "lam": lam,
                "zero_fraction": float(np.mean(w == 0)),
                "small_fraction": float(np.mean(np.abs(w) < SMALL)),
                "bias_zero_fraction": float(np.mean(b == 0)),
                "accuracy": accuracy(model, test),
            }
        )
    return rows, models


def prune_and_retrain(start: str, model, epochs: int, train, test, kw: dict) -> dict:
    """Global magnitude pruning of all weights to SPARSITY, then masked retraining."""
    m = copy.deepcopy(model)
    row = {"start": start, "accuracy": accuracy(m, test)}
    prune.to_sparsity(m, SPARSITY, scope="global")
    row["pruned"] = accuracy(m, test)
    fit(m, LOSS, sgd(m), train, epochs=epochs, **kw)  # the masks keep pruned weights at 0
    row["retrained"], row["nonzeros"] = accuracy(m, test), model_size(m)[1]
    row["dense_bytes"], row["csr_bytes"] = model_bytes(m), model_bytes(m, "csr")
    return row


def plot(models: dict, lam: float, out: str) -> str:
    import matplotlib.pyplot as plt

    fig, (ax_lin, ax_log) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, method in enumerate(("subgradient", "ista")):
        w = weights(models[method, lam])
        label = f"{method}: {np.mean(w == 0):.1%} exactly 0"
        ax_lin.hist(w, bins=np.linspace(-0.05, 0.05, 101), alpha=0.6, color=f"C{i}", label=label)
        nz = np.log10(np.abs(w[w != 0]))
        ax_log.hist(nz, bins=80, alpha=0.6, color=f"C{i}", label=f"{method}: non-zeros")
    ax_lin.set(xlabel="weight", ylabel="count", title=f"Weights after L1 training, lambda {lam:g}")
    ax_log.set(xlabel="log10 |weight| (non-zero weights only)", ylabel="count")
    ax_lin.legend(fontsize=8)
    ax_log.legend(fontsize=8)
    fig.tight_layout()
    return str(save_figure(fig, out, "appc_weight_histograms.png"))


def main(argv: list[str] | None = None) -> dict:
    parser = chapter_parser(__doc__, "figures/appc")
    parser.add_argument("--cifar-root", help="folder of the CIFAR-10 batches (default: digits)")
    parser.add_argument("--limit", type=int, default=0, help="use N CIFAR-10 images (0: all)")
    args = parser.parse_args(argv)
    use_agg()
    t0, q = time.perf_counter(), args.quick
    kw = dict(batch_size=BATCH_SIZE, seed=args.seed, progress=False, backend=args.backend)

    result = {"literal_error": show_literal_error(args.seed)}
    train, test, data_name = load_data(args)
    in_ch, side = train[0].shape[1], train[0].shape[2]
    print(f"\nData: {data_name}")
    result["merge"] = merge_demo(in_ch, side, train, test, kw)

    dense = simple_cnn(in_ch, CHANNELS[1] * (side // 4) ** 2, args.seed, fixed=True)
    fit(dense, LOSS, sgd(dense), train, epochs=QUICK_DENSE_EPOCHS if q else DENSE_EPOCHS, **kw)
    print(f"Corrected CNN, dense: test accuracy {accuracy(dense, test):.2%}\n")
    epochs = QUICK_L1_EPOCHS if q else L1_EPOCHS
    rows, models = l1_training(dense, QUICK_LAMS if q else LAMS, epochs, train, test, kw)
    title = f"L1 training from the dense CNN, {epochs} epochs of SGD (lr {LR}, no momentum) each"
    print(format_table(rows, formats=FORMATS, title=title))

    starts = [("dense", dense)]
    starts += [(f"{m} {PRUNE_LAM:g}", models[m, PRUNE_LAM]) for m in ("subgradient", "ista")]
    retrain = QUICK_RETRAIN_EPOCHS if q else RETRAIN_EPOCHS
    prune_rows = [prune_and_retrain(s, m, retrain, train, test, kw) for s, m in starts]
    title = (
        f"Global magnitude pruning to {SPARSITY:.0%} of the weights, {retrain} epochs of masked "
        f"retraining ({model_size(dense)[0]} parameters)"
    )
    print("\n" + format_table(prune_rows, formats=FORMATS, title=title))
    result.update(l1=rows, prune=prune_rows, figures=[plot(models, PRUNE_LAM, args.out)])
    result["seconds"] = time.perf_counter() - t0
    print(f"\nfigures: {', '.join(result['figures'])}\ntotal time {result['seconds']:.1f} s")
    return result


if __name__ == "__main__":
    main()
