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
import time
from pathlib import Path
from typing import Any

from . import io, metrics, nn, optim, prune
from ._atomic import check_writable_target
from .checks import check_nonnegative_int, check_positive, check_positive_int, check_sparsity
from .data.sources import Dataset
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


def train_model(
    model: Module,
    dataset: Dataset,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 64,
    seed: int = 0,
) -> float:
    """SGD with momentum 0.9 for ``epochs``; returns the test accuracy."""
    opt = optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        dataset.splits.train,
        dataset.splits.val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
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
) -> dict[str, Any]:
    """``nnprune train``: check data and model against each other, train, report, save."""
    check_positive_int("--epochs", epochs)
    check_positive("--lr", lr)
    check_positive_int("--batch-size", batch_size)
    if save is not None:  # before any work: a folder, a file in the way, no permission
        check_writable_target(save)
        Path(save).parent.mkdir(parents=True, exist_ok=True)
    dataset = prepare_data(
        data, model, seed=0, label_column=label_column, num_classes=num_classes
    )
    _say(dataset.describe())
    arch = architecture(model, dataset, model_args)
    net = build(arch, seed)
    check_fits(net, dataset, f"--model {model!r}")
    start = time.perf_counter()
    acc = train_model(net, dataset, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    elapsed = time.perf_counter() - start
    _say(
        f"{model}: {net.num_parameters():,} parameters, {epochs} epoch(s) in {elapsed:.1f} s, "
        f"test accuracy {acc:.2%} ({len(dataset.splits.test[1])} samples)"
    )
    if save:
        meta = {"command": "train", "epochs": epochs, "lr": lr, "seed": seed, "test_accuracy": acc}
        _say(f"saved to {io.save_model(net, save, arch, meta)}")
    return {"accuracy": acc, "model": net}


def _load(
    path: str, data: str, label_column: str, builder: str | None = None
) -> tuple[Module, dict, Dataset]:
    model, header = io.load_checkpoint(path, model=builder)
    arch = header["metadata"]["architecture"]
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


# methods that mask whole units: their saved model is physically shrunk
STRUCTURED = ("gsap", "slimming")


def prune_checkpoint(
    path: str,
    data: str,
    *,
    method: str,
    sparsity: float,
    retrain_epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    save: str | None,
    log: str | None = None,
    label_column: str = "label",
    builder: str | None = None,
) -> dict[str, Any]:
    """``nnprune prune``: one registered method of the harness on a saved model.

    The method prunes to ``sparsity`` (fraction of zero prunable weights) and
    retrains ``retrain_epochs`` (its adapter decides how, as in ``compare``);
    every decision goes to a JSON pruning log. For structured methods
    (:data:`STRUCTURED`) the units they masked are then removed physically
    (:func:`nnprune.prune.remove_dead_units`, exact), so the saved model is smaller.
    """
    from .experiments.methods import RunContext, get_method
    from .experiments.workflow import build as build_arch

    spec = get_method(method)
    check_sparsity("--sparsity", sparsity)
    check_nonnegative_int("--retrain-epochs", retrain_epochs)
    check_positive("--lr", lr)
    check_positive_int("--batch-size", batch_size)
    if save is not None:  # before any work: a folder, a file in the way, no permission
        check_writable_target(save)
        Path(save).parent.mkdir(parents=True, exist_ok=True)
    model, header, dataset = _load(path, data, label_column, builder)
    arch = header["metadata"]["architecture"]
    _say(dataset.describe())
    if spec.requires_batchnorm and not any(
        isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules()
    ):
        raise ValueError(f"--method {method!r} needs a model with BatchNorm (train --batchnorm)")
    train_seed = int(header["metadata"].get("seed", seed))
    initial = build_arch(arch, train_seed)

    def fresh() -> Module:
        out = build_arch(arch, train_seed)
        out.load_state_dict(initial.state_dict())
        return out

    settings = {
        "train_epochs": int(header["metadata"].get("epochs", retrain_epochs)),
        "retrain_epochs": retrain_epochs,
        "lr": lr,
        "momentum": MOMENTUM,
        "batch_size": batch_size,
        "method": dict(spec.defaults),
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
    )
    before = test_accuracy(model, dataset)
    start = time.perf_counter()
    with prune.PruningLog(model) as plog:
        info = spec.fn(ctx) or {}
        model = ctx.model
        plog.model = model
        achieved = float(metrics.model_sparsity(model))
        params_masked = model.num_parameters()
        removed = []
        if method in STRUCTURED:
            removed = prune.remove_dead_units(model, dataset.input_shape)
    elapsed = time.perf_counter() - start
    acc = test_accuracy(model, dataset)
    rows = metrics.layer_table(model, dataset.input_shape)
    _say(metrics.format_table(rows))
    after_prune = ctx.accuracy_before_retrain
    _say(
        f"{method} to sparsity {sparsity}: achieved {achieved:.4f}, "
        f"test accuracy {before:.2%} dense -> "
        + (f"{after_prune:.2%} pruned -> " if after_prune is not None else "")
        + f"{acc:.2%} after {retrain_epochs} retraining epoch(s) ({elapsed:.1f} s)"
    )
    if removed:
        units = sum(len(r.removed) for r in removed)
        _say(
            f"physically removed {units} unit(s) whose outputs only met zero weights: "
            f"{params_masked:,} -> {model.num_parameters():,} parameters, "
            f"{metrics.model_sparsity(model):.4f} of the remaining weights zero"
        )
    meta = {
        "command": "prune",
        "source": str(path),
        "method": method,
        "sparsity": float(sparsity),
        "achieved_sparsity": achieved,
        "retrain_epochs": retrain_epochs,
        "seed": train_seed,
        "test_accuracy_dense": before,
        "test_accuracy_before_retrain": after_prune,
        "test_accuracy": acc,
        "info": _jsonable(info),
    }
    if save:
        _say(f"saved to {io.save_model(model, save, arch, meta)}")
        log = log or str(Path(save).with_suffix("")) + ".log.json"
    if log:
        from .report import write_json

        records = list(plog.records) + [
            {"function": "remove_dead_units", "layer": r.layer, "removed": list(r.removed),
             "params_before": r.params_before, "params_after": r.params_after}
            for r in removed
        ]  # fmt: skip
        write_json(log, {"run": meta, "records": records})
        _say(f"pruning log: {log} ({len(records)} decisions)")
    return {"accuracy": acc, "model": model, "log": plog.records}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def measure(model: Module, dataset: Dataset, *, latency_batch: int = 64, repeats: int = 20) -> dict:
    """The ``evaluate`` numbers of ``model`` on the test set (see :func:`evaluate_checkpoint`)."""
    from .metrics.latency import measure_latency

    params, nonzeros = metrics.model_size(model)
    flops, flops_nz = metrics.flops(model, dataset.input_shape)
    batch = dataset.splits.test[0][:latency_batch]
    return {
        "accuracy": test_accuracy(model, dataset),
        "sparsity": float(metrics.model_sparsity(model)),
        "parameters": int(params),
        "nonzeros": int(nonzeros),
        "flops": int(flops_nz),
        "bytes_dense": int(metrics.model_bytes(model, "dense")),
        "bytes_sparse": int(metrics.model_bytes(model, "csr")),
        "latency_ms": 1000 * measure_latency(model.eval(), batch, repeats=repeats),
        "_flops_dense": int(flops),
    }


def evaluate_checkpoint(
    path: str,
    data: str,
    *,
    as_json: bool = False,
    label_column: str = "label",
    builder: str | None = None,
) -> dict[str, Any]:
    """``nnprune evaluate``: accuracy, sparsity, size, FLOPs, bytes and latency of a checkpoint.

    ``accuracy`` is the fraction of the test set classified correctly;
    ``sparsity`` the fraction of zero prunable weights; ``parameters`` and
    ``nonzeros`` count every parameter; ``flops`` counts the floating-point
    operations of one sample's forward pass that multiply a non-zero weight
    (:func:`nnprune.metrics.flops`, second value); ``bytes_dense`` and
    ``bytes_sparse`` the bytes of the parameters stored dense and with every
    prunable weight in CSR; ``latency_ms`` the median time of one forward pass
    of a batch of 64 test samples (masked zeros are still multiplied).
    """
    model, _, dataset = _load(path, data, label_column, builder)
    result = measure(model, dataset)
    dense_flops = result.pop("_flops_dense")
    if as_json:
        print(json.dumps(result))
    else:
        _say(dataset.describe())
        _say(
            f"{path}: test accuracy {result['accuracy']:.2%}, sparsity {result['sparsity']:.4f}, "
            f"{result['parameters']:,} parameters ({result['nonzeros']:,} non-zero), "
            f"FLOPs {dense_flops:,} dense / {result['flops']:,} non-zero, "
            f"{result['bytes_dense']:,} bytes dense / {result['bytes_sparse']:,} CSR, "
            f"latency {result['latency_ms']:.3f} ms per batch of 64"
        )
    return result


def sensitivity(
    path: str,
    data: str,
    *,
    sparsities: list[float],
    out: str,
    label_column: str = "label",
    builder: str | None = None,
) -> dict[str, Path]:
    """``nnprune sensitivity``: validation accuracy with one layer pruned at a time (CSV + plot)."""
    from .pipeline.sensitivity import plot_sensitivity, sensitivity_analysis, write_csv
    from .report import use_agg

    check_writable_target(Path(out) / "sensitivity.csv")
    model, _, dataset = _load(path, data, label_column, builder)
    _say(dataset.describe())
    rows = sensitivity_analysis(model, dataset.splits, sparsities)
    use_agg()
    paths = {
        "csv": write_csv(rows, Path(out) / "sensitivity.csv"),
        "plot": plot_sensitivity(rows, out),
    }
    for layer in dict.fromkeys(r["layer"] for r in rows):
        accs = " ".join(
            f"{r['sparsity']:.2f}:{r['accuracy']:.3f}" for r in rows if r["layer"] == layer
        )
        _say(f"  {layer:<16} {accs}")
    for p in paths.values():
        _say(f"wrote {p}")
    return paths


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
