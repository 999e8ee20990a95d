r"""Chapter 5: the pruning pipeline (book §5.1–5.3, Appendix B).

What it shows
-------------
* §5.1: the loop initialise -> forward -> backward -> decide -> update ->
  retrain -> evaluate, one named step at a time, on the digits MLP 64-300-100-10;
* §5.3 / Appendix B: the book's pseudocode taken literally (prune by zeroing,
  keep no mask, keep updating with SGD + momentum) next to the corrected loop
  (mask kept, the optimiser re-applies it): per retraining epoch, the fraction
  of the pruned weights that are non-zero again, and the achieved sparsity;
* §5.2: per-layer sensitivity (CSV + plot), a sparsity sweep and a Han et al.
  threshold sweep (tables + plots), and one-shot vs iterative prune-retrain
  at 90% sparsity with the same retraining budget.

The book's loop even re-applies the threshold at every iteration, but *before*
the update, so the weights it computes with after each step are dense again;
the literal version here prunes once, which is enough to show the flaw.

Measured on a shared 2-core machine: about 50 s (``--quick``: about 15 s).

Usage::

    python chapters/ch05_pruning_pipeline.py [--quick] [--seed 0] [--out figures/ch05]
"""

from __future__ import annotations

import numpy as np

from nnprune import optim, prune
from nnprune.backend import to_numpy
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.pipeline import (
    decide,
    evaluate,
    forward_backward,
    plot_sensitivity,
    plot_sweep,
    prune_retrain,
    retrain,
    select,
    sensitivity_analysis,
    sparsity_sweep,
    threshold_sweep,
    update,
    weight_sparsity,
    write_csv,
)
from nnprune.report import chapter_parser, format_table, use_agg

EPOCHS, QUICK_EPOCHS = 20, 4
LR, MOMENTUM, LR_FACTOR = 0.05, 0.9, 0.1  # Han et al.: retrain at 1/10 of the rate
MLP_SIZES = (64, 300, 100, 10)
LITERAL_SPARSITY = 0.8
RETRAIN_EPOCHS, QUICK_RETRAIN_EPOCHS = 3, 1
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
QS = (0.25, 0.5, 1.0, 1.5, 2.0)  # Han et al.'s quality parameter: tau = q * std(W)
FINAL_SPARSITY, ROUNDS = 0.9, 3


def step_by_step(model, splits, seed: int) -> None:
    """§5.1: each named step, once, printed."""
    print("§5.1 the pruning loop, one step at a time")
    print(f"  initialise: trained MLP, test accuracy {evaluate(model, splits.test)[1]:.2%}")
    batch = (splits.train[0][:64], splits.train[1][:64])
    loss = forward_backward(model, batch)
    print(f"  forward:    loss on one batch of 64 = {loss:.4f}")
    grad = np.mean([float(np.abs(to_numpy(p.grad)).mean()) for p in model.parameters()])
    print(f"  backward:   every param.grad filled (mean |grad| {grad:.2e})")
    decide(model, 0.5, "magnitude", "global")
    print(f"  decide:     global magnitude masks, sparsity {weight_sparsity(model):.2%}")
    update(optim.SGD(model.parameters(), lr=LR * LR_FACTOR, momentum=MOMENTUM))
    print(f"  update:     one SGD step; sparsity still {weight_sparsity(model):.2%}")
    retrain(model, splits, 1, LR * LR_FACTOR, seed=seed)
    print("  retrain:    1 epoch at lr = 0.1 x the training rate, masks kept")
    print(f"  evaluate:   test accuracy {evaluate(model, splits.test)[1]:.2%}\n")


def literal_vs_corrected(state, splits, epochs: int, seed: int) -> list[dict]:
    """§5.3: the book's loop keeps no mask, so momentum regrows the pruned weights."""
    rows = []
    for version in ("literal (book)", "corrected"):
        model = mlp(MLP_SIZES, seed=seed)
        model.load_state_dict(state)
        decide(model, LITERAL_SPARSITY, "magnitude", "global")  # pruning_decision
        targets = select(model)
        weights = {t.name: t.param for t in model.prunable_parameters()}
        pruned = {n: ~to_numpy(weights[n].mask) for n in targets}
        if version.startswith("literal"):
            for mod, attr in targets.values():
                prune.remove(mod, attr)  # the zeros stay, the mask goes: what the book does
        opt = optim.SGD(model.parameters(), lr=LR * LR_FACTOR, momentum=MOMENTUM)
        params = dict(model.named_parameters())
        for epoch in range(1, epochs + 1):
            for xb, yb in _batches(splits.train, seed + epoch):
                forward_backward(model, (xb, yb))
                update(opt)  # update_parameters
            revived = sum(int((to_numpy(params[n].data)[m] != 0).sum()) for n, m in pruned.items())
            rows.append({
                "version": version, "epoch": epoch,
                "revived": revived / sum(int(m.sum()) for m in pruned.values()),
                "sparsity": weight_sparsity(model),
                "val_accuracy": evaluate(model, splits.val)[1],
            })  # fmt: skip
    return rows


