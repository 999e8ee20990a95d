r"""Chapter 8: trends, hardware-friendly and scheduled sparsity (book §8.1–8.3).

What it shows, on the digits MLP 64-300-100-10
-----------------------------------------------
* §8.1 N:M sparsity: NVIDIA's workflow (train dense -> prune 2:4 -> retrain,
  Mishra et al. 2021) on both hidden ``Linear`` weights, groups of 4 along the
  input axis, checked with ``is_nm_sparse``; against unstructured global
  magnitude at the same 50% with the same retraining. Bytes of the 2:4 format
  (kept values + a 2-bit position per kept value) and a *measured* dense forward
  time of both models: NumPy multiplies the zeros like any other number, so
  2:4 gains nothing here. The 2x (peak math throughput) belongs to the sparse
  Tensor Cores of Ampere-class GPUs and their kernels; no GPU number is claimed.
* §8.2 gradual pruning (Zhu & Gupta 2017, cubic ``PolynomialDecay``) during
  training vs one-shot magnitude pruning + retraining to 90%, both with the
  same number of epochs (one-shot retrains at 1/10 of the rate, as Han et al.);
  the schedule (target and achieved sparsity per step) is plotted.
* §8.3 lottery tickets (Frankle & Carbin 2019) with rewinding (Frankle et al.
  2020): survivors reset to :math:`\theta_0` (k=0) or to the weights after
  k=1 epoch, against the same masks trained from a random re-initialisation.
  Each round trains a fixed number of epochs (no early stopping, far fewer
  iterations than the papers' 50K): a small-scale rendition, not a replication.

Dynamic sparsity, where masks also *grow* during training (movement pruning,
Sanh et al. 2020; RigL, Evci et al. 2020), is the other §8 trend; it is only
named here, not implemented.

The test set has 359 images (one image = 0.28 points) and one seed is run:
small differences between rows are noise; timing ratios varied by up to ~15%
from run to run here. BLAS runs on one thread (the matrices are small). Measured
on a shared 2-core machine: about 8 s (``--quick``: about 5 s).

Usage::

    python chapters/ch08_trends.py [--quick] [--seed 0] [--out figures/ch08]
"""

from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import prune
from nnprune.backend import to_backend, to_numpy
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.pipeline import (
    GradualPruning,
    PolynomialDecay,
    decide,
    evaluate,
    lottery_ticket,
    random_reinit_control,
    retrain,
    weight_sparsity,
)
from nnprune.report import chapter_parser, format_table, median_time, save_figure, use_agg
from nnprune.sparse import sparse_nbytes, to_sparse

MLP_SIZES = (64, 300, 100, 10)
EPOCHS, QUICK_EPOCHS = 30, 10  # dense training, and the whole budget of §8.2
LR, MOMENTUM, LR_FACTOR = 0.05, 0.9, 0.1  # retrain at 1/10 of the rate (Han et al.)
NM_LAYERS = ("0.weight", "2.weight")  # the hidden layers; the 10-way output stays dense
RETRAIN_EPOCHS, QUICK_RETRAIN_EPOCHS = 5, 2
GRADUAL_SPARSITY, FREQUENCY, PRUNE_UNTIL = 0.9, 10, 0.6  # prune up to 60% of the steps
LOTTERY_SPARSITY, LOTTERY_EPOCHS, QUICK_LOTTERY_EPOCHS = 0.9, 15, 5
ROUNDS, QUICK_ROUNDS = 3, 1
BATCH_SIZE = 64
FMT = {"ms_forward": "{:.3f}", "speedup": "{:.2f}x", "vs_dense": "{:.3f}"}
FMT |= {k: "{:.2%}" for k in ("sparsity", "acc_pruned", "acc_retrained", "val_accuracy",
                              "test_accuracy")}  # fmt: skip


def show(rows: list[dict], title: str) -> None:
    print(format_table(rows, None, FMT, "\n" + title))


def build(seed: int, backend: str = "numpy"):
    model = mlp(MLP_SIZES, seed=seed)
    return model if backend == "numpy" else model.to(backend)


def nm_vs_unstructured(state, splits, epochs: int, seed: int, backend: str) -> dict:
    """§8.1: 2:4 and unstructured 50% on the hidden layers, both retrained the same way."""
    rows, models = [], {}
    for method in ("2:4 (N:M)", "unstructured 50%"):
        model = build(seed, backend)
        model.load_state_dict(state)
        if method.startswith("2:4"):
            for name in NM_LAYERS:
                prune.nm_structured(model.get_submodule(name.split(".")[0]), "weight", 2, 4)
        else:
            decide(model, 0.5, "magnitude", "global", NM_LAYERS)
        acc_pruned = evaluate(model, splits.test)[1]
        retrain(model, splits, epochs, LR * LR_FACTOR, momentum=MOMENTUM, seed=seed)
        acc = evaluate(model, splits.test)[1]
        rows.append({"method": method, "sparsity": weight_sparsity(model, NM_LAYERS),
                     "acc_pruned": acc_pruned, "acc_retrained": acc})  # fmt: skip
        models[method] = model
    return {"rows": rows, "models": models}


