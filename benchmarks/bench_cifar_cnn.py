"""The CIFAR-shaped CNN of appendix C: nnprune against PyTorch on the CPU, with targets.

The network, on 3x32x32 images, batch 64, float32::

    Conv 3x3 3->32, [BN], ReLU, Conv 3x3 32->32, [BN], ReLU, MaxPool 2,
    Conv 3x3 32->64, [BN], ReLU, Conv 3x3 64->64, [BN], ReLU, MaxPool 2,
    Flatten, Linear 4096->256, ReLU, Linear 256->10        (padding 1 everywhere)

Three timings, each the median over ``--repeats`` calls, measured side by side in one
run: the libraries take turns in ``--rounds`` blocks (each after ``--warmup`` untimed
calls), so a slow spell of a shared machine falls on both; the ratio's range over the
blocks is printed next to it.

* **training step**: forward, cross-entropy, backward, SGD with momentum 0.9, the way
  each library trains by default: PyTorch's input does not require a gradient, and
  nnprune's first layer skips its input gradient (``input_requires_grad = False``, what
  :func:`nnprune.train.fit` sets);
* the same **with BatchNorm2d** after every convolution;
* **inference**: ``eval()`` forward (``torch.inference_mode()`` for PyTorch).

**Working memory**: each library trains ``--memory-steps`` steps in a fresh subprocess
(same threads, same data sizes); the figure is the peak resident set size (``VmHWM`` of
``/proc/self/status``, reset through ``/proc/self/clear_refs`` after the model, data and
optimiser exist) minus the resident size at that moment. It counts every allocation
(NumPy's, PyTorch's own allocator, the BLAS buffers) the same way for both. Linux only.

**Floor** (``--floor``): where the rest of the gap is. The same nnprune training step is
timed against PyTorch's once more with its data-movement passes (im2col, padding, col2im,
ReLU, max-pooling) replaced by no-ops: the GEMMs run on the columns an earlier real step
left in the scratch array, so the numbers computed are meaningless, but the time is that
of the arithmetic (GEMMs, bias, loss, Linear layers, SGD) alone. If this floor is already
close to the target, no rearrangement of NumPy passes can reach it.

``--clock cpu`` times with ``time.process_time`` (this process's CPU time) instead of
the wall clock: on a machine shared with other jobs it does not count the time the
process waits for a core, but with several threads it also counts threads spinning
while they wait for each other, so use it with ``--threads 1``.

The BLAS library and kernel in use are printed (threadpoolctl). ``OPENBLAS_CORETYPE``,
set on some machines, forces OpenBLAS to an older kernel (e.g. Haswell on a SkylakeX
CPU) and halves numpy's GEMM peak, which moves every ratio; this script leaves it as it
finds it.

Run::

    python benchmarks/bench_cifar_cnn.py --threads 2
    python benchmarks/bench_cifar_cnn.py --threads 2 --floor --no-memory

Book: appendix C (the CIFAR-10 project), §1.2 (the engine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

BATCH = 64
LR = 0.01
MOMENTUM = 0.9
TARGET = 1.5  # nnprune / torch, time
STRETCH = 1.25
MEMORY_TARGET = 1.3


def _set_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


def nnprune_cnn(bn: bool):  # noqa: ANN201
    """The network in nnprune (``bn``: BatchNorm2d after every convolution)."""
    from nnprune import nn

    layers = []
    for i, (c_in, c_out, pool) in enumerate(
        [(3, 32, False), (32, 32, True), (32, 64, False), (64, 64, True)]
    ):
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, seed=i))
        if bn:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU())
        if pool:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(4096, 256, seed=4), nn.ReLU(), nn.Linear(256, 10, seed=5)]
    return nn.Sequential(*layers)


def torch_cnn(bn: bool):  # noqa: ANN201
    """The same network in PyTorch."""
    import torch.nn as tnn

    layers = []
    for c_in, c_out, pool in [(3, 32, False), (32, 32, True), (32, 64, False), (64, 64, True)]:
        layers.append(tnn.Conv2d(c_in, c_out, 3, padding=1))
        if bn:
            layers.append(tnn.BatchNorm2d(c_out))
        layers.append(tnn.ReLU())
        if pool:
            layers.append(tnn.MaxPool2d(2))
    layers += [tnn.Flatten(), tnn.Linear(4096, 256), tnn.ReLU(), tnn.Linear(256, 10)]
    return tnn.Sequential(*layers)


def _data():  # noqa: ANN202
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, BATCH)


def _nnprune_steps(bn: bool, x, y, lr: float = LR):  # noqa: ANN001, ANN202
    from nnprune import nn, optim

    model = nnprune_cnn(bn)
    model.input_requires_grad = False  # what train.fit does
    criterion = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)

    def step() -> None:
        opt.zero_grad()
        criterion.forward(model.forward(x), y)
        model.backward(criterion.backward())
        opt.step()

    return model, step


def _torch_steps(bn: bool, x, y):  # noqa: ANN001, ANN202
    import torch

    model = torch_cnn(bn)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()

    return model, step


class _NoDataMovement:
    """Context manager: nnprune's copy passes become no-ops (for the ``--floor`` timing only).

    The convolutions' GEMMs then read whatever an earlier real step left in the scratch
    columns; ReLU is the identity, max-pooling a strided view and its backward an
    array of zeros allocated once. Nothing computed inside is meaningful; only its time is.
    """

    def __enter__(self) -> None:
        import numpy as np

        from nnprune import nn
        from nnprune.nn import _im2col, conv

        # The backward pass writes W^T Delta over the scratch columns, which the next
        # forward pass would read: left alone, the values shrink step after step into
        # subnormal numbers, on which the GEMMs run 100 times slower. One fill per step
        # (one write pass over the 16 MB scratch array, counted in the floor) keeps them at 0.5.
        for buf in _im2col._scratch.__dict__.get("buffers", {}).values():
            buf.fill(0.5)

        def im2col(x, *args, out=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            return out  # stale columns, same shape

        def pad_images(x, padding, *args, out=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            return out.transpose(3, 0, 1, 2)

        def pool_forward(self, x):  # noqa: ANN001, ANN202
            self._floor_shape = x.shape
            return x[:, :, ::2, ::2]

        def pool_backward(self, dout):  # noqa: ANN001, ANN202
            n, c, h, w = self._floor_shape
            buf = getattr(self, "_floor_dx", None)
            if buf is None or buf.shape != (c, h, w, n):  # allocated once, finite
                buf = self._floor_dx = np.zeros((c, h, w, n), dout.dtype)
            return buf.transpose(3, 0, 1, 2)

        patches = [
            (conv, "im2col", im2col),
            (conv, "pad_images", pad_images),
            (conv, "col2im_add", lambda *args, **kwargs: None),
            (nn.ReLU, "forward", lambda self, x: x),
            (nn.ReLU, "backward", lambda self, dout: dout),
            (nn.MaxPool2d, "forward", pool_forward),
            (nn.MaxPool2d, "backward", pool_backward),
        ]
        self._saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
        for obj, name, fn in patches:
            setattr(obj, name, fn)

    def __exit__(self, *exc: object) -> None:
        for obj, name, fn in self._saved:
            setattr(obj, name, fn)


def _floor_steps(x, y):  # noqa: ANN001, ANN202
    """nnprune's training step (no BatchNorm) inside :class:`_NoDataMovement`."""
    # lr = 0: the weights stay the initial ones, so every number stays finite
    # (NaN or subnormal operands would slow the GEMMs down and distort the floor).
    _, step = _nnprune_steps(False, x, y, lr=0.0)
    step()  # one real step fills the scratch columns with finite numbers

    def floor_step() -> None:
        with _NoDataMovement():
            step()

    return floor_step


