r"""Every pruning method on one trained model, the same retraining, measured and timed (§3.3).

Every method starts from a copy of the same trained model and gets the same
short masked retraining; a control row, ``dense + retraining``, gives the
unpruned model the same extra epochs, so that what retraining alone adds is
not credited to pruning. Latency is measured for all models together,
interleaved (:func:`nnprune.metrics.latency.compare_latency`), with dense
kernels and, for the masked models, CSR kernels.

Book: §3.1 (unstructured and structured pruning), §3.2 (criteria as operating
points), §3.3 (comparison; corrected, see docs/errata.md#s3-3).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from threadpoolctl import threadpool_limits

from .. import metrics, nn, optim, prune
from ..data.loader import Splits
from ..metrics.latency import compare_latency
from ..report import format_table
from ..sparse import to_sparse_model
from ..train import evaluate, fit

CONTROL = "dense + retraining"  # the dense model given the same extra epochs, unpruned
STRUCTURED = "L1 units removed"
NOISE = 0.10  # speed-ups within +-10% count as no measurable change


def prune_model(model: nn.Sequential, method: str, point: float, input_shape: tuple) -> None:
    """Apply ``method`` at operating ``point`` (a sparsity, a ``q``, a fraction of units)."""
    weights = list(model.prunable_parameters())  # (name, module, attr, param)
    if method == "global magnitude":
        prune.to_sparsity(model, point, scope="global")
    elif method == "layer-wise magnitude":
        prune.to_sparsity(model, point, scope="layer")
    elif method == "Han q*std":
        for _, module, attr, _ in weights:
            prune.std_threshold_unstructured(module, attr, q=point)
    elif method == STRUCTURED:  # every hidden layer; the output units are the classes
        for name in [t.name.rpartition(".")[0] for t in weights[:-1]]:
            prune.prune_units(model, name, point, criterion="l1", input_shape=input_shape)
    elif method != CONTROL:
        raise ValueError(f"method must be one of the study's methods, got {method!r}")


def label(method: str, value: float | None) -> str:
    """The operating point as printed: ``q=1.5`` for Han's threshold, else a percentage."""
    if value is None:
        return "-"
    return f"q={value:g}" if method.startswith("Han") else f"{value:.0%}"


def size_columns(m: nn.Module, dense: nn.Module, input_shape: tuple) -> dict[str, Any]:
    """Counts of ``m`` and its ratios against ``dense`` (``theory x`` = FLOP ratio)."""
    base_size, base_flops = dense.num_parameters(), metrics.flops(dense, input_shape)[0]
    size, size_nz = metrics.model_size(m)
    fl, fl_nz = metrics.flops(m, input_shape)
    return {
        "sparsity": metrics.model_sparsity(m),
        "removed": 1 - size_nz / base_size,
        "params": size,
        "nonzeros": size_nz,
        "compress": base_size / size_nz,
        "FLOPs": fl,
        "FLOPs nz": fl_nz,
        "theory x": base_flops / fl_nz,
        "bytes dense": metrics.model_bytes(m, "dense"),
        "bytes csr": metrics.model_bytes(m, "csr"),
    }


def time_models(rows: list[dict], models: dict, x, repeats: int) -> None:
    """Add ``ms dense``/``x dense`` (and ``ms csr``/``x csr`` for masked models) to ``rows``."""
    timed = dict(models)
    for key, row in zip(models, rows, strict=True):
        if row["method"] != STRUCTURED:  # a shrunk model has no zeros for CSR to skip
            timed["csr " + key] = to_sparse_model(models[key], mode="sparse")
    with threadpool_limits(1):  # scipy.sparse is single-threaded; BLAS gets the same
        t = compare_latency(timed, x, repeats=repeats)
    for key, row in zip(models, rows, strict=True):
        row["ms dense"], row["x dense"] = 1e3 * t[key], t["dense"] / t[key]
        if "csr " + key in t:
            row["ms csr"], row["x csr"] = 1e3 * t["csr " + key], t["dense"] / t["csr " + key]


