r"""What the ``nnprune`` subcommands do with your data and your model (``nnprune.cli`` parses).

Every command takes the same data argument (a built-in name or a path, see
:func:`nnprune.data.sources.load_dataset`) and reads or writes the same
checkpoint format (:func:`nnprune.io.save_model`: weights, masks and the
architecture), so the output of one command is the input of the next::

    nnprune train --data mnist.npz --model mlp --hidden 300,100 --save m.npz
    nnprune prune m.npz --method global_magnitude --sparsity 0.9 --retrain-epochs 3 \
        --data mnist.npz --save p.npz
    nnprune evaluate p.npz --data mnist.npz --json
    nnprune sensitivity m.npz --data mnist.npz --out runs/sens
    nnprune export p.npz --format onnx --out p.onnx
    nnprune report runs/compare

Book: §1.3 (what to measure), §3.3 (comparing methods), §5.2 (sensitivity), §8.3 (deployment).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import io, metrics, nn, optim, prune
from ._atomic import check_writable_target
from .checks import (
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_sparsity,
)
from .data.sources import Dataset
from .experiments.methods import make_scheduler
from .experiments.workflow import (
    architecture,
    build,
    check_checkpoint_data,
    check_fits,
    prepare_data,
)
from .nn.module import Module
from .train import evaluate as _evaluate
from .train import fit

MOMENTUM = 0.9


def _say(*parts: Any) -> None:
    print(*parts, flush=True)


class EpochPrinter:
    """A :func:`nnprune.train.fit` callback: one line per epoch (loss, accuracy, seconds)."""

    def __init__(self, epochs: int | None, what: str = "epoch") -> None:
        self.epochs, self.what = epochs, what  # epochs None: not known in advance

    def on_epoch_end(self, epoch: int, history: Any) -> None:
        acc = history.accuracy[-1]
        of = "" if self.epochs is None else f"/{self.epochs}"
        line = f"  {self.what} {epoch + 1}{of}: loss {history.loss[-1]:.4f}"
        line += "" if acc is None else f", acc {acc:.2%}"
        if history.val_loss:
            val = history.val_accuracy[-1]
            line += f", val loss {history.val_loss[-1]:.4f}"
            line += "" if val is None else f", val acc {val:.2%}"
        _say(f"{line}, lr {history.lr[-1]:.4g}, {history.epoch_time[-1]:.1f} s")


def train_model(
    model: Module,
    dataset: Dataset,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 64,
    seed: int = 0,
    weight_decay: float = 0.0,
    lr_schedule: str = "none",
    keep_best: bool = False,
    quiet: bool = True,
    what: str = "epoch",
) -> float:
    """SGD with momentum 0.9 for ``epochs``; returns the test accuracy.

    ``weight_decay`` is SGD's L2 term; ``lr_schedule`` one of ``"none"``, ``"cosine"``, ``"step"``;
    ``keep_best`` keeps the weights of the epoch with the lowest validation loss;
    unless ``quiet``, one line per epoch (:class:`EpochPrinter`).
    """
    check_nonnegative("--weight-decay", weight_decay)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=weight_decay)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        dataset.splits.train,
        dataset.splits.val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        scheduler=make_scheduler(opt, lr_schedule, epochs),
        early_stopping=epochs if keep_best else None,  # patience = all: never stops early
        callbacks=() if quiet else [EpochPrinter(epochs, what)],
        progress=False,
    )
    return test_accuracy(model, dataset)


def test_accuracy(model: Module, dataset: Dataset) -> float:
    """Fraction of the test set classified correctly."""
    _, acc = _evaluate(model, nn.CrossEntropyLoss(), dataset.splits.test)
    return float(acc)


def train(
    data: str,
    model: str,
    model_args: dict[str, Any],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    save: str | None,
    label_column: str = "label",
    num_classes: int | None = None,
    weight_decay: float = 0.0,
    lr_schedule: str = "none",
    keep_best: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """``nnprune train``: check data and model against each other, train, report, save.

    One line per epoch unless ``quiet``. The checkpoint records the data (a path
    made absolute), the label column and, for a ``module:function`` builder, the
    builder's file, so that later commands need no ``--data`` and say where the
    builder was when it cannot be imported.
    """
    check_positive_int("--epochs", epochs)
    check_positive("--lr", lr)
    check_positive_int("--batch-size", batch_size)
    if save is not None:  # before any work: a folder, a file in the way, no permission
        check_writable_target(save)
        Path(save).parent.mkdir(parents=True, exist_ok=True)
    dataset = prepare_data(data, model, seed=0, label_column=label_column, num_classes=num_classes)
    _say(dataset.describe())
    arch = architecture(model, dataset, model_args)
    net = build(arch, seed)
    check_fits(net, dataset, f"--model {model!r}")
    start = time.perf_counter()
    acc = train_model(
        net,
        dataset,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        weight_decay=weight_decay,
        lr_schedule=lr_schedule,
        keep_best=keep_best,
        quiet=quiet,
    )
    elapsed = time.perf_counter() - start
    _say(
        f"{model}: {net.num_parameters():,} parameters, {epochs} epoch(s) in {elapsed:.1f} s, "
        f"test accuracy {acc:.2%} ({len(dataset.splits.test[1])} samples)"
    )
    if save:
        meta = {"command": "train", "epochs": epochs, "lr": lr, "seed": seed, "test_accuracy": acc}
        meta.update(data_record(data, label_column, model))
        _say(f"saved to {io.save_model(net, save, arch, meta)}")
    return {"accuracy": acc, "model": net}


def data_record(data: str, label_column: str, model: str) -> dict[str, Any]:
    """What a checkpoint remembers of its data and builder (``data``, ``label_column``,
    ``builder_file``); the builder's file is found without importing it."""
    import importlib.util

    from .architectures import is_import_path

    path = Path(data)
    out: dict[str, Any] = {
        "data": str(path.resolve()) if path.exists() else str(data),
        "label_column": label_column,
    }
    if is_import_path(model):
        module = model.partition(":")[0]
        try:
            spec = importlib.util.find_spec(module) if "." not in module else None
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            out["builder_file"] = str(Path(spec.origin).resolve())
    return out


