r"""Chapter 2's measurements: the three kinds of sparsity, bytes per format, dense vs CSR time.

Book: §2.1 (weight, connection, activation sparsity), §2.2–2.3 (storage and compute).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .. import metrics, nn
from ..metrics.latency import median_time
from ..report import format_table
from ..sparse import to_sparse

NOISE = 0.10  # timings within +-10% count as equal


def measures(model: nn.Module, X: np.ndarray) -> dict:
    """§2.1: weight, connection and activation sparsity of ``model`` on inputs ``X``."""
    return {
        "layers": metrics.layer_table(model, input_shape=X.shape[1:]),
        "model_sparsity": metrics.model_sparsity(model),
        "weight_sparsity": metrics.layer_sparsity(model),
        "connections": metrics.connection_sparsity(model),
        "activations": metrics.activation_sparsity(model, X),
    }


def weight_table(m: dict, title: str) -> str:
    """Per-layer weights, non-zeros and FLOPs (biases counted), under 100 columns."""
    cols = {
        "name": "{}",
        "shape": "{}",
        "params": "{:,}",
        "nonzeros": "{:,}",
        "sparsity": "{:.2%}",
        "zero_rows": "{}",
        "zero_cols": "{}",
        "flops_nz": "{:,}",
    }
    return format_table(m["layers"], columns=list(cols), formats=cols, title=title)


def connection_table(dense: dict, pruned: dict) -> str:
    """Neurons with every incoming weight zero, inputs with every outgoing weight zero."""
    rows = []
    for name, c in pruned["connections"].items():
        d = dense["connections"][name]
        rows.append(
            {
                "layer": name,
                "dead neurons (dense)": f"{d['zero_outputs']}/{d['outputs']}",
                "dead (pruned)": f"{c['zero_outputs']}/{c['outputs']}",
                "unused inputs (dense)": f"{d['zero_inputs']}/{d['inputs']}",
                "unused (pruned)": f"{c['zero_inputs']}/{c['inputs']}",
            }
        )
    return format_table(rows)


def activation_table(model: nn.Module, dense: dict, pruned: dict) -> str:
    """Share of each layer's outputs that are exactly zero on the test set."""
    kinds = dict(model.named_modules())
    rows = [
        {
            "layer": n,
            "type": type(kinds[n]).__name__,
            "dense": s,
            "pruned": pruned["activations"][n],
        }
        for n, s in dense["activations"].items()
    ]
    return format_table(rows, formats={"dense": "{:.2%}", "pruned": "{:.2%}"})


def storage(model: nn.Module, blocksize: tuple[int, int] = (2, 2)) -> list[dict]:
    """§2.2: bytes of the whole model per format (indices counted; biases stay dense)."""
    dense = metrics.model_bytes(model, "dense")
    rows = [{"format": "dense", "bytes": dense}]
    for fmt, kwargs in (("csr", {}), ("coo", {}), ("bsr", {"blocksize": blocksize})):
        rows.append({"format": fmt, "bytes": metrics.model_bytes(model, fmt, **kwargs)})
    compact = metrics.model_bytes(model, "csr", compact=True)
    rows.append({"format": "csr, small index dtypes", "bytes": compact})
    for r in rows:
        r["vs dense"] = r["bytes"] / dense
    return rows


def time_layer(
    layer: nn.Linear, x: np.ndarray, batches: tuple[int, ...], repeats: int, threads: int = 1
) -> list[dict]:
    """§2.2–2.3: median time of ``x @ W.T``, dense against CSR, per batch size.

    scipy.sparse kernels are single-threaded, so BLAS gets ``threads`` (1) too.
    ``verdict`` says whether CSR was faster, slower, or within ``NOISE`` of dense.
    """
    w = layer.weight.data
    csr = to_sparse(w, "csr")
    rows = []
    with threadpool_limits(threads):
        for batch in batches:
            xb = np.ascontiguousarray(x[:batch])
            t_dense = median_time(lambda xb=xb: xb @ w.T, repeats=repeats, warmup=3)
            t_csr = median_time(lambda xb=xb: (csr @ xb.T).T, repeats=repeats, warmup=3)
            speedup = t_dense / t_csr
            verdict = (
                "faster"
                if speedup > 1 + NOISE
                else "slower"
                if speedup < 1 / (1 + NOISE)
                else "as fast"
            )
            rows.append(
                {
                    "batch": batch,
                    "dense us": 1e6 * t_dense,
                    "csr us": 1e6 * t_csr,
                    "csr speed-up": speedup,
                    "verdict": verdict,
                }
            )
    return rows
