r"""Quality bar of the pruning core: does each method keep the accuracy it should?

On the digits MLP 64-300-100-10 (``nnprune.models.mlp``; 8x8 digits split by
``nnprune.data.digits_splits(seed)``: 1169 train, 269 validation, 359 test
images), one dense model is trained per seed and every method starts from it.
The lottery ticket trains the same model from the same :math:`\theta_0` with
the same settings as its round 0, and the script checks that round 0
reproduces the dense accuracy. Accuracies are on the TEST set (one point is
about 3.6 images), mean ± sample std over the seeds; "vs dense" is the mean of
the per-seed differences to that seed's dense model.

===  ======================================  =====================================
 #   experiment                              target (PASS/FAIL from the data)
===  ======================================  =====================================
 1   dense (SGD + momentum)                  reference
 2   global magnitude 90% + retraining       mean drop vs dense <= 1 pt
 3   global magnitude 90%, no retraining     visibly worse than 2: lower in every
                                             seed and >= 1 pt lower on average
 4a  lottery ticket (IMP, rewind to θ0)      mean accuracy above 4b
 4b  random re-init of the ticket's masks    control (same epochs, optimiser)
 5a  50% of hidden neurons removed (L1)      context (before retraining)
 5b  the same, retrained                     mean drop vs dense < 2 pt
 6   gradual magnitude to 90% (cubic)        context only
===  ======================================  =====================================

Budgets. Retraining (2, 5b) and gradual pruning (6) all get ``RETRAIN_EPOCHS``
epochs of SGD with momentum at ``LR * LR_FACTOR``, starting from the dense
model (Han et al. retrain LeNets at 1/10 of the training rate); 6 raises the
sparsity along Zhu & Gupta's cubic schedule in the first ``GRADUAL_END`` of
those steps. 4a prunes the hidden layers to ``LT_SPARSITY`` in ``LT_ROUNDS``
rounds of 20% of the survivors (the output layer at half the rate, as
Frankle & Carbin), each round training ``EPOCHS`` epochs at ``LR`` from the
rewound weights; 4b trains the final masks once, for the same ``EPOCHS``
epochs at ``LR``, from a new random initialisation. Fixed epochs replace the
paper's early stopping. BLAS runs on ``--threads`` threads (default 1: these
layers are too small to gain from more, and a loaded machine loses a lot).

Run::

    python benchmarks/bench_pruning_quality.py                 # 3 seeds, about 20 s
    python benchmarks/bench_pruning_quality.py --seeds 0 1 2 3 4 --out results/quality
    python benchmarks/bench_pruning_quality.py --quick         # a smoke run, no verdict

(Times measured on a shared 2-core x86_64 machine, one BLAS thread; ten seeds
took about 70 s.)

S. Han et al., *Learning both Weights and Connections for Efficient Neural
Networks*, NeurIPS 2015. J. Frankle, M. Carbin, *The Lottery Ticket
Hypothesis*, ICLR 2019. H. Li et al., *Pruning Filters for Efficient
ConvNets*, ICLR 2017. M. Zhu, S. Gupta, *To prune, or not to prune*, 2017.

Book: §3.1 (weight and neuron pruning), §3.3 (comparing methods), §5.1-5.2
(prune, retrain), §8 (lottery tickets, gradual pruning).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import metrics, prune
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.nn import Sequential
from nnprune.pipeline import (
    GradualPruning,
    PolynomialDecay,
    evaluate,
    lottery_ticket,
    prune_retrain,
    random_reinit_control,
    retrain,
    weight_sparsity,
)
from nnprune.report import format_table, write_csv, write_json

MLP_SIZES = (64, 300, 100, 10)
SEEDS = (0, 1, 2)
EPOCHS, LR, MOMENTUM, BATCH_SIZE = 30, 0.05, 0.9, 64
SPARSITY = 0.9
RETRAIN_EPOCHS, LR_FACTOR = 10, 0.1
LT_ROUNDS, LT_RATE = 9, 0.2  # Frankle & Carbin: 20% of the hidden survivors per round
LT_SPARSITY = 1 - (1 - LT_RATE) ** LT_ROUNDS  # 86.6% of the hidden weights
UNIT_FRACTION, HIDDEN = 0.5, ("0", "2")
GRADUAL_END, GRADUAL_PRUNES = 2 / 3, 10
CONTROL_SEED_OFFSET = 1000  # the random re-init draws weights no ticket started from
QUICK = {"seeds": (0,), "epochs": 4, "retrain_epochs": 2, "lt_rounds": 2}
DROP_MAGNITUDE, VISIBLY, DROP_UNITS = 1.0, 1.0, 2.0  # accuracy points

DENSE = "1 dense"
RETRAINED = "2 magnitude 90% + retrain"
ONE_SHOT = "3 magnitude 90%, no retrain"
TICKET = "4a lottery ticket (IMP, θ0)"
REINIT = "4b random re-init, same masks"
UNITS = "5a neurons -50% (L1), no retrain"
UNITS_RETRAINED = "5b neurons -50% (L1) + retrain"
GRADUAL = "6 gradual 90% (cubic)"
TARGETS = {
    DENSE: "reference",
    RETRAINED: f"drop <= {DROP_MAGNITUDE:g} pt",
    ONE_SHOT: f"< 2 every seed, mean gap >= {VISIBLY:g} pt",
    TICKET: "mean > 4b",
    REINIT: "control",
    UNITS: "context",
    UNITS_RETRAINED: f"drop < {DROP_UNITS:g} pt",
    GRADUAL: "context",
}


def _from_state(state: dict, seed: int) -> Sequential:
    model = mlp(MLP_SIZES, seed=seed)
    model.load_state_dict(state)
    return model


def _row(seed: int, experiment: str, model: Sequential, test: Any, epochs: int) -> dict:
    size, nonzero = metrics.model_size(model)
    return {
        "seed": seed,
        "experiment": experiment,
        "accuracy": evaluate(model, test)[1],
        "params": size,
        "nonzeros": nonzero,
        "weight_sparsity": weight_sparsity(model),
        "epochs_after_dense": epochs,
    }


def run_seed(seed: int, epochs: int, retrain_epochs: int, lt_rounds: int) -> list[dict]:
    """Every experiment for one seed: one row each (test accuracy, sizes, epochs spent)."""
    splits = digits_splits(seed)
    build = lambda s: mlp(MLP_SIZES, seed=s)  # noqa: E731
    sgd = {"momentum": MOMENTUM, "batch_size": BATCH_SIZE}
    dense = build(seed)
    retrain(dense, splits, epochs, LR, seed=seed, **sgd)
    state = dense.state_dict()
    rows = [_row(seed, DENSE, dense, splits.test, 0)]

    for name, budget in ((RETRAINED, retrain_epochs), (ONE_SHOT, 0)):
        model = _from_state(state, seed)
        prune_retrain(model, splits, sparsity=SPARSITY, retrain_epochs=budget, lr=LR,
                      lr_factor=LR_FACTOR, seed=seed, **sgd)  # fmt: skip
        rows.append(_row(seed, name, model, splits.test, budget))

    ticket = lottery_ticket(build, splits, final_sparsity=LT_SPARSITY, rounds=lt_rounds,
                            epochs=epochs, lr=LR, seed=seed, **sgd)  # fmt: skip
    if ticket.rounds[0].test_accuracy != rows[0]["accuracy"]:
        raise RuntimeError(f"seed {seed}: the lottery ticket's round 0 is not the dense model")
    rows.append(_row(seed, TICKET, ticket.model, splits.test, lt_rounds * epochs))
    control = random_reinit_control(build, ticket.rounds[-1].masks, splits, epochs=epochs, lr=LR,
                                    seed=seed + CONTROL_SEED_OFFSET, **sgd)  # fmt: skip
    rows.append(_row(seed, REINIT, control.model, splits.test, epochs))

    model = _from_state(state, seed)
    for layer in HIDDEN:
        prune.prune_units(model, layer, UNIT_FRACTION, criterion="l1", input_shape=MLP_SIZES[:1])
    rows.append(_row(seed, UNITS, model, splits.test, 0))
    retrain(model, splits, retrain_epochs, LR * LR_FACTOR, seed=seed, **sgd)
    rows.append(_row(seed, UNITS_RETRAINED, model, splits.test, retrain_epochs))

    model = _from_state(state, seed)
    steps = retrain_epochs * -(-len(splits.train[1]) // BATCH_SIZE)
    frequency = max(1, round(GRADUAL_END * steps) // GRADUAL_PRUNES)
    end = GRADUAL_PRUNES * frequency  # a pruning step, so the ramp ends exactly at SPARSITY
    gradual = GradualPruning(PolynomialDecay(0.0, SPARSITY, 0, end, frequency=frequency))
    retrain(model, splits, retrain_epochs, LR * LR_FACTOR, seed=seed, callbacks=[gradual], **sgd)
    if gradual.history_[-1][1] != SPARSITY:
        raise RuntimeError(f"gradual pruning stopped at {gradual.history_[-1][1]}, not {SPARSITY}")
    rows.append(_row(seed, GRADUAL, model, splits.test, retrain_epochs))
    return rows


def accuracies(rows: list[dict]) -> dict[str, np.ndarray]:
    """``{experiment: test accuracies in seed order}``."""
    seeds = sorted({r["seed"] for r in rows})
    table = {(r["seed"], r["experiment"]): r["accuracy"] for r in rows}
    return {e: np.array([table[s, e] for s in seeds]) for e in TARGETS}


def verdicts(rows: list[dict]) -> dict[str, bool | None]:
    """PASS (True) / FAIL (False) per experiment with a target; None for the others."""
    acc = accuracies(rows)
    drop = {e: 100 * float(np.mean(acc[DENSE] - a)) for e, a in acc.items()}
    gap = 100 * float(np.mean(acc[RETRAINED] - acc[ONE_SHOT]))
    return {
        DENSE: None,
        RETRAINED: drop[RETRAINED] <= DROP_MAGNITUDE,
        ONE_SHOT: bool(np.all(acc[ONE_SHOT] < acc[RETRAINED])) and gap >= VISIBLY,
        TICKET: float(np.mean(acc[TICKET])) > float(np.mean(acc[REINIT])),
        REINIT: None,
        UNITS: None,
        UNITS_RETRAINED: drop[UNITS_RETRAINED] < DROP_UNITS,
        GRADUAL: None,
    }


def summarise(rows: list[dict]) -> list[dict]:
    """One row per experiment: accuracy mean ± std, paired difference to dense, sizes, verdict."""
    acc, verdict = accuracies(rows), verdicts(rows)
    ddof = 1 if len(acc[DENSE]) > 1 else 0
    out = []
    for e, target in TARGETS.items():
        mine = [r for r in rows if r["experiment"] == e]
        nonzeros = round(float(np.mean([r["nonzeros"] for r in mine])))
        ok = verdict[e]
        out.append(
            {
                "experiment": e,
                "target": target,
                "test accuracy %": f"{100 * acc[e].mean():.2f} ± {100 * acc[e].std(ddof=ddof):.2f}",
                "vs dense (pt)": f"{100 * np.mean(acc[e] - acc[DENSE]):+.2f}",
                "params / non-zeros": f"{mine[0]['params']:,} / {nonzeros:,}",
                "result": "-" if ok is None else ("PASS" if ok else "FAIL"),
            }
        )
    return out


def notes(rows: list[dict]) -> str:
    """Per-seed facts behind the lottery verdict, which the means alone hide."""
    acc = accuracies(rows)
    diff = acc[TICKET] - acc[REINIT]
    kept = 1 - np.mean([r["weight_sparsity"] for r in rows if r["experiment"] == TICKET])
    return (
        f"4a keeps {kept:.1%} of the weights; ticket - re-init per seed (pt): "
        f"{' '.join(f'{100 * d:+.2f}' for d in diff)} "
        f"(wins {int(np.sum(diff > 0))}, ties {int(np.sum(diff == 0))}, "
        f"losses {int(np.sum(diff < 0))}); round 0 of 4a reproduced 1 in every seed."
    )


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2")
    parser.add_argument("--quick", action="store_true", help="seed 0, few epochs (smoke run)")
    parser.add_argument("--out", default=None, help="folder for quality.csv and quality.json")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    seeds = tuple(args.seeds or (QUICK["seeds"] if args.quick else SEEDS))
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        parser.error(f"--seeds must be distinct integers >= 0, got {list(seeds)}")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    epochs = QUICK["epochs"] if args.quick else EPOCHS
    retrain_epochs = QUICK["retrain_epochs"] if args.quick else RETRAIN_EPOCHS
    lt_rounds = QUICK["lt_rounds"] if args.quick else LT_ROUNDS

    start = time.perf_counter()
    print(
        f"numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.threads} BLAS thread(s); digits MLP {'-'.join(map(str, MLP_SIZES))}, "
        f"seeds {list(seeds)}\n1: {epochs} epochs of SGD, lr {LR}, momentum {MOMENTUM}, "
        f"batch {BATCH_SIZE}. 2, 5b, 6: {retrain_epochs} epochs at lr {LR * LR_FACTOR:g}. "
        f"4a: {lt_rounds} rounds x {epochs} epochs at lr {LR}, hidden layers to "
        f"{LT_SPARSITY:.1%}; 4b: {epochs} epochs at lr {LR}."
    )
    with threadpool_limits(args.threads):
        rows = [r for seed in seeds for r in run_seed(seed, epochs, retrain_epochs, lt_rounds)]
    summary = summarise(rows)
    seconds = time.perf_counter() - start
    title = f"\nPruning quality on the digits test set, mean ± std over {len(seeds)} seed(s)"
    print(format_table(summary, title=title))
    print(notes(rows))
    if args.quick:
        print("--quick: too few epochs and seeds for these verdicts to mean anything.")
    if args.out:
        out = Path(args.out)
        record = {"argv": argv, "seconds": seconds, "rows": rows, "summary": summary}
        print(f"rows: {write_csv(out / 'quality.csv', rows)}, "
              f"{write_json(out / 'quality.json', record)}")  # fmt: skip
    command = shlex.join(["python", "benchmarks/bench_pruning_quality.py", *argv])
    print(f"\ncommand: {command}\ntotal time: {seconds:.1f} s")
    return {"seeds": list(seeds), "rows": rows, "summary": summary, "seconds": seconds}


if __name__ == "__main__":
    main()