def _checkpoint_header(path: str) -> dict[str, Any]:
    """The checkpoint's metadata, read without building the model ({} if unreadable)."""
    try:
        return io.load_state(path)[1].get("metadata", {})
    except (ValueError, OSError):
        return {}


def _load(
    path: str, data: str | None, label_column: str | None, builder: str | None = None
) -> tuple[Module, dict, Dataset]:
    """Load a checkpoint and its data: ``data``/``label_column`` default to what it records.

    ``builder``: the ``module:function`` the checkpoint records, named again by the user
    (``--model``), without which it is not imported. The checkpoint's preprocessing and
    number of classes are applied to the data.
    """
    try:
        model, header = io.load_checkpoint(path, model=builder)
    except ValueError as exc:
        where = _checkpoint_header(path).get("builder_file")
        if where and "cannot import module" in str(exc):
            raise ValueError(
                f"{exc}; the checkpoint was built by {where}: run nnprune in "
                f"{str(Path(where).parent)!r} or add that folder to PYTHONPATH"
            ) from None
        raise
    meta = header["metadata"]
    arch = meta["architecture"]
    if data is None:
        data = meta.get("data")
        if data is None:
            raise ValueError(
                f"checkpoint {str(path)!r} does not record its data (saved before nnprune "
                "recorded it); give --data"
            )
        print(f"data from the checkpoint: {data} (--data to change)", file=sys.stderr)
    if label_column is None:
        label_column = meta.get("label_column", "label")
    dataset = prepare_data(
        data,
        arch["model"],
        seed=0,
        label_column=label_column,
        preprocess=arch.get("preprocess"),
        num_classes=arch.get("num_classes"),
    )
    check_checkpoint_data(arch, dataset, str(path))
    check_fits(model, dataset, f"checkpoint {str(path)!r}")
    return model, header, dataset


def _carried(meta: dict[str, Any]) -> dict[str, Any]:
    """The data record of a source checkpoint, carried into the one derived from it."""
    return {k: meta[k] for k in ("data", "label_column", "builder_file") if k in meta}


def original_size(header: dict[str, Any]) -> dict[str, int]:
    """Parameters and prunable weights of the model before any pruning: recorded by
    ``prune``, else counted on a fresh build of the checkpoint's architecture."""
    from .experiments.workflow import build as build_arch

    meta = header["metadata"]
    if "original_size" in meta:
        return {k: int(v) for k, v in meta["original_size"].items()}
    return metrics.original_size(build_arch(meta["architecture"], int(meta.get("seed", 0))))


