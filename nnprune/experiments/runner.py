r"""Running the grid of a comparison: dense training per seed, then one run per grid point.

A *run* is (method, target sparsity, seed). The runs are independent, so they
run in parallel: on local processes by default, inline with ``workers=1``, or
on a Dask cluster given its scheduler address. Every task fixes its BLAS to
one thread and draws every random choice from its seed, so the rows are
identical whichever way they ran (only the timing fields differ).

1. **Dense phase**, one task per seed: build the model from the seed, train it
   ``train_epochs``; return its initial and trained ``state_dict``.
2. **Grid phase**, one task per run: load the trained dense weights for the
   run's seed, call the method's adapter (prune to the target, retrain) and
   measure the row (accuracy, sparsity, size, FLOPs, bytes, time).
3. **Latency**, in the parent after all runs (parallel workers would disturb
   each other's timings): :func:`measure_latency`, every model and its CSR
   twin taking turns (:func:`nnprune.metrics.latency.compare_latency`).

Book: §3.3 (comparing methods), §1.3 (what to measure).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from .. import metrics, nn, optim
from ..checks import check_positive_int
from ..data.loader import Splits
from ..data.sources import Dataset
from ..metrics.latency import compare_latency
from ..nn.module import Module
from ..sparse import to_sparse_model
from ..train import evaluate, fit
from .config import CompareConfig
from .methods import Adapter, RunContext, get_method

# Fields that depend on the machine's load, not on the computation.
TIMING_FIELDS = ("train_time_s", "latency_ms", "latency_csr_ms")


@dataclass(frozen=True)
class RunSpec:
    """One point of the grid."""

    method: str
    sparsity: float
    seed: int


def plan_runs(config: CompareConfig) -> list[RunSpec]:
    """The grid in a fixed order: seed, then method, then sparsity."""
    return [
        RunSpec(m, s, seed)
        for seed in config.seeds
        for m in config.methods
        for s in config.sparsities
    ]


@functools.lru_cache(maxsize=4)
def _dataset(data: str, model: str, data_seed: int, label_column: str) -> Dataset:
    from .workflow import prepare_data

    return prepare_data(data, model, data_seed, label_column=label_column)


def load_dataset(config: CompareConfig) -> Dataset:
    """The config's data (``data_seed`` split), shaped for the model; loaded once per process."""
    return _dataset(config.dataset, config.model, config.data_seed, config.label_column)


def load_splits(config: CompareConfig) -> Splits:
    """The dataset's train/validation/test split (``data_seed``), shaped for the model."""
    return load_dataset(config).splits


def input_shape(config: CompareConfig) -> tuple[int, ...]:
    """One sample's shape."""
    return load_dataset(config).input_shape


def model_args(config: CompareConfig) -> dict[str, Any]:
    """The architecture's settings: ``hidden``/``channels``/``batchnorm`` for mlp/cnn, else
    ``model_args``."""
    if config.model == "mlp":
        return {"hidden": list(config.hidden), "batchnorm": config.batchnorm, **config.model_args}
    if config.model == "cnn":
        return {
            "channels": list(config.channels),
            "batchnorm": config.batchnorm,
            **config.model_args,
        }
    return dict(config.model_args)


def architecture_of(config: CompareConfig) -> dict[str, Any]:
    """The checkpoint description of the config's model on its data."""
    from .workflow import architecture

    return architecture(config.model, load_dataset(config), model_args(config))


def build_model(config: CompareConfig, seed: int) -> Module:
    """The untrained model for ``seed`` (same seed, same initial weights)."""
    from .workflow import build

    return build(architecture_of(config), seed)


