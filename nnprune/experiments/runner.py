r"""Running the grid of a comparison: dense training per seed, then one run per grid point.

A *run* is (method, target sparsity, seed). The runs are independent, so they
run in parallel: on local processes by default, inline with ``workers=1``, or
on a Dask cluster given its scheduler address. Every task fixes its BLAS to
one thread and draws every random choice from its seed, so the rows are
identical whichever way they ran (only the timing fields differ).

1. **Dense phase**, one task per seed: build the model from the seed, train it
   ``train_epochs``; return its initial and trained ``state_dict``. As soon as a
   seed's dense model is ready, its runs are submitted.
2. **Grid phase**, one task per run: load the trained dense weights for the
   run's seed, call the method's adapter (prune to the target, retrain) and
   measure the row (accuracy, sparsity, size, FLOPs, bytes, time).
3. **Latency**, at the end of every task, in the process that ran it:
   the model and its CSR twin take turns
   (:func:`nnprune.metrics.latency.compare_latency`), one BLAS thread. With
   several workers the runs share the CPU, so absolute times are noisier than
   with ``workers=1``; the dense/CSR ratio of a run is measured side by side.

**Failures.** Each result reaches the caller as it arrives (``on_result``),
so nothing finished is lost. A run that raises becomes a *failure record*
``{"method", "target_sparsity", "seed", "error"}`` and the others go on; a
failed dense model fails the runs of its seed. Local workers are processes
this module starts and watches itself: a worker that dies (killed, out of
memory) fails only the run it held, a new worker takes its place, and every
other run finishes. Workers die with the parent: each watches its parent
process (and on Linux asks the kernel for SIGKILL when the parent dies), and
the parent terminates them on any error or interruption.

**Trust.** With a Dask scheduler the results come back from the cluster
*pickled*: unpickling runs whatever the cluster sends, so use only a cluster
you trust (your own machines).

Book: §3.3 (comparing methods), §1.3 (what to measure).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from .. import metrics, nn, optim
from ..checks import check_positive_int
from ..data.loader import Splits
from ..data.sources import Dataset
from ..metrics.latency import compare_latency
from ..nn.module import Module
from ..sparse import to_sparse_model
from ..train import evaluate, fit
from .config import CompareConfig
from .methods import Adapter, RunContext, get_method, make_scheduler
from .methods_channels import shrink_structured

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

    model = build_model(config, config.seeds[0])
    check_fits(model, load_dataset(config), f"model {config.model!r}")
    has_bn = any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules())
    for method in config.methods:  # the model is looked at, not a flag
        if get_method(method).requires_batchnorm and not has_bn:
            raise ValueError(
                f"method {method!r} needs a model with BatchNorm layers; model "
                f"{config.model!r} has none"
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
    with contextlib.suppress(ImportError):
        from tqdm import tqdm

        # tqdm's default lock is a multiprocessing semaphore, made at the first (even
        # disabled) bar; a worker killed mid-run leaves it to the resource tracker, which
        # warns of "leaked semaphore objects" at exit. Workers draw no bars: a thread lock.
        tqdm.set_lock(threading.RLock())


def train_dense(config: CompareConfig, seed: int) -> dict[str, Any]:
    """Dense phase for one seed: ``{"initial_state", "trained_state", "row"}``."""
    with _one_blas_thread():
        splits = load_splits(config)
        model = build_model(config, seed)
        initial = model.state_dict()
        start = time.perf_counter()
        opt = optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            splits.train,
            epochs=config.train_epochs,
            batch_size=config.batch_size,
            seed=seed,
            scheduler=make_scheduler(opt, config.lr_schedule, config.train_epochs),
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
        shrink_structured(spec.method, ctx.model, ctx.input_shape)  # as `nnprune prune` does
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
    original = _original(config, seed)  # a physically shrunk model is measured against these
    size = metrics.size_report(model, original["size"])
    flops, flops_nz = metrics.flops(model, shape)
    return {
        "method": method,
        "target_sparsity": float(target),
        "achieved_sparsity": size["weight_sparsity"],  # zero or removed, of the original weights
        "seed": int(seed),
        "accuracy": accuracy,
        "accuracy_before_retrain": accuracy_before,
        "params_original": size["parameters_original"],
        "params": size["parameters"],
        "nonzeros": size["nonzeros"],
        "nonzero_weights": size["nonzero_weights"],
        "compression_ratio": size["compression"],
        "flops_original": original["flops"],
        "flops": flops,
        "flops_nz": flops_nz,
        "theoretical_speedup": original["flops"] / flops_nz if flops_nz else float("inf"),
        "bytes_dense": size["bytes_dense"],
        "bytes_sparse": size["bytes_sparse"],  # values + indices + indptr
        "bytes_nonzeros_32bit": size["bytes_nonzeros_32bit"],  # non-zeros x 32 bit, no indices
        "train_time_s": float(elapsed),
        "state_dict": model.state_dict(),
    }


def _latency(config: CompareConfig, model: Module) -> tuple[float, float]:
    """Median ms of ``model`` and its CSR twin on ``latency_batch`` test samples, taking turns."""
    batch = load_splits(config).test[0][: config.latency_batch]
    models = {"dense": model.eval(), "csr": to_sparse_model(model, mode="sparse")}
    with _one_blas_thread():
        times = compare_latency(models, batch, repeats=config.latency_repeats)
    return 1000 * times["dense"], 1000 * times["csr"]


_ORIGINAL: dict[tuple[str, int], dict[str, Any]] = {}


def _original(config: CompareConfig, seed: int) -> dict[str, Any]:
    """Parameters and FLOPs of the unpruned model of ``seed`` (the sizes compression divides)."""
    from .config import config_hash

    key = (config_hash(config), int(seed))
    if key not in _ORIGINAL:
        model = build_model(config, seed)
        flops = metrics.flops(model, input_shape(config))[0]
        _ORIGINAL[key] = {"size": metrics.original_size(model), "flops": flops}
    return _ORIGINAL[key]


def rebuild(config: CompareConfig, seed: int, state: dict[str, Any]) -> Module:
    """The model of a row: built from the config, resized to ``state`` (units removed), loaded."""
    from ..io import _resize

    model = build_model(config, seed)
    _resize(model, {k: list(getattr(v, "shape", ())) for k, v in state.items()})
    model.load_state_dict(state)
    return model


def _with_latency(config: CompareConfig, row: dict[str, Any]) -> dict[str, Any]:
    model = rebuild(config, row["seed"], row["state_dict"])
    row["latency_ms"], row["latency_csr_ms"] = _latency(config, model)
    return row


def dense_task(config: CompareConfig, seed: int) -> dict[str, Any]:
    """:func:`train_dense` with the dense row's latency measured (what a worker runs)."""
    dense = train_dense(config, seed)
    _with_latency(config, dense["row"])
    return dense