def prune_checkpoint(
    path: str,
    data: str | None,
    *,
    method: str,
    sparsity: float,
    retrain_epochs: int,
    lr: float | None,
    batch_size: int,
    seed: int,
    save: str | None,
    log: str | None = None,
    label_column: str | None = None,
    criterion: str | None = None,
    layer_sparsities: dict[str, float] | None = None,
    quiet: bool = False,
    builder: str | None = None,
) -> dict[str, Any]:
    """``nnprune prune``: one registered method of the harness on a saved model.

    The method prunes to ``sparsity`` (fraction of zero prunable weights; for
    ``channels`` the fraction of each convolution's output channels removed) and
    retrains ``retrain_epochs`` at ``lr`` (default: a tenth of the rate the
    checkpoint was trained at, as Han et al. 2015 retrain); every decision goes
    to a JSON pruning log. ``criterion`` is the ``channels`` score;
    ``layer_sparsities`` (``{layer: fraction}``) gives named layers their own
    target (``channels``, ``layer_magnitude``, ``global_magnitude``). For the
    structured methods (:data:`~nnprune.experiments.methods_channels.SHRINKS`)
    the units they masked are then removed physically, exactly as ``compare``
    does, so the saved model is smaller.
    """
    from .experiments.methods import RunContext, get_method
    from .experiments.methods_channels import shrink_structured
    from .experiments.workflow import build as build_arch

    spec = get_method(method)
    check_sparsity("--sparsity", sparsity)
    check_nonnegative_int("--retrain-epochs", retrain_epochs)
    if lr is not None:
        check_positive("--retrain-lr", lr)
    check_positive_int("--batch-size", batch_size)
    own = dict(spec.defaults)
    for key, value in (("criterion", criterion), ("layer_sparsities", layer_sparsities)):
        if value is None:
            continue
        if key not in own:
            takes = (
                "channels"
                if key == "criterion"
                else ("channels, layer_magnitude or global_magnitude")
            )
            raise ValueError(
                f"{flag_name(key)} is a setting of --method {takes}, not of {method!r}"
            )
        check = spec.checks.get(key)
        own[key] = check(flag_name(key), value) if check else value
    if save is not None:  # before any work: a folder, a file in the way, no permission
        check_writable_target(save)
        Path(save).parent.mkdir(parents=True, exist_ok=True)
    model, header, dataset = _load(path, data, label_column, builder)
    meta_in = header["metadata"]
    arch = meta_in["architecture"]
    _say(dataset.describe())
    if spec.requires_batchnorm and not any(
        isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules()
    ):
        raise ValueError(
            f"--method {method!r} needs a model with BatchNorm layers; {path!r} has none"
        )
    if lr is None:
        lr = float(meta_in.get("lr", 0.05)) / 10
    original = original_size(header)
    train_seed = int(meta_in.get("seed", seed))
    initial = build_arch(arch, train_seed)

    def fresh() -> Module:
        out = build_arch(arch, train_seed)
        out.load_state_dict(initial.state_dict())
        return out

    settings = {
        "train_epochs": int(meta_in.get("epochs", retrain_epochs)),
        "retrain_epochs": retrain_epochs,
        "lr": lr,
        "momentum": MOMENTUM,
        "batch_size": batch_size,
        "method": own,
    }
    ctx = RunContext(
        model=model,
        initial_state=initial.state_dict(),
        build=fresh,
        splits=dataset.splits,
        sparsity=float(sparsity),
        seed=seed,
        settings=settings,
        input_shape=dataset.input_shape,
        callbacks=() if quiet else (EpochPrinter(None, "retraining epoch"),),
    )
    before = test_accuracy(model, dataset)
    if method == "channels":
        _say(
            f"channels: removing {sparsity:.0%} of the output channels of every convolution "
            f"(criterion {own['criterion']});\n  --sparsity counts channels here, not weights"
        )
    start = time.perf_counter()
    with prune.PruningLog(model) as plog:
        info = spec.fn(ctx) or {}
        model = ctx.model
        plog.model = model
        params_masked = model.num_parameters()
        removed = shrink_structured(method, model, dataset.input_shape)
    elapsed = time.perf_counter() - start
    acc = test_accuracy(model, dataset)
    rows = metrics.layer_table(model, dataset.input_shape)
    _say(metrics.format_table(rows))
    after_prune = ctx.accuracy_before_retrain
    size = metrics.size_report(model, original)
    target = "channel fraction" if method == "channels" else "weight sparsity"
    _say(
        f"{method} to {target} {sparsity}: test accuracy {before:.2%} dense -> "
        + (f"{after_prune:.2%} pruned -> " if after_prune is not None else "")
        + f"{acc:.2%}\n  after {retrain_epochs} retraining epoch(s) at lr {lr:g} ({elapsed:.1f} s)"
    )
    if removed:
        units = sum(len(r.removed) for r in removed)
        _say(
            f"physically removed {units} unit(s) whose outputs only met zero weights: "
            f"{params_masked:,} -> {model.num_parameters():,} parameters"
        )
    _say(metrics.format_size(size))
    meta = {
        "command": "prune",
        "source": str(path),
        "method": method,
        "sparsity": float(sparsity),
        "method_settings": _jsonable(own),
        "achieved_sparsity": size["weight_sparsity"],
        "original_size": original,
        "retrain_epochs": retrain_epochs,
        "lr": lr,
        "seed": train_seed,
        "test_accuracy_dense": before,
        "test_accuracy_before_retrain": after_prune,
        "test_accuracy": acc,
        "info": _jsonable(info),
        **_carried(meta_in),
    }
    if save:
        _say(f"saved to {io.save_model(model, save, arch, meta)}")
        log = log or str(Path(save).with_suffix("")) + ".log.json"
    else:
        print(
            "nnprune: warning: no --save given, the pruned model is not kept "
            "(add --save PATH to keep it)",
            file=sys.stderr,
        )
    if log:
        from .report import write_json

        records = list(plog.records) + [
            {"function": "remove_dead_units", "layer": r.layer, "removed": list(r.removed),
             "params_before": r.params_before, "params_after": r.params_after}
            for r in removed
        ]  # fmt: skip
        write_json(log, {"run": meta, "records": records})
        _say(f"pruning log: {log} ({len(records)} decisions)")
    return {"accuracy": acc, "model": model, "log": plog.records, "size": size}


