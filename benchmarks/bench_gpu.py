"""NumPy vs CuPy (``model.to("cupy")``) vs PyTorch CUDA: training step and inference.

Two networks, float32, random data, batch 128 and 256:

* MLP 784-300-100-10 with ReLU;
* the CIFAR-shaped CNN of appendix C: Conv 3x3 3->32, ReLU, Conv 3x3 32->32,
  ReLU, MaxPool 2, Conv 3x3 32->64, ReLU, Conv 3x3 64->64, ReLU, MaxPool 2,
  Flatten, Linear 4096->256, ReLU, Linear 256->10 (padding 1), on 3x32x32.

A training step is forward, cross-entropy, backward and SGD (momentum 0.9);
inference is a forward pass in eval mode (PyTorch: under ``no_grad``). Each
figure is the median of ``--repeats`` timed calls after ``--warmup`` untimed
ones (CuPy compiles its kernels on first use); GPU timings synchronise the
device after every call (``cupy.cuda.Device().synchronize()``,
``torch.cuda.synchronize()``). PyTorch runs with TF32 off (cuBLAS and cuDNN), so
all three compute in full float32. nnprune's backward also computes the
gradient with respect to the input; the PyTorch step does not.

Before timing, one NumPy and one CuPy training step from the same weights are
compared (loss and largest weight difference), a check that the GPU path
computes what the CPU path does.

Without CuPy and a GPU the script says "CuPy not available" and exits 0; with
``--quick`` it then still runs the NumPy column once, a smoke test of the
script itself.

Run (the GPU check script ``benchmarks/gpu_check.sh`` does this)::

    python benchmarks/bench_gpu.py --out $OUT/bench_gpu.txt   # about a minute on a GPU
    python benchmarks/bench_gpu.py --quick                    # seconds, CPU-only smoke test

Book: §1.1 (the engine and its backends).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

from nnprune import __version__, backend, nn, optim
from nnprune._atomic import atomic_write

BATCHES = (128, 256)
QUICK_BATCHES = (8,)
LR = 0.01
MOMENTUM = 0.9


def nnprune_models() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    """``{name: (model, one sample's shape)}`` with fixed seeds."""
    mlp = nn.Sequential(
        nn.Linear(784, 300, seed=0), nn.ReLU(), nn.Linear(300, 100, seed=1), nn.ReLU(),
        nn.Linear(100, 10, seed=2),
    )  # fmt: skip
    cnn = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, seed=0), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1, seed=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, seed=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1, seed=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 256, seed=4), nn.ReLU(), nn.Linear(256, 10, seed=5),
    )  # fmt: skip
    return {"MLP": (mlp, (784,)), "CNN": (cnn, (3, 32, 32))}