def _memory_child(library: str, bn: bool, steps: int) -> None:
    """Print ``{"mib": peak RSS increase}`` over ``steps`` training steps (subprocess)."""
    x, y = _data()
    if library == "torch":
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        _, step = _torch_steps(bn, x, y)
    else:
        _, step = _nnprune_steps(bn, x, y)

    def status(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])  # kB
        raise RuntimeError(f"{key} not in /proc/self/status")

    base = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    for _ in range(steps):
        step()
    print(json.dumps({"mib": (status("VmHWM") - base) / 1024}))


def _memory(library: str, bn: bool, steps: int, threads: int) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads)]
    cmd += ["--memory-child", library, "--memory-steps", str(steps)] + (["--bn"] if bn else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["mib"])


def _timings(
    steps: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int,
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, float], list[dict[str, float]], dict[str, float]]:
    """Overall median (ms) per column, the median of each round, and the fastest call."""
    times: dict[str, list[list[float]]] = {name: [] for name in steps}
    per_round = max(1, -(-repeats // rounds))
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(warmup):
                step()
            block = []
            for _ in range(per_round):
                start = clock()
                step()
                block.append(1e3 * (clock() - start))
            times[name].append(block)
    overall = {n: statistics.median(t for b in blocks for t in b) for n, blocks in times.items()}
    per = [{n: statistics.median(times[n][r]) for n in steps} for r in range(rounds)]
    fastest = {n: min(t for b in blocks for t in b) for n, blocks in times.items()}
    return overall, per, fastest


def gemm_peak() -> float:
    """numpy's float32 GEMM speed in GFLOP/s: 1024x1024 product, one thread, median of 15."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    times = []
    with threadpool_limits(1):
        for _ in range(15):
            start = time.process_time()
            a @ a
            times.append(time.process_time() - start)
    return 2 * 1024**3 / statistics.median(times) / 1e9


def blas_report() -> list[str]:
    """numpy's one-thread GEMM speed, then :func:`nnprune.metrics.latency.blas_report`."""
    from nnprune.metrics.latency import blas_report as libraries

    speed = f"numpy float32 GEMM 1024x1024, 1 thread: {gemm_peak():.0f} GFLOP/s (CPU time)"
    return [speed, *libraries()]


def _verdict(ratio: float, target: float, stretch: float | None = None) -> str:
    if ratio <= (stretch or 0):
        return "PASS (stretch)"
    return "PASS" if ratio <= target else "FAIL"


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Time, measure memory, print the table; return the ratios by row name."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per column")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per block")
    parser.add_argument("--rounds", type=int, default=10, help="alternating blocks")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: time.perf_counter; cpu: time.process_time, this process's CPU time, "
        "steadier on a loaded machine but only comparable with --threads 1",
    )
    parser.add_argument("--memory-steps", type=int, default=20, help="steps per memory run")
    parser.add_argument("--memory-runs", type=int, default=3, help="subprocesses per library")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time nnprune's step without its data-movement passes (see the module notes)",
    )
    parser.add_argument("--memory-child", choices=["nnprune", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--bn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.repeats, args.threads, args.rounds, args.memory_steps) < 1 or args.warmup < 0:
        parser.error("--repeats, --threads, --rounds, --memory-steps must be >= 1")
    _set_threads(args.threads)
    if args.memory_child:
        _memory_child(args.memory_child, args.bn, args.memory_steps)
        return {}

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = _data()
    columns: dict[str, dict[str, Callable[[], object]]] = {}
    for bn in (False, True):
        row = "training step, BatchNorm" if bn else "training step"
        columns[row] = {"nnprune": _nnprune_steps(bn, x, y)[1], "torch": _torch_steps(bn, x, y)[1]}
    nn_model = nnprune_cnn(False).eval()
    t_model = torch_cnn(False).eval()
    xt = torch.from_numpy(x)

    def t_infer() -> None:
        with torch.inference_mode():
            t_model(xt)

    columns["inference"] = {"nnprune": lambda: nn_model.forward(x), "torch": t_infer}
    if args.floor:  # timed in the same blocks as the training step it is compared with
        columns["training step"]["floor"] = _floor_steps(x, y)

    print(f"CIFAR-shaped CNN, batch {BATCH}, float32, {args.threads} thread(s), numpy "
          f"{np.__version__}, torch {torch.__version__}")  # fmt: skip
    print("BLAS: " + "\n      ".join(blas_report()))
    print(f"{args.clock} clock, median of {args.repeats} calls in {args.rounds} alternating "
          "blocks; range = ratio of the per-block medians;\nfastest = ratio of the fastest "
          "calls")  # fmt: skip
    print(f"{'':<26}{'nnprune ms':>11}{'torch ms':>10}{'ratio':>7}  {'range':<11}{'fastest':>8}"
          f"  {'target':<8}")  # fmt: skip
    ratios: dict[str, float] = {}
    for row, steps in columns.items():
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        overall, per, fastest = _timings(steps, args.repeats, args.warmup, args.rounds, clock)
        ratio = overall["nnprune"] / overall["torch"]
        spread = [b["nnprune"] / b["torch"] for b in per]
        ratios[row] = ratio
        stretch = STRETCH if row.startswith("training") else None
        print(
            f"{row:<26}{overall['nnprune']:>11.1f}{overall['torch']:>10.1f}{ratio:>7.2f}  "
            f"{min(spread):.2f}-{max(spread):<6.2f}{fastest['nnprune'] / fastest['torch']:>8.2f}"
            f"  <= {TARGET:<5}{_verdict(ratio, TARGET, stretch)}"
        )
        if "floor" in steps:
            ratio = overall["floor"] / overall["torch"]
            spread = [b["floor"] / b["torch"] for b in per]
            ratios["floor"] = ratio
            print(
                f"{'  floor: no data movement':<26}{overall['floor']:>11.1f}"
                f"{overall['torch']:>10.1f}{ratio:>7.2f}  {min(spread):.2f}-{max(spread):<6.2f}"
                f"{fastest['floor'] / fastest['torch']:>8.2f}"
            )
    if args.floor:
        print(
            "  floor = nnprune's training step with im2col, padding, col2im, ReLU and max-pool "
            "as no-ops,\n  timed in the same blocks: the arithmetic alone (what it computes "
            "is meaningless)"
        )
    if not args.no_memory:
        for bn in (False, True):
            mib: dict[str, list[float]] = {"nnprune": [], "torch": []}
            for _ in range(args.memory_runs):
                for lib in mib:
                    mib[lib].append(_memory(lib, bn, args.memory_steps, args.threads))
            med = {lib: statistics.median(v) for lib, v in mib.items()}
            ratio = med["nnprune"] / med["torch"]
            row = f"memory, {args.memory_steps} steps" + (", BN" if bn else "")
            ratios[row] = ratio
            print(
                f"{row + ' (MiB)':<26}{med['nnprune']:>11.1f}{med['torch']:>10.1f}{ratio:>7.2f}  "
                f"{'':<19}  <= {MEMORY_TARGET:<5}{_verdict(ratio, MEMORY_TARGET)}"
            )
    return ratios


if __name__ == "__main__":
    main()