def flag_name(key: str) -> str:
    """``layer_sparsities`` -> ``--layer-sparsities``."""
    return "--" + key.replace("_", "-")


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def measure(
    model: Module,
    dataset: Dataset,
    *,
    latency_batch: int = 64,
    repeats: int = 20,
    threads: int | None = 1,
    original: dict[str, int] | None = None,
) -> dict:
    """The ``evaluate`` numbers of ``model`` on the test set (see :func:`evaluate_checkpoint`)."""
    from .metrics.latency import measure_latency

    size = metrics.size_report(model, original)
    flops, flops_nz = metrics.flops(model, dataset.input_shape)
    batch = dataset.splits.test[0][:latency_batch]
    latency = measure_latency(model.eval(), batch, repeats=repeats, warmup=3, threads=threads)
    return {
        "accuracy": test_accuracy(model, dataset),
        "sparsity": size["weight_sparsity"],  # the documented alias of weight_sparsity
        **size,
        "flops": int(flops_nz),
        "latency_ms": 1000 * latency,
        "latency_iqr_ms": 1000 * latency.iqr,
        "latency_batch": int(len(batch)),
        "threads": latency.threads,
        "_flops_dense": int(flops),
    }


def evaluate_checkpoint(
    path: str,
    data: str | None,
    *,
    as_json: bool = False,
    label_column: str | None = None,
    threads: int | None = 1,
    builder: str | None = None,
) -> dict[str, Any]:
    """``nnprune evaluate``: accuracy, size, FLOPs, bytes and latency of a checkpoint.

    ``accuracy`` is the fraction of the test set classified correctly;
    ``parameters_original`` counts every parameter of the model before pruning
    (recorded by ``prune``), ``parameters`` those left, ``nonzeros`` the non-zero
    ones; ``weight_sparsity`` is the fraction of zero prunable weights
    (``sparsity``, its alias, is kept for older scripts); ``compression`` is
    ``parameters_original / nonzeros``; ``flops`` counts the floating-point
    operations of one sample's forward pass that multiply a non-zero weight
    (:func:`nnprune.metrics.flops`, second value); ``bytes_dense``,
    ``bytes_sparse`` (every prunable weight in CSR: values and indices) and
    ``bytes_nonzeros_32bit`` (non-zeros x 4 bytes, no indices: the figure many
    courses quote); ``latency_ms`` the median time of one forward pass of a batch
    of 64 test samples (masked zeros are still multiplied), ``latency_iqr_ms``
    its interquartile range over 20 passes, ``threads`` the BLAS threads used
    (``threads``: 1 by default, ``None`` for the BLAS's own setting).
    """
    model, header, dataset = _load(path, data, label_column, builder)
    result = measure(model, dataset, threads=threads, original=original_size(header))
    dense_flops = result.pop("_flops_dense")
    if as_json:
        print(json.dumps(result))
    else:
        _say(dataset.describe())
        _say(
            f"{path}: test accuracy {result['accuracy']:.2%}; "
            f"FLOPs {dense_flops:,} dense / {result['flops']:,} non-zero;\n"
            f"latency {result['latency_ms']:.3f} ms (IQR {result['latency_iqr_ms']:.3f} ms, "
            f"{result['threads']} BLAS thread(s)) per batch of {result['latency_batch']}"
        )
        _say(metrics.format_size(result))
    return result


