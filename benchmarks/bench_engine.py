"""Speed of one nnprune training step against the same network in PyTorch (CPU).

One step is forward, cross-entropy loss, backward and an SGD update (momentum 0.9)
of

* an MLP 784-300-100-10 with ReLU, batch 128;
* a CNN on 1x28x28 images: Conv 3x3 1->16 (padding 1), ReLU, MaxPool 2,
  Conv 3x3 16->32 (padding 1), ReLU, MaxPool 2, Flatten, Linear 32*7*7->10,
  batch 64;
* the same MLP with 90% of its weights pruned (global magnitude pruning:
  ``prune.global_unstructured`` on both sides, so nnprune pays its mask rule,
  one ``copyto`` per read of a pruned weight, and PyTorch its forward
  pre-hook ``weight = weight_orig * weight_mask``), row ``MLP 90%``;

both in float32 on random data, with the same number of threads on both sides
(set from ``--threads`` through the OMP/MKL/OpenBLAS variables before NumPy is
imported, through threadpoolctl, and ``torch.set_num_threads``). Each figure is
the median over ``--repeats`` timed steps (in blocks that alternate between the
libraries, each after ``--warmup`` untimed steps).

The "nnprune" and "torch" columns both compute the gradient with respect to the
network's input (the PyTorch input is created with ``requires_grad=True``); the
"no dx" columns skip it, PyTorch's usual step and nnprune's with
``model.input_requires_grad = False`` (what :func:`nnprune.train.fit` does).

The BLAS library and kernel in use are printed (threadpoolctl): ``OPENBLAS_CORETYPE``,
set on some machines, forces an older OpenBLAS kernel and can halve numpy's GEMM
peak, which moves every ratio. The script leaves it as it finds it.

Run::

    python benchmarks/bench_engine.py --repeats 50 --threads 2

Book: §1.2 (the engine the book trains with).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

BATCH_MLP = 128
BATCH_CNN = 64
LR = 0.01
MOMENTUM = 0.9
ROUNDS = 5
PRUNED = 0.9


def _median_ms(
    steps: dict[str, Callable[[], object]], repeats: int, warmup: int
) -> dict[str, float]:
    """Median time of each step in ms.

    The columns take turns in ``ROUNDS`` blocks, so that a slow spell of the
    machine is shared by all of them; each block starts with ``warmup``
    untimed steps, so that one library's thread pool has gone idle before the
    other is timed.
    """
    times: dict[str, list[float]] = {name: [] for name in steps}
    per_round = -(-repeats // ROUNDS)
    for _ in range(ROUNDS):
        for name, step in steps.items():
            for _ in range(warmup):
                step()
            for _ in range(per_round):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(ts) for name, ts in times.items()}


def _nnprune_models(nn):  # noqa: ANN001, ANN202
    mlp = nn.Sequential(
        nn.Linear(784, 300, seed=0),
        nn.ReLU(),
        nn.Linear(300, 100, seed=1),
        nn.ReLU(),
        nn.Linear(100, 10, seed=2),
    )
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, seed=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10, seed=2),
    )  # fmt: skip
    return mlp, cnn


def _torch_models(tnn):  # noqa: ANN001, ANN202
    mlp = tnn.Sequential(
        tnn.Linear(784, 300), tnn.ReLU(), tnn.Linear(300, 100), tnn.ReLU(), tnn.Linear(100, 10)
    )
    cnn = tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(32 * 7 * 7, 10),
    )  # fmt: skip
    return mlp, cnn


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Time the steps and print the table; return ``{model: {column: ms}}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps (median)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads")
    parser.add_argument("--no-torch", action="store_true", help="time nnprune only")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--repeats and --threads must be >= 1, --warmup >= 0")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if "numpy" in sys.modules:
        print("note: numpy was imported before the thread variables were set", file=sys.stderr)

    import numpy as np
    from threadpoolctl import threadpool_limits

    from nnprune import nn, optim, prune

    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    data = {
        "MLP": (rng.standard_normal((BATCH_MLP, 784), dtype=np.float32),
                rng.integers(0, 10, BATCH_MLP)),
        "CNN": (rng.standard_normal((BATCH_CNN, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, BATCH_CNN)),
    }  # fmt: skip
    data["MLP 90%"] = data["MLP"]
    names = ("MLP", "CNN", "MLP 90%")
    steps: dict[str, dict[str, Callable[[], object]]] = {name: {} for name in names}
    criterion = nn.CrossEntropyLoss()
    pruned = _nnprune_models(nn)[0]
    prune.global_unstructured(
        [(m, "weight") for m in pruned if isinstance(m, nn.Linear)],
        prune.L1Unstructured,
        amount=PRUNED,
    )
    for name, model in zip(names, (*_nnprune_models(nn), pruned), strict=True):
        x, y = data[name]
        opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

        def step(model=model, opt=opt, x=x, y=y) -> None:  # noqa: ANN001
            opt.zero_grad()
            criterion.forward(model.forward(x), y)
            model.backward(criterion.backward())
            opt.step()

        steps[name]["nnprune"] = step

        def step_no_dx(model=model, opt=opt, x=x, y=y) -> None:  # noqa: ANN001
            model.input_requires_grad = False
            step(model, opt, x, y)
            model.input_requires_grad = True

        steps[name]["nnprune, no dx"] = step_no_dx

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not installed: timing nnprune only", file=sys.stderr)
    if torch is not None:
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        loss_fn = torch.nn.CrossEntropyLoss()
        from torch.nn.utils import prune as tprune

        tpruned = _torch_models(torch.nn)[0]
        tprune.global_unstructured(
            [(m, "weight") for m in tpruned if isinstance(m, torch.nn.Linear)],
            pruning_method=tprune.L1Unstructured,
            amount=PRUNED,
        )
        for name, model in zip(names, (*_torch_models(torch.nn), tpruned), strict=True):
            x, y = (torch.from_numpy(a) for a in data[name])
            opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
            for column, needs_dx in (("torch", True), ("torch, no dx", False)):
                xt = x.clone().requires_grad_(needs_dx)

                def tstep(model=model, opt=opt, xt=xt, y=y) -> None:  # noqa: ANN001
                    opt.zero_grad()
                    xt.grad = None
                    loss_fn(model(xt), y).backward()
                    opt.step()

                steps[name][column] = tstep

    results = {name: _median_ms(s, args.repeats, args.warmup) for name, s in steps.items()}

    print(f"one training step, float32, {args.threads} thread(s), median of {args.repeats}")
    from nnprune.metrics.latency import blas_report

    print("BLAS: " + "\n      ".join(blas_report()))
    print(
        f"{'model':<8}{'nnprune ms':>12}{'torch ms':>10}{'ratio':>8}"
        f"{'nnprune no-dx':>15}{'torch no-dx':>13}{'ratio':>8}"
    )
    for name, row in results.items():
        t = row.get("torch", float("nan"))
        t0 = row.get("torch, no dx", float("nan"))
        n, n0 = row["nnprune"], row["nnprune, no dx"]
        print(f"{name:<8}{n:>12.2f}{t:>10.2f}{n / t:>8.2f}{n0:>15.2f}{t0:>13.2f}{n0 / t0:>8.2f}")
    return results


if __name__ == "__main__":
    main()