def nm_bytes(models: dict) -> list[dict]:
    """Bytes of the hidden weights: dense float32, 2:4 (values + 2-bit indices), CSR."""
    weights = {m: [to_numpy(dict(models[m].named_parameters())[n].data) for n in NM_LAYERS]
               for m in models}  # fmt: skip
    dense = sum(w.size * w.itemsize for w in weights["2:4 (N:M)"])
    # 2:4 keeps 2 of every 4 values; each kept value needs its position 0..3 in the group: 2 bits
    kept = sum(int(np.count_nonzero(w)) for w in weights["2:4 (N:M)"])
    nm = kept * 4 + (kept * 2 + 7) // 8
    csr = sum(sparse_nbytes(to_sparse(w)) for w in weights["unstructured 50%"])
    return [{"format": "dense float32", "bytes": dense, "vs_dense": 1.0},
            {"format": "2:4 values + 2-bit indices", "bytes": nm, "vs_dense": nm / dense},
            {"format": "CSR of unstructured 50% (int32 indices)", "bytes": csr,
             "vs_dense": csr / dense}]  # fmt: skip


def dense_forward_time(dense, sparse, X) -> list[dict]:
    """§8.1: time the same dense forward pass with and without the 2:4 zeros."""
    X = to_backend(np.repeat(to_numpy(X), 8, axis=0), dense.backend)  # a batch worth timing
    models = {"dense": dense, "2:4 (zeros stored densely)": sparse}
    times: dict[str, list[float]] = {name: [] for name in models}
    for r in range(16):  # interleaved, alternating order: a busy spell hits both
        for name, model in list(models.items())[:: 1 if r % 2 else -1]:
            model.eval()  # to_numpy waits for a GPU to finish; on NumPy it is a no-op
            fn = lambda m=model: to_numpy(m.forward(X))  # noqa: E731
            times[name].append(1000 * median_time(fn, repeats=5, warmup=1))
    # X @ W.T multiplies every stored entry, zero or not: the work is the same for both
    macs = len(X) * sum(a * b for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:], strict=True))
    rows = [{"model": n, "batch": len(X), "multiply_adds": macs, "ms_forward": np.median(t)}
            for n, t in times.items()]  # fmt: skip
    for row in rows:
        row["speedup"] = rows[0]["ms_forward"] / row["ms_forward"]
    return rows