def torch_models(tnn: Any) -> dict[str, Any]:
    mlp = tnn.Sequential(
        tnn.Linear(784, 300), tnn.ReLU(), tnn.Linear(300, 100), tnn.ReLU(), tnn.Linear(100, 10)
    )
    cnn = tnn.Sequential(
        tnn.Conv2d(3, 32, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(32, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(64, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(64 * 8 * 8, 256), tnn.ReLU(), tnn.Linear(256, 10),
    )  # fmt: skip
    return {"MLP": mlp, "CNN": cnn}


def median_ms(
    fn: Callable[[], object], sync: Callable[[], None], repeats: int, warmup: int
) -> float:
    """Median wall time of ``fn()`` in ms, ``sync()`` after each call."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def nnprune_fns(model: nn.Module, x: Any, y: Any) -> dict[str, Callable[[], object]]:
    criterion = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def train() -> None:
        model.train()
        opt.zero_grad()
        criterion.forward(model.forward(x), y)
        model.backward(criterion.backward())
        opt.step()

    def infer() -> None:
        model.eval()
        model.forward(x)

    return {"train": train, "infer": infer}


def torch_fns(torch: Any, model: Any, x: Any, y: Any) -> dict[str, Callable[[], object]]:
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def train() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    def infer() -> None:
        model.eval()
        with torch.no_grad():
            model(x)

    return {"train": train, "infer": infer}


def agreement(name: str, shape: tuple[int, ...], cp: Any) -> str:
    """One training step on NumPy and on CuPy from the same weights: loss and weight gap."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, *shape), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    losses, weights = [], []
    for target in ("numpy", "cupy"):
        model = nnprune_models()[name][0].to(target)
        criterion = nn.CrossEntropyLoss()
        opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        xb, yb = backend.to_backend(x, target), backend.to_backend(y, target)
        losses.append(criterion.forward(model.forward(xb), yb))
        model.backward(criterion.backward())
        opt.step()
        weights.append([backend.to_numpy(p.data) for p in model.parameters()])
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(*weights, strict=True))
    return f"{name}: loss numpy {losses[0]:.6f} cupy {losses[1]:.6f}; max |weight gap| {gap:.2e}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per figure")
    parser.add_argument("--numpy-repeats", type=int, default=5, help="timed NumPy calls")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    parser.add_argument("--quick", action="store_true", help="batch 8, 1 repeat (smoke test)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    parser.add_argument("--no-numpy", action="store_true", help="skip the (slow) NumPy column")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.numpy_repeats < 1 or args.warmup < 0:
        parser.error("--repeats and --numpy-repeats must be >= 1, --warmup >= 0")
    batches = QUICK_BATCHES if args.quick else BATCHES
    repeats, warmup = (1, 1) if args.quick else (args.repeats, args.warmup)
    numpy_repeats = 1 if args.quick else args.numpy_repeats

    lines: list[str] = []

    def say(text: str = "") -> None:
        """Print, and rewrite ``--out`` so a run cut short still leaves its rows."""
        print(text, flush=True)
        lines.append(text)
        if args.out:
            atomic_write(args.out, lambda f: f.write("\n".join(lines) + "\n"))

    cp = backend._import_cupy()
    say(f"nnprune {__version__}, numpy {np.__version__}, Python {platform.python_version()}")
    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
        f"{i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    say(f"NumPy BLAS: {', '.join(blas) or 'unknown'}; {os.cpu_count()} CPUs")
    if cp is None:
        say(f"CuPy not available ({backend._cupy_error}): no GPU figures.")
        if not args.quick:
            return 0
    else:
        dev = cp.cuda.Device()
        props = cp.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        say(f"cupy {cp.__version__}, CUDA runtime {cp.cuda.runtime.runtimeGetVersion()}, {name}")

    torch = None
    if cp is not None:
        try:
            import torch as _torch

            if _torch.cuda.is_available():
                torch = _torch
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.allow_tf32 = False
                say(f"torch {torch.__version__}, CUDA {torch.version.cuda}, TF32 off")
            else:
                say(f"torch {_torch.__version__}: CUDA not available, no torch column")
        except ImportError:
            say("torch not installed: no torch column")

    if cp is not None:
        say("\nNumPy vs CuPy after one SGD step (same initial weights, batch 32):")
        for name, (_, shape) in nnprune_models().items():
            say("  " + agreement(name, shape, cp))

    def sync_cupy() -> None:
        cp.cuda.Device().synchronize()

    def sync_torch() -> None:
        torch.cuda.synchronize()

    cols = ("numpy", "cupy", "torch cuda")
    say(
        f"\nmedian ms per call, {repeats} repeats (NumPy {numpy_repeats}) after {warmup} "
        "warm-up, float32"
    )
    header = f"{'model':<5} {'batch':>5} {'task':<6}" + "".join(f"{c + ' ms':>14}" for c in cols)
    say(header + f"{'numpy/cupy':>12}{'cupy/torch':>12}")
    rng = np.random.default_rng(0)
    for name, (_, shape) in nnprune_models().items():
        for batch in batches:
            x = rng.standard_normal((batch, *shape), dtype=np.float32)
            y = rng.integers(0, 10, batch)
            columns: dict[str, dict[str, Callable[[], object]]] = {}
            syncs: dict[str, Callable[[], None]] = {}
            if cp is not None:
                model = nnprune_models()[name][0].to("cupy")
                columns["cupy"] = nnprune_fns(model, cp.asarray(x), cp.asarray(y))
                syncs["cupy"] = sync_cupy
            if torch is not None:
                torch.manual_seed(0)
                tmodel = torch_models(torch.nn)[name].cuda()
                xt = torch.from_numpy(x).cuda()
                yt = torch.from_numpy(y).cuda()
                columns["torch cuda"] = torch_fns(torch, tmodel, xt, yt)
                syncs["torch cuda"] = sync_torch
            if not args.no_numpy or cp is None:
                columns["numpy"] = nnprune_fns(nnprune_models()[name][0], x, y)
                syncs["numpy"] = lambda: None
            for task in ("train", "infer"):
                ms = {
                    col: median_ms(
                        fns[task], syncs[col], numpy_repeats if col == "numpy" else repeats, warmup
                    )
                    for col, fns in columns.items()
                }
                cells = "".join(f"{ms[c]:>14.3f}" if c in ms else f"{'-':>14}" for c in cols)
                both = {"numpy", "cupy"} <= ms.keys()
                speedup = f"{ms['numpy'] / ms['cupy']:>12.2f}" if both else f"{'-':>12}"
                both = {"cupy", "torch cuda"} <= ms.keys()
                slower = f"{ms['cupy'] / ms['torch cuda']:>12.2f}" if both else f"{'-':>12}"
                say(f"{name:<5} {batch:>5} {task:<6}{cells}{speedup}{slower}")
    if cp is not None:
        pool = cp.get_default_memory_pool()
        say(f"\nCuPy memory pool: {pool.total_bytes() / 2**20:.0f} MiB held at the end")
    if args.out:
        print(f"written to {os.fspath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