def run_task(
    config: CompareConfig,
    spec: RunSpec,
    dense: dict[str, Any],
    adapter: Adapter,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """:func:`run_one` with the row's latency measured (what a worker runs)."""
    return _with_latency(config, run_one(config, spec, dense, adapter, settings))


def _describe(exc: BaseException) -> str:
    """One line: the exception's type and message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "it stopped responding"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}"


# ------------------------------------------------------------------ workers
def _die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` ends: SIGKILL from the kernel (Linux), else polling."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="nnprune-parent-watch", daemon=True).start()


def _worker_main(conn: Any, parent: int) -> None:
    """A local worker: receive ``(task_id, fn, args)``, send ``(task_id, ok, result or error)``."""
    _die_with_parent(parent)
    _init_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, fn, args = message
        try:
            reply = (task_id, True, fn(*args))
        except Exception as exc:  # the run failed: report it, stay alive for the next
            reply = (task_id, False, _describe(exc))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # the result could not be pickled
            conn.send((task_id, False, f"the result could not be sent back: {_describe(exc)}"))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, os.getpid()), name="nnprune-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.task: Any = None

    def stop(self, kill: bool) -> None:
        if not kill:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        with contextlib.suppress(OSError):
            self.conn.close()


class _Inline:
    """Runs each task in this process when its result is asked for."""

    def __init__(self) -> None:
        self.queue: deque = deque()

    def submit(self, task_id: Any, fn: Callable, args: tuple) -> None:
        self.queue.append((task_id, fn, args))

    def next_result(self) -> tuple[Any, bool, Any]:
        task_id, fn, args = self.queue.popleft()
        try:
            return task_id, True, fn(*args)
        except Exception as exc:
            return task_id, False, _describe(exc)

    def close(self, kill: bool = False) -> None:
        self.queue.clear()


class _LocalPool:
    """Spawned worker processes, each holding at most one task, watched one by one.

    Unlike ``ProcessPoolExecutor`` (which breaks as a whole when one worker
    dies), a dead worker fails only the task it held; a new one replaces it.
    """

    def __init__(self, workers: int) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.size = workers
        self.queue: deque = deque()
        self.workers: list[_Worker] = []
        self.results: deque = deque()
        self.deaths_idle = 0

    def submit(self, task_id: Any, fn: Callable, args: tuple) -> None:
        self.queue.append((task_id, fn, args))
        self._dispatch()

    def _dispatch(self) -> None:
        while self.queue:
            worker = next((w for w in self.workers if w.task is None), None)
            if worker is None:
                if len(self.workers) >= self.size:
                    return
                worker = _Worker(self.ctx)
                self.workers.append(worker)
            task_id, fn, args = self.queue.popleft()
            try:
                worker.conn.send((task_id, fn, args))
            except (BrokenPipeError, ConnectionError, EOFError):  # died while idle
                self._remove(worker)
                self.deaths_idle += 1
                if self.deaths_idle > 3 * self.size:
                    self.results.append((task_id, False, "worker processes keep dying at start"))
                else:
                    self.queue.appendleft((task_id, fn, args))
                continue
            except Exception as exc:  # the task could not be pickled
                self.results.append((task_id, False, f"cannot send the task: {_describe(exc)}"))
                continue
            worker.task = task_id

    def _remove(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.stop(kill=True)

    def next_result(self) -> tuple[Any, bool, Any]:
        while not self.results:
            busy = [w for w in self.workers if w.task is not None]
            if not busy:
                raise RuntimeError("no task is running")  # a bug: nothing to wait for
            waitables = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(multiprocessing.connection.wait(waitables))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._collect(worker)
            self._dispatch()
        return self.results.popleft()

    def _collect(self, worker: _Worker) -> None:
        try:
            if worker.conn.poll():
                task_id, ok, value = worker.conn.recv()
                worker.task = None
                self.results.append((task_id, ok, value))
                return
        except (EOFError, OSError):
            pass
        except Exception as exc:  # a result that does not unpickle
            self.results.append((worker.task, False, f"unreadable result: {_describe(exc)}"))
            worker.task = None
            return
        if worker.process.is_alive():
            return
        task_id = worker.task
        code = worker.process.exitcode
        self._remove(worker)
        self.results.append(
            (task_id, False, f"the worker process running it died ({_exit_reason(code)})")
        )

    def close(self, kill: bool = False) -> None:
        self.queue.clear()
        for worker in self.workers:
            worker.stop(kill=kill)
        self.workers.clear()


class _DaskPool:
    """Tasks on a Dask cluster; results come back pickled (trusted clusters only)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.futures: dict[Any, Any] = {}

    def submit(self, task_id: Any, fn: Callable, args: tuple) -> None:
        self.futures[self.client.submit(fn, *args, pure=False)] = task_id

    def next_result(self) -> tuple[Any, bool, Any]:
        from dask.distributed import wait

        done = wait(list(self.futures), return_when="FIRST_COMPLETED").done
        future = next(iter(done))
        task_id = self.futures.pop(future)
        try:
            return task_id, True, future.result()
        except Exception as exc:  # includes KilledWorker
            return task_id, False, _describe(exc)

    def close(self, kill: bool = False) -> None:
        if kill and self.futures:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.futures))
        self.futures.clear()


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