def check_setup(config: CompareConfig) -> None:
    """Load the data and build the first seed's model in this process: any mismatch (or a
    failing import path) is a one-line ``ValueError`` before the workers start."""
    from .workflow import check_fits

    check_fits(
        build_model(config, config.seeds[0]), load_dataset(config), f"model {config.model!r}"
    )


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Limit BLAS/OpenMP to one thread: reproducible sums, and no oversubscription."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency of scikit-learn, so normally present
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _init_worker() -> None:
    """Process-pool initializer: one BLAS thread for the worker's lifetime.

    NumPy's BLAS is already loaded when this runs (importing this module loads
    it), so threadpoolctl limits it; the variables cover libraries loaded later.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)


def train_dense(config: CompareConfig, seed: int) -> dict[str, Any]:
    """Dense phase for one seed: ``{"initial_state", "trained_state", "row"}``."""
    with _one_blas_thread():
        splits = load_splits(config)
        model = build_model(config, seed)
        initial = model.state_dict()
        start = time.perf_counter()
        opt = optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            splits.train,
            epochs=config.train_epochs,
            batch_size=config.batch_size,
            seed=seed,
            progress=False,
        )
        elapsed = time.perf_counter() - start
        _, acc = evaluate(model, nn.CrossEntropyLoss(), splits.test)
        row = measure_row(model, config, "dense", 0.0, seed, float(acc), float(acc), elapsed)
        return {"initial_state": initial, "trained_state": model.state_dict(), "row": row}


def run_one(
    config: CompareConfig,
    spec: RunSpec,
    dense: dict[str, Any],
    adapter: Adapter,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Grid phase for one run: prune the seed's dense model with ``adapter``, retrain, measure.

    The adapter and its settings travel with the task, so methods registered
    in the calling script also run in spawned workers.
    """
    with _one_blas_thread():
        splits = load_splits(config)
        model = build_model(config, spec.seed)
        model.load_state_dict(dense["trained_state"])

        def build() -> Module:
            fresh = build_model(config, spec.seed)
            fresh.load_state_dict(dense["initial_state"])
            return fresh

        ctx = RunContext(
            model=model,
            initial_state=dense["initial_state"],
            build=build,
            splits=splits,
            sparsity=spec.sparsity,
            seed=spec.seed,
            settings=settings,
            input_shape=input_shape(config),
        )
        start = time.perf_counter()
        info = adapter(ctx)
        elapsed = time.perf_counter() - start
        accuracy = ctx.accuracy()
        before = accuracy if ctx.accuracy_before_retrain is None else ctx.accuracy_before_retrain
        row = measure_row(
            ctx.model, config, spec.method, spec.sparsity, spec.seed, accuracy, before, elapsed
        )
        row["info"] = dict(info or {})
        return row


def measure_row(
    model: Module,
    config: CompareConfig,
    method: str,
    target: float,
    seed: int,
    accuracy: float,
    accuracy_before: float,
    elapsed: float,
) -> dict[str, Any]:
    """The measured fields of one run (``state_dict`` included, for the latency pass)."""
    shape = input_shape(config)
    size, size_nz = metrics.model_size(model)
    flops, flops_nz = metrics.flops(model, shape)
    return {
        "method": method,
        "target_sparsity": float(target),
        "achieved_sparsity": float(metrics.model_sparsity(model)),
        "seed": int(seed),
        "accuracy": accuracy,
        "accuracy_before_retrain": accuracy_before,
        "params": size,
        "nonzeros": size_nz,
        "compression_ratio": size / size_nz if size_nz else float("inf"),
        "flops": flops,
        "flops_nz": flops_nz,
        "theoretical_speedup": flops / flops_nz if flops_nz else float("inf"),
        "bytes_dense": metrics.model_bytes(model, "dense"),
        "bytes_sparse": metrics.model_bytes(model, "csr"),  # values + indices + indptr
        "train_time_s": float(elapsed),
        "state_dict": model.state_dict(),
    }


# ------------------------------------------------------------------ executors
def _map_local(
    fn: Callable, args: Sequence[tuple], pool: ProcessPoolExecutor | None, bar: tqdm
) -> list[Any]:
    if pool is None:
        out = []
        for a in args:
            out.append(fn(*a))
            bar.update(1)
        return out
    futures = {pool.submit(fn, *a): i for i, a in enumerate(args)}
    results: list[Any] = [None] * len(args)
    for fut in as_completed(futures):
        results[futures[fut]] = fut.result()
        bar.update(1)
    return results


