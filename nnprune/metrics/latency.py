r"""Measured inference latency: the median wall time of a model's forward pass.

FLOP counts (:func:`nnprune.metrics.flops`) say how much arithmetic a model
needs; latency says how long the machine actually takes. The two part ways
when zeros are multiplied anyway (a masked dense layer does all its MACs) or
when fixed per-call costs dominate (small batches). Timings are taken as

.. math::

    t = \operatorname{median}\big(t_1, \dots, t_r\big),

the median of ``repeats`` timed forward passes after ``warmup`` untimed ones
(reported with the interquartile range and the BLAS thread count, optionally pinned),
in eval mode (the model's mode is restored afterwards). On CuPy the GPU is
synchronised after each pass, so a timing covers the work and not just the
launch. The median, not the mean, because a busy machine adds one-sided delays.

* :func:`measure_latency`: one model;
* :func:`compare_latency`: several models timed in interleaved rounds, so that
  background load on a shared machine falls on all of them alike.

Book: §1.3 (effect of pruning on speed), §3.3 (comparing methods, measured).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..backend import get_xp
from ..checks import check_nonnegative_int, check_positive_int
from ..nn.module import Module


def median_time(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _synchronize(xp: Any) -> None:
    if xp.__name__ == "cupy":
        xp.cuda.Device().synchronize()


class Latency(float):
    """Median seconds of a forward pass (the float itself), with the spread and the setting.

    Attributes
    ----------
    iqr : float
        Interquartile range of the timed passes, seconds (75th minus 25th percentile).
    threads : int or None
        BLAS threads the passes ran with (``None``: not known, threadpoolctl missing).
    times : tuple of float
        Every timed pass, seconds.
    """

    iqr: float
    threads: int | None
    times: tuple[float, ...]

    def __new__(cls, times: list[float], threads: int | None) -> Latency:
        q25, q50, q75 = np.percentile(times, [25, 50, 75])
        out = super().__new__(cls, float(q50))
        out.iqr, out.threads, out.times = float(q75 - q25), threads, tuple(times)
        return out


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[int | None]:
    """Limit BLAS/OpenMP to ``threads`` inside the block (``None``: leave them); yield the count.

    A thread pool larger than the free cores of a shared machine waits for the
    slowest thread at every matrix product: a pass takes one core's time when
    the others are free, and ten times as long when another process holds one.
    One thread is slower but steady, and ranks models the same way every run.
    """
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # a dependency of scikit-learn, so normally present
        yield threads
        return
    if threads is None:
        counts = [i.get("num_threads") for i in threadpool_info() if i.get("user_api") == "blas"]
        yield max(counts) if counts else None
        return
    with threadpool_limits(limits=threads):
        yield threads


def measure_latency(
    model: Module, x: Any, repeats: int = 20, warmup: int = 2, threads: int | None = None
) -> Latency:
    """Median seconds of one ``model.forward(x)`` in eval mode, with its spread.

    Parameters
    ----------
    model : Module
        Any model (also inference-only ones such as ``SparseLinear``).
    x : array
        A batch on the model's backend, e.g. shape ``(256, 64)``.
    repeats : int, default 20
        Timed forward passes; the median is returned.
    warmup : int, default 2
        Untimed passes first (caches, thread pools, allocator).
    threads : int, optional
        Pin the BLAS to this many threads while timing (``threadpoolctl``);
        default: as it is. Use 1 to compare models on a shared machine.

    Returns
    -------
    Latency
        A float, the median wall time in seconds, with ``.iqr`` (seconds),
        ``.threads`` and ``.times``.

    Raises
    ------
    ValueError
        If ``repeats`` or ``threads`` is not a positive int or ``warmup`` not a
        non-negative int.

    Book: §1.3, §3.3.
    """
    repeats = check_positive_int("repeats", repeats)
    warmup = check_nonnegative_int("warmup", warmup)
    if threads is not None:
        threads = check_positive_int("threads", threads)
    xp = get_xp(x)
    was_training = model.training
    model.eval()
    try:
        with blas_threads(threads) as used:
            for _ in range(warmup):
                model.forward(x)
                _synchronize(xp)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model.forward(x)
                _synchronize(xp)
                times.append(time.perf_counter() - t0)
        return Latency(times, used)
    finally:
        model.train(was_training)


def compare_latency(
    models: Mapping[str, Module],
    x: Any,
    repeats: int = 20,
    rounds: int | None = None,
    warmup: int = 1,
) -> dict[str, float]:
    """Median seconds of ``forward(x)`` of several models, timed in interleaved rounds.

    Timing one model after the other lets a slow spell of a shared machine fall
    on a few of them only. Here the models take turns: ``rounds`` times, each
    runs ``warmup`` untimed and ``ceil(repeats / rounds)`` timed passes, so a
    slow spell is shared by all. By default every round times each model
    once, the finest interleaving. Each model runs in eval mode; modes are
    restored afterwards.

    Parameters
    ----------
    models : mapping of str to Module
        The models to compare, all taking ``x``.
    x : array
        One batch.
    repeats : int, default 20
        Timed passes per model in total (rounded up to a multiple of ``rounds``).
    rounds : int, optional
        Default ``repeats``: each round times every model once.
    warmup : int, default 1
        Untimed passes per model at the start of each round.

    Returns
    -------
    dict
        ``{name: median seconds}``.

    Raises
    ------
    ValueError
        If ``models`` is empty, or ``repeats``/``rounds``/``warmup`` are out of range.

    Book: §3.3.
    """
    if not models:
        raise ValueError("models must hold at least one model, got none")
    repeats = check_positive_int("repeats", repeats)
    rounds = repeats if rounds is None else check_positive_int("rounds", rounds)
    warmup = check_nonnegative_int("warmup", warmup)
    xp = get_xp(x)
    per_round = -(-repeats // rounds)
    modes = {name: m.training for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    try:
        for m in models.values():
            m.eval()
        for _ in range(rounds):
            for name, m in models.items():
                for _ in range(warmup):
                    m.forward(x)
                _synchronize(xp)
                for _ in range(per_round):
                    start = time.perf_counter()
                    m.forward(x)
                    _synchronize(xp)
                    times[name].append(time.perf_counter() - start)
    finally:
        for name, m in models.items():
            m.train(modes[name])
    return {name: float(np.median(t)) for name, t in times.items()}


def blas_report() -> list[str]:
    """The BLAS and OpenMP libraries in use, one line each, then the OpenBLAS kernel variables.

    Timings of dense layers are the BLAS's timings, so a benchmark should say which
    one ran: library, version, kernel (the CPU code path OpenBLAS picked) and
    threads, from ``threadpoolctl``. ``OPENBLAS_CORETYPE`` forces OpenBLAS onto
    another kernel (an older one can halve NumPy's GEMM speed) and
    ``OPENBLAS_L2_SIZE`` changes its blocking; both are reported, set or not.

    Examples
    --------
    >>> lines = blas_report()
    >>> lines[-2].startswith("OPENBLAS_CORETYPE=")
    True
    """
    import os

    from threadpoolctl import threadpool_info

    lines = []
    for info in threadpool_info():
        kernel = info.get("architecture") or info.get("corename") or "-"
        lines.append(
            f"{info.get('internal_api')} {info.get('version')} kernel={kernel} "
            f"threads={info.get('num_threads')} ({os.path.basename(info.get('filepath', ''))})"
        )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        lines.append(f"{var}={os.environ.get(var, '(unset)')}")
    if os.environ.get("OPENBLAS_CORETYPE"):
        lines.append(
            "note: OPENBLAS_CORETYPE forces an OpenBLAS kernel; an older one can halve "
            "NumPy's GEMM speed, which moves every ratio"
        )
    return lines


__all__ = [
    "Latency",
    "blas_report",
    "blas_threads",
    "compare_latency",
    "measure_latency",
    "median_time",
]