def run_key(row: dict[str, Any]) -> tuple[str, float, int]:
    """``(method, target_sparsity, seed)`` of a row or failure record (dense: sparsity 0)."""
    return (str(row["method"]), float(row["target_sparsity"]), int(row["seed"]))


def failure(method: str, sparsity: float, seed: int, error: str) -> dict[str, Any]:
    """The record of a run that failed."""
    return {"method": method, "target_sparsity": float(sparsity), "seed": int(seed), "error": error}


def run_grid(
    config: CompareConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    done: Collection[tuple[str, float, int]] = (),
    on_result: Callable[[dict[str, Any]], None] | None = None,
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
        nnprune installed on the workers). Results are unpickled from the
        cluster: use only a cluster you trust.
    progress : bool or None
        tqdm bar over the runs on stderr; ``None`` shows it on a terminal only.
    done : collection of (method, target_sparsity, seed)
        Runs (and ``("dense", 0.0, seed)`` rows) already recorded: skipped. A
        seed's dense model is still trained when some of its runs remain.
    on_result : callable, optional
        Called in this process with every row or failure record as it
        arrives (to write it at once).

    Returns
    -------
    list of dict
        The rows and failure records of this call in plan order: a row per
        dense model and per run, each with its ``state_dict`` and latency; a
        failure record (:func:`failure`: ``method``, ``target_sparsity``,
        ``seed``, ``error``) per run that failed.
    """
    specs = plan_runs(config)
    workers = workers or config.workers or os.cpu_count() or 1
    check_positive_int("workers", workers)
    check_setup(config)
    done = {(str(m), float(s), int(seed)) for m, s, seed in done}
    todo = [s for s in specs if (s.method, s.sparsity, s.seed) not in done]
    seeds = [
        seed
        for seed in config.seeds
        if ("dense", 0.0, seed) not in done or any(s.seed == seed for s in todo)
    ]
    from tqdm import tqdm  # here: it is a tenth of `import nnprune`'s time

    bar = tqdm(
        total=len(seeds) + len(todo),
        desc="runs",
        unit="run",
        file=sys.stderr,
        disable=not _progress_enabled(progress),
    )
    results: dict[tuple[str, float, int], dict[str, Any]] = {}

    def emit(record: dict[str, Any]) -> None:
        results[run_key(record)] = record
        bar.update(1)
        if on_result is not None:
            on_result(record)

    pool: Any = None
    finished = False
    try:
        if scheduler is not None:
            client = _dask_client(scheduler)
            pool = _DaskPool(client)
        else:
            pool = _Inline() if workers == 1 else _LocalPool(min(workers, len(seeds) + len(todo)))
        for seed in seeds:
            pool.submit(("dense", seed), dense_task, (config, seed))
        outstanding = len(seeds)
        while outstanding:
            (kind, what), ok, value = pool.next_result()
            outstanding -= 1
            if kind == "run":
                emit(value if ok else failure(what.method, what.sparsity, what.seed, value))
                continue
            runs = [s for s in todo if s.seed == what]
            if not ok:
                if ("dense", 0.0, what) not in done:
                    emit(failure("dense", 0.0, what, value))
                for s in runs:
                    emit(failure(s.method, s.sparsity, s.seed, f"dense model failed: {value}"))
                continue
            if ("dense", 0.0, what) not in done:
                emit(value["row"])
            for s in runs:
                task = (config, s, value, get_method(s.method).fn, config.settings(s.method))
                pool.submit(("run", s), run_task, task)
                outstanding += 1
        finished = True
    finally:
        if pool is not None:
            pool.close(kill=not finished)
            if scheduler is not None:
                with contextlib.suppress(Exception):
                    client.close()
        bar.close()
    order = [("dense", 0.0, seed) for seed in config.seeds] + [
        (s.method, s.sparsity, s.seed) for s in specs
    ]
    return [results[k] for k in order if k in results]


# -------------------------------------------------------------------- latency
def measure_latency(config: CompareConfig, rows: list[dict[str, Any]]) -> None:
    r"""Add ``latency_ms`` (masked dense model) and ``latency_csr_ms`` (CSR layers) to each row.

    :func:`run_grid` already measures every row as its run finishes; this
    re-measures rows (each with its ``state_dict``) in this process. Every
    row's model and its CSR twin (:func:`nnprune.sparse.to_sparse_model`) are
    timed together by :func:`nnprune.metrics.latency.compare_latency` on a
    fixed batch of ``latency_batch`` test samples: ``latency_repeats`` rounds in
    which each model runs one untimed and one timed forward pass, the median
    per model reported. One BLAS thread. An unstructured mask does not make the
    dense product faster (the zeros are still multiplied); the CSR model skips
    them but pays for index look-ups, so it wins only at high sparsity.
    """
    for row in rows:
        _with_latency(config, row)