def _map_dask(fn: Callable, args: Sequence[tuple], client: Any, bar: tqdm) -> list[Any]:
    from dask.distributed import as_completed as dask_completed

    futures = [client.submit(fn, *a, pure=False) for a in args]
    for _ in dask_completed(futures):
        bar.update(1)
    return client.gather(futures)


def _dask_client(address: str) -> Any:
    try:
        from dask.distributed import Client
    except ImportError:
        raise ImportError(
            "a scheduler address needs dask.distributed; install it with "
            "pip install 'nnprune[distributed]'"
        ) from None
    return Client(address)


def _progress_enabled(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def run_grid(
    config: CompareConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Run the dense phase and the grid; return the rows (dense rows first, then the grid's).

    Parameters
    ----------
    config : CompareConfig
    workers : int, optional
        Local processes (default ``config.workers``, else the CPU count); 1 runs inline.
    scheduler : str, optional
        A Dask scheduler address such as ``"tcp://host:8786"``: run the tasks
        on that cluster instead (needs ``nnprune[distributed]`` here and
        nnprune installed on the workers).
    progress : bool or None
        tqdm bar over the runs on stderr; ``None`` shows it on a terminal only.

    Returns
    -------
    list of dict
        One row per dense model and per run, each with its ``state_dict``.
    """
    specs = plan_runs(config)
    workers = workers or config.workers or os.cpu_count() or 1
    check_positive_int("workers", workers)
    check_setup(config)
    bar = tqdm(
        total=len(config.seeds) + len(specs),
        desc="runs",
        unit="run",
        file=sys.stderr,
        disable=not _progress_enabled(progress),
    )
    with contextlib.ExitStack() as stack:
        stack.callback(bar.close)
        if scheduler is not None:
            client = stack.enter_context(_dask_client(scheduler))

            def run_map(fn: Callable, args: Sequence[tuple]) -> list[Any]:
                return _map_dask(fn, args, client, bar)
        else:
            pool = None
            if workers > 1:
                pool = stack.enter_context(
                    ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_init_worker,
                    )
                )

            def run_map(fn: Callable, args: Sequence[tuple]) -> list[Any]:
                return _map_local(fn, args, pool, bar)

        dense = run_map(train_dense, [(config, seed) for seed in config.seeds])
        by_seed = dict(zip(config.seeds, dense, strict=True))
        tasks = [
            (config, s, by_seed[s.seed], get_method(s.method).fn, config.settings(s.method))
            for s in specs
        ]
        rows = run_map(run_one, tasks)
    return [d["row"] for d in dense] + rows


# -------------------------------------------------------------------- latency
def measure_latency(config: CompareConfig, rows: list[dict[str, Any]]) -> None:
    r"""Add ``latency_ms`` (masked dense model) and ``latency_csr_ms`` (CSR layers) to each row.

    Every row's model and its CSR twin (:func:`nnprune.sparse.to_sparse_model`)
    are timed together by :func:`nnprune.metrics.latency.compare_latency` on a
    fixed batch of ``latency_batch`` test samples: ``latency_repeats`` rounds in
    which each model runs one untimed and one timed forward pass, the median
    per model reported. Taking turns spreads a slow spell of a shared machine
    over all models instead of the few timed during it. One BLAS thread, in
    this process. An unstructured mask does not make the dense product faster
    (the zeros are still multiplied); the CSR model skips them but pays for
    index look-ups, so it wins only at high sparsity.
    """
    batch = load_splits(config).test[0][: config.latency_batch]
    models = {}
    for i, row in enumerate(rows):
        model = build_model(config, row["seed"])
        model.load_state_dict(row["state_dict"])
        models[f"{i} dense"] = model.eval()
        models[f"{i} csr"] = to_sparse_model(model, mode="sparse")
    with _one_blas_thread():
        times = compare_latency(models, batch, repeats=config.latency_repeats)
    for i, row in enumerate(rows):
        row["latency_ms"] = 1000 * times[f"{i} dense"]
        row["latency_csr_ms"] = 1000 * times[f"{i} csr"]