def sensitivity(
    path: str,
    data: str | None,
    *,
    sparsities: list[float],
    out: str,
    label_column: str | None = None,
    builder: str | None = None,
) -> dict[str, Path]:
    """``nnprune sensitivity``: validation accuracy with one layer pruned at a time (CSV + plot)."""
    from .pipeline.sensitivity import plot_sensitivity, sensitivity_analysis, write_csv
    from .report import use_agg

    check_writable_target(Path(out) / "sensitivity.csv")
    model, _, dataset = _load(path, data, label_column, builder)
    _say(dataset.describe())
    rows = sensitivity_analysis(model, dataset.splits, sparsities)
    dense = dense_baseline(model, dataset)
    use_agg()
    title = f"Per-layer sensitivity of {Path(path).name}, one-shot, no retraining"
    paths = {
        "csv": write_csv([dense, *rows], Path(out) / "sensitivity.csv"),
        "plot": plot_sensitivity(rows, out, dense=dense["accuracy"], title=title),
    }
    _say(f"  {'(dense)':<16} {dense['accuracy']:.3f} (validation accuracy, no layer pruned)")
    for layer in dict.fromkeys(r["layer"] for r in rows):
        accs = " ".join(
            f"{r['sparsity']:.2f}:{r['accuracy']:.3f}" for r in rows if r["layer"] == layer
        )
        _say(f"  {layer:<16} {accs}")
    for p in paths.values():
        _say(f"wrote {p}")
    return paths


def dense_baseline(model: Module, dataset: Dataset) -> dict[str, Any]:
    """The unpruned model's row of a sensitivity table: layer ``"(dense)"``, sparsity 0."""
    from .pipeline.sensitivity import _total_pruned

    loss, acc = _evaluate(model, nn.CrossEntropyLoss(), dataset.splits.val)
    return {
        "layer": "(dense)",
        "sparsity": 0.0,
        "accuracy": float(acc),
        "loss": float(loss),
        "pruned": 0,
        "model_pruned": _total_pruned(model),
    }


def export(path: str, *, format: str, out: str, builder: str | None = None) -> Path:
    """``nnprune export``: the checkpoint as a CSR ``.npz`` or an ONNX file."""
    check_writable_target(out)
    model, header = io.load_checkpoint(path, model=builder)
    arch = header["metadata"]["architecture"]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if format == "csr":
        from .sparse import save_sparse

        save_sparse(model, out, "csr")
    elif format == "onnx":
        from .export.onnx_export import export_onnx

        export_onnx(model, tuple(arch["input_shape"]), out, preprocess=arch.get("preprocess"))
    else:
        raise ValueError(f"--format must be 'csr' or 'onnx', got {format!r}")
    size = os.path.getsize(out)
    _say(f"wrote {out} ({format}, {size:,} bytes)")
    return Path(out)