def gradual_vs_one_shot(splits, epochs: int, seed: int, backend: str, out_dir: str) -> dict:
    """§8.2: the same number of epochs, pruned gradually during training or once after it."""
    steps_per_epoch = -(-len(splits.train[1]) // BATCH_SIZE)
    begin = steps_per_epoch  # one dense epoch first
    end = begin + FREQUENCY * ((int(PRUNE_UNTIL * epochs * steps_per_epoch) - begin) // FREQUENCY)
    schedule = PolynomialDecay(0.0, GRADUAL_SPARSITY, begin, end, power=3, frequency=FREQUENCY)
    callback = GradualPruning(schedule)
    model = build(seed, backend)
    retrain(model, splits, epochs, LR, momentum=MOMENTUM, seed=seed, callbacks=[callback])
    acc = evaluate(model, splits.test)[1]
    rows = [{"schedule": "gradual (cubic)", "epochs": f"{epochs} (pruning steps {begin}-{end})",
             "sparsity": weight_sparsity(model), "test_accuracy": acc}]  # fmt: skip
    model = build(seed, backend)
    dense_epochs = epochs // 2
    retrain(model, splits, dense_epochs, LR, momentum=MOMENTUM, seed=seed)
    decide(model, GRADUAL_SPARSITY, "magnitude", "global")
    retrain(model, splits, epochs - dense_epochs, LR * LR_FACTOR, momentum=MOMENTUM, seed=seed)
    rows.append({"schedule": "one-shot + retrain", "sparsity": weight_sparsity(model),
                 "epochs": f"{dense_epochs} dense + {epochs - dense_epochs} at lr x {LR_FACTOR}",
                 "test_accuracy": evaluate(model, splits.test)[1]})  # fmt: skip

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    steps = np.arange(epochs * steps_per_epoch)
    ax.plot(steps, [schedule.sparsity(int(t)) for t in steps], label="target $s_t$ (cubic)")
    hist = np.array(callback.history_)
    ax.plot(hist[:, 0], hist[:, 2], "o", ms=3, label="achieved at pruning steps")
    ax.set(xlabel="optimiser step", ylabel="weight sparsity", title="Zhu & Gupta gradual pruning")
    ax.legend()
    return {"rows": rows, "history": callback.history_,
            "figure": save_figure(fig, out_dir, "ch08_gradual_schedule.png")}  # fmt: skip


def lottery(splits, epochs: int, rounds: int, seed: int, backend: str, out_dir: str) -> dict:
    """§8.3: rewinding to theta_0 vs theta_1, and the random re-initialisation control."""
    tickets, rows = {}, []
    for k in (0, 1):
        res = lottery_ticket(lambda s: build(s, backend), splits, final_sparsity=LOTTERY_SPARSITY,
                             rounds=rounds, epochs=epochs, lr=LR, momentum=MOMENTUM,
                             rewind_epoch=k, seed=seed)  # fmt: skip
        tickets[k] = res
        # round 0 (the dense run) and the round-1 masks are the same for every k
        rows += [{"run": "dense" if r["round"] == 0 else f"ticket, rewind k={k}", **r}
                 for r in res.table() if k == 0 or r["round"] > 0]  # fmt: skip
    masks = [t.rounds[-1].masks for t in tickets.values()]
    same = all(np.array_equal(masks[0][n], masks[1][n]) for n in masks[0])
    for k, m in enumerate(masks[:1] if same else masks):
        ctrl = random_reinit_control(lambda s: build(s, backend), m, splits, epochs=epochs,
                                     lr=LR, momentum=MOMENTUM, seed=seed + 1)  # fmt: skip
        run = "random re-init, " + ("same masks" if same else f"k={k} masks")
        rows.append({"run": run, "round": rounds, "sparsity": ctrl.sparsity,
                     "val_accuracy": ctrl.val_accuracy,
                     "test_accuracy": ctrl.test_accuracy})  # fmt: skip

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    for run in dict.fromkeys(r["run"] for r in rows):
        pts = [(r["sparsity"], r["test_accuracy"]) for r in rows if r["run"] == run]
        ax.plot(*zip(*pts, strict=True), "x" if "random" in run else "o-", label=run)
    ax.set(xlabel="weight sparsity", ylabel="test accuracy", title="Lottery tickets")
    ax.legend(fontsize=8)
    return {"rows": rows, "tickets": tickets,
            "figure": save_figure(fig, out_dir, "ch08_lottery.png")}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    args = chapter_parser(__doc__, "figures/ch08").parse_args(argv)
    use_agg()
    # The matrices are small: several BLAS threads on a busy machine only wait for each other.
    with threadpool_limits(limits=1):
        return run(args)


def run(args: argparse.Namespace) -> dict:
    q, seed, backend = args.quick, args.seed, args.backend
    splits = digits_splits(seed)
    model = build(seed, backend)
    epochs = QUICK_EPOCHS if q else EPOCHS
    retrain(model, splits, epochs, LR, momentum=MOMENTUM, seed=seed)
    out: dict = {"baseline_accuracy": evaluate(model, splits.test)[1]}

    retrain_epochs = QUICK_RETRAIN_EPOCHS if q else RETRAIN_EPOCHS
    nm = nm_vs_unstructured(model.state_dict(), splits, retrain_epochs, seed, backend)
    params = dict(nm["models"]["2:4 (N:M)"].named_parameters())
    out["nm_masks"] = {n: to_numpy(params[n].mask).copy() for n in NM_LAYERS}
    out["nm_weights"] = {n: to_numpy(params[n].data).copy() for n in NM_LAYERS}
    out["nm"] = [{"method": "dense", "sparsity": 0.0, "acc_pruned": None,
                  "acc_retrained": out["baseline_accuracy"]}]  # fmt: skip
    out["nm"] += nm["rows"]
    show(out["nm"], "§8.1 hidden layers pruned to 50%, then retrained (test accuracy)")
    out["bytes"] = nm_bytes(nm["models"])
    show(out["bytes"], "§8.1 bytes of the hidden weights 0.weight + 2.weight")
    out["timing"] = dense_forward_time(model, nm["models"]["2:4 (N:M)"], splits.test[0])
    show(out["timing"], "§8.1 measured NumPy forward time: the same dense matmul either way "
         "(run-to-run noise on this shared machine: up to ~15%)")  # fmt: skip

    gradual = gradual_vs_one_shot(splits, epochs, seed, backend, args.out)
    out["gradual"], out["gradual_history"] = gradual["rows"], gradual["history"]
    out["gradual_final_target"] = GRADUAL_SPARSITY
    show(out["gradual"], f"§8.2 gradual vs one-shot to {GRADUAL_SPARSITY:.0%}, same epochs")

    lt_epochs, rounds = (QUICK_LOTTERY_EPOCHS, QUICK_ROUNDS) if q else (LOTTERY_EPOCHS, ROUNDS)
    lt = lottery(splits, lt_epochs, rounds, seed, backend, args.out)
    out["lottery"], out["tickets"] = lt["rows"], lt["tickets"]
    show(out["lottery"], f"§8.3 lottery tickets, {LOTTERY_SPARSITY:.0%} in the hidden layers "
         f"(output layer at half the rate), {lt_epochs} epochs per round")  # fmt: skip
    out["figures"] = [gradual["figure"], lt["figure"]]
    print("\nfigures: " + ", ".join(str(f) for f in out["figures"]))
    return out


if __name__ == "__main__":
    main()
