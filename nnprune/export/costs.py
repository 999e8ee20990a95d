r"""What a model costs once exported: bytes on disk of each file format, read back and evaluated.

:func:`export_costs` writes a model in each format nnprune writes, reads every
file back and evaluates what comes back on a test set, so the table shows both
the size *and* whether the format is lossless:

==================  ==========================================================
format              written by / read back with
==================  ==========================================================
``checkpoint``      :func:`nnprune.io.save` / :func:`nnprune.io.load` (dense
                    arrays and masks; pruned zeros cost as much as any weight)
``csr``             :func:`nnprune.sparse.save_sparse` / ``load_sparse``
                    (prunable weights as CSR, lossless)
``codebook``        :func:`nnprune.sparse.codebook.save_compressed` /
                    ``load_compressed`` (Deep Compression: 5-bit codebook,
                    relative indices; **lossy**)
``onnx``            :func:`nnprune.export.export_onnx` / ONNX Runtime (dense
                    initialisers; only with ``pip install 'nnprune[onnx]'``,
                    left out otherwise)
==================  ==========================================================

:func:`onnx_latency` times ONNX Runtime sessions of several files in
interleaved rounds (median per file), for the same comparison as
:func:`nnprune.metrics.latency.compare_latency` does for nnprune models.

Book: §8.3 (industrial outlook: deployment).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..io import load, save
from ..nn.module import Module
from ..sparse import load_sparse, save_sparse
from ..sparse.codebook import load_compressed, save_compressed
from .onnx_export import export_onnx

FORMATS = ("checkpoint", "csr", "codebook", "onnx")


def onnx_available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` can be imported (the ``onnx`` extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def _onnx_predict(path: str) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.asarray(x, dtype=np.float32)})[0]


def _reloaded(model: Module, state: dict[str, np.ndarray]) -> Callable[[np.ndarray], Any]:
    copy_ = copy.deepcopy(model)
    copy_.load_state_dict(state)
    return copy_.eval()


def export_costs(
    models: Mapping[str, Module],
    input_shape: Sequence[int],
    test: tuple[np.ndarray, np.ndarray],
    formats: Sequence[str] = FORMATS,
    folder: str | os.PathLike | None = None,
) -> list[dict[str, Any]]:
    """Bytes on disk and test accuracy after reading back, per (model, format).

    Parameters
    ----------
    models : mapping of str to Module
        E.g. ``{"dense": dense, "pruned 90%": pruned}``.
    input_shape : sequence of int
        One sample's shape (for the ONNX input).
    test : (X, y)
        What every read-back model is evaluated on.
    formats : sequence of str
        A subset of :data:`FORMATS`; ``"onnx"`` is skipped without the ``onnx`` extra.
    folder : path, optional
        Where the files are written (kept); default a temporary folder, removed.

    Returns
    -------
    list of dict
        ``model``, ``format``, ``kB_disk`` and ``test_accuracy`` of the model read back.

    Raises
    ------
    ValueError
        For an unknown format.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats must be among {list(FORMATS)}, got {unknown}")
    if "onnx" in formats and not onnx_available():
        formats = [f for f in formats if f != "onnx"]
    with tempfile.TemporaryDirectory() as tmp:
        where = os.fspath(folder) if folder is not None else tmp
        os.makedirs(where, exist_ok=True)
        rows = []
        for name, model in models.items():
            model.eval()
            for fmt in formats:
                path = os.path.join(where, f"{name.replace(' ', '_')}.{fmt}")
                path += ".onnx" if fmt == "onnx" else ".npz"
                if fmt == "checkpoint":
                    save(model, path)
                    back = copy.deepcopy(model)
                    load(back, path)
                    predict = back.eval()
                elif fmt == "csr":
                    save_sparse(model, path)
                    predict = _reloaded(model, load_sparse(path))
                elif fmt == "codebook":
                    save_compressed(model, path)
                    predict = _reloaded(model, load_compressed(path))
                else:
                    export_onnx(model, input_shape, path)
                    predict = _onnx_predict(path)
                logits = np.asarray(predict(test[0]))
                rows.append(
                    {
                        "model": name,
                        "format": fmt,
                        "kB_disk": os.path.getsize(path) / 1000,
                        "test_accuracy": float(np.mean(logits.argmax(axis=1) == test[1])),
                    }
                )
    return rows


def onnx_latency(
    models: Mapping[str, Module], input_shape: Sequence[int], x: np.ndarray, repeats: int = 20
) -> dict[str, float]:
    """Median seconds of one ONNX Runtime run of each exported model on ``x``, interleaved.

    Each round runs every session once (the order alternates between rounds),
    so a slow spell of a shared machine falls on all of them. Needs the
    ``onnx`` extra (``ImportError`` otherwise).
    """
    times: dict[str, list[float]] = {name: [] for name in models}
    with tempfile.TemporaryDirectory() as tmp:
        run = {}
        for i, (name, model) in enumerate(models.items()):
            path = os.path.join(tmp, f"m{i}.onnx")
            export_onnx(model.eval(), input_shape, path)
            run[name] = _onnx_predict(path)
            run[name](x)  # warm-up
        for r in range(repeats):
            for name in list(run)[:: 1 if r % 2 else -1]:
                start = time.perf_counter()
                run[name](x)
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


__all__ = ["FORMATS", "export_costs", "onnx_available", "onnx_latency"]