def _batches(data, seed: int, batch_size: int = 64):
    order = np.random.default_rng(seed).permutation(len(data[1]))
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        yield data[0][idx], data[1][idx]


def one_shot_vs_iterative(state, splits, retrain_epochs: int, seed: int) -> list[dict]:
    """§5.1: the same final sparsity and the same retraining budget, 1 vs ROUNDS rounds."""
    rows = []
    for rounds in (1, ROUNDS):
        model = mlp(MLP_SIZES, seed=seed)
        model.load_state_dict(state)
        result = prune_retrain(model, splits, sparsity=FINAL_SPARSITY, rounds=rounds,
                               retrain_epochs=retrain_epochs * ROUNDS // rounds, lr=LR,
                               lr_factor=LR_FACTOR, momentum=MOMENTUM, seed=seed)  # fmt: skip
        for r in result.table():
            rows.append({"schedule": "one-shot" if rounds == 1 else "iterative", **r})
    return rows


def main(argv: list[str] | None = None) -> dict:
    args = chapter_parser(__doc__, "figures/ch05").parse_args(argv)
    use_agg()
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    retrain_epochs = QUICK_RETRAIN_EPOCHS if args.quick else RETRAIN_EPOCHS
    splits = digits_splits(args.seed)
    model = mlp(MLP_SIZES, seed=args.seed)
    if args.backend != "numpy":
        model.to(args.backend)
    retrain(model, splits, epochs, LR, momentum=MOMENTUM, seed=args.seed)
    trained = model.state_dict()
    out: dict = {"baseline_accuracy": evaluate(model, splits.test)[1]}

    step_by_step(model, splits, args.seed)

    out["literal"] = literal_vs_corrected(trained, splits, retrain_epochs + 1, args.seed)
    print(format_table(
        out["literal"], ["version", "epoch", "revived", "sparsity", "val_accuracy"],
        {"revived": "{:.2%}", "sparsity": "{:.2%}", "val_accuracy": "{:.2%}"},
        f"§5.3 pruned once to {LITERAL_SPARSITY:.0%}, then SGD + momentum "
        "(revived = pruned weights non-zero again)",
    ))  # fmt: skip

    model.load_state_dict(trained)
    out["sensitivity"] = sensitivity_analysis(model, splits, SPARSITIES)
    csv = write_csv(out["sensitivity"], f"{args.out}/ch05_sensitivity.csv")
    fig = plot_sensitivity(out["sensitivity"], args.out, "ch05_sensitivity.png")
    print(f"\n§5.2 sensitivity: {csv}, {fig}")
    print(format_table(out["sensitivity"], ["layer", "sparsity", "accuracy", "pruned"],
                       {"sparsity": "{:.0%}", "accuracy": "{:.2%}"}))  # fmt: skip

    out["sparsity_sweep"] = sparsity_sweep(model, splits, SPARSITIES, seed=args.seed)
    out["threshold_sweep"] = threshold_sweep(model, splits, QS, seed=args.seed)
    for key, first in (("sparsity_sweep", "target"), ("threshold_sweep", "q")):
        print(format_table(out[key], [first, "sparsity", "accuracy"],
                           {"sparsity": "{:.2%}", "accuracy": "{:.2%}"},
                           f"\n§5.2 {key.replace('_', ' ')}, one-shot, no retraining"))  # fmt: skip
        print(plot_sweep(out[key], args.out, f"ch05_{key}.png", key.replace("_", " ")))

    out["one_shot_vs_iterative"] = one_shot_vs_iterative(trained, splits, retrain_epochs,
                                                         args.seed)  # fmt: skip
    print(format_table(
        out["one_shot_vs_iterative"],
        ["schedule", "round", "sparsity", "accuracy_pruned", "accuracy_retrained"],
        {"sparsity": "{:.2%}", "accuracy_pruned": "{:.2%}", "accuracy_retrained": "{:.2%}"},
        f"\n§5.1 one-shot vs {ROUNDS} rounds to {FINAL_SPARSITY:.0%} "
        f"(dense test accuracy {out['baseline_accuracy']:.2%})",
    ))  # fmt: skip
    return out


if __name__ == "__main__":
    main()