def study(
    model: nn.Sequential,
    splits: Splits,
    points: dict[str, tuple],
    *,
    retrain_epochs: int,
    seed: int,
    repeats: int,
    latency_batch: int = 256,
    lr: float = 0.01,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Prune copies of one trained ``model`` with every method in ``points``; measure each.

    Returns ``{"rows": [...], "models": {...}}``: the first row is the dense
    model, the second the control; accuracies are on the *test* split, before
    (``acc pruned``) and after (``acc retrained``) the same masked retraining,
    and ``vs dense`` is the difference after retraining in percentage points.
    ``log`` receives one line per finished run.
    """
    input_shape = splits.train[0].shape[1:]
    loss = nn.CrossEntropyLoss()
    acc = evaluate(model, loss, splits.test)[1]
    rows = [
        {"method": "dense", "point": "-", "value": None, "acc pruned": acc, "acc retrained": acc}
    ]
    models = {"dense": model}
    for method, values in {CONTROL: (None,), **points}.items():
        for value in values:
            pruned = copy.deepcopy(model)
            prune_model(pruned, method, value, input_shape)
            before = evaluate(pruned, loss, splits.test)[1]
            opt = optim.SGD(pruned.parameters(), lr=lr, momentum=0.9)  # shapes may have changed
            fit(
                pruned,
                loss,
                opt,
                splits.train,
                epochs=retrain_epochs,
                batch_size=64,
                seed=seed,
                progress=False,
            )
            after = evaluate(pruned, loss, splits.test)[1]
            point = label(method, value)
            rows.append(
                {
                    "method": method,
                    "point": point,
                    "value": value,
                    "acc pruned": before,
                    "acc retrained": after,
                }
            )
            models[f"{method} {point}"] = pruned
            name = method if value is None else f"{method} {point}"
            log(f"  {name}: test accuracy {before:.2%} -> {after:.2%} retrained")
    for row, m in zip(rows, models.values(), strict=True):
        row.update(size_columns(m, model, input_shape))
        row["vs dense"] = 100 * (row["acc retrained"] - acc)  # points, not percent
    time_models(rows, models, splits.test[0][:latency_batch], repeats)
    return {"rows": rows, "models": models}


def span(values: list[float], fmt: str = "{:.2f}x") -> str:
    """``"lo-hi"`` of ``values`` in ``fmt`` (one value when both ends print the same)."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def speed_verdict(speedups: list[float], noise: float = NOISE) -> str:
    """Whether ``speedups`` are a real speed-up (all, or only the best), a slow-down, or noise.

    Pass the control's own deviation from 1x as ``noise`` (it times the dense
    network against itself), so that no verdict claims more than the timer can tell.
    """
    best, worst = max(speedups), min(speedups)
    if best > 1 + noise:
        return "a real speed-up" if worst > 1 + noise else "a real speed-up at best, not everywhere"
    return "slower than dense" if best < 1 / (1 + noise) else "no speed-up beyond noise"


ACCURACY_COLUMNS = {
    "method": "{}",
    "point": "{}",
    "acc pruned": "{:.2%}",
    "acc retrained": "{:.2%}",
    "vs dense": "{:+.2f} pts",
    "removed": "{:.1%}",
    "compress": "{:.1f}x",
}
SPEED_COLUMNS = {
    "method": "{}",
    "point": "{}",
    "theory x": "{:.1f}x",
    "ms dense": "{:.3f}",
    "x dense": "{:.2f}x",
    "ms csr": "{:.3f}",
    "x csr": "{:.2f}x",
}


def accuracy_table(rows: list[dict], title: str) -> str:
    """Accuracy on the test split before and after retraining, in points against dense."""
    cols = ACCURACY_COLUMNS
    return format_table(rows, list(cols), cols, f"{title}: accuracy on the test split")


def speed_table(rows: list[dict], title: str) -> str:
    """FLOP ratio and measured latency (batch of 256, one thread), dense and CSR kernels."""
    cols = SPEED_COLUMNS
    return format_table(rows, list(cols), cols, f"{title}: FLOPs and latency, batch 256")
