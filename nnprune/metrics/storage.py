r"""What zeros save: bytes of a model per storage format, and one layer's time, dense vs CSR.

* :func:`bytes_per_format`: the whole model in dense, CSR, COO, BSR and CSR with the
  smallest index dtypes (values + indices; biases stay dense), each against dense;
* :func:`dense_vs_csr_time`: the median time of ``x @ W.T`` with the dense array and with
  its CSR copy, per batch size, on one thread each (SciPy's sparse kernels are
  single-threaded), and whether CSR was faster, slower or within the noise.

Book: §2.2, §2.3.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..sparse import sparse_nbytes, to_sparse
from .latency import median_time
from .size import model_bytes

NOISE = 0.10  # timings within +-10% count as equal


def bytes_per_format(model: Any, blocksize: tuple[int, int] = (2, 2)) -> list[dict]:
    """Rows ``{"format", "bytes", "vs dense"}`` of the whole model in each SciPy format."""
    dense = model_bytes(model, "dense")
    rows = [{"format": "dense", "bytes": dense}]
    for fmt, kwargs in (("csr", {}), ("coo", {}), ("bsr", {"blocksize": blocksize})):
        rows.append({"format": fmt, "bytes": model_bytes(model, fmt, **kwargs)})
    rows.append({"format": "csr, small index dtypes",
                 "bytes": model_bytes(model, "csr", compact=True)})  # fmt: skip
    for r in rows:
        r["vs dense"] = r["bytes"] / dense
    return rows


def dense_vs_csr_time(
    layer: Any, x: np.ndarray, batches: tuple[int, ...], repeats: int, threads: int = 1
) -> list[dict]:
    """Median time of ``x[:batch] @ W.T``, dense against CSR, one row per batch size.

    Rows ``{"batch", "dense us", "csr us", "csr speed-up", "verdict"}``; ``verdict``
    is ``"faster"``, ``"slower"`` or ``"as fast"`` (within :data:`NOISE`).
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
            verdict = ("faster" if speedup > 1 + NOISE
                       else "slower" if speedup < 1 / (1 + NOISE) else "as fast")  # fmt: skip
            rows.append({"batch": batch, "dense us": 1e6 * t_dense, "csr us": 1e6 * t_csr,
                         "csr speed-up": speedup, "verdict": verdict})  # fmt: skip
    return rows


def nm_bytes(nm_weights: list[np.ndarray], unstructured: list[np.ndarray], n: int = 2,
             m: int = 4) -> list[dict]:  # fmt: skip
    """Bytes of the same weights dense (float32), in N:M form and as CSR (unstructured copy).

    N:M stores the ``n`` kept values of every group of ``m`` and each one's position in its
    group, ``ceil(log2 m)`` bits (2 bits for 2:4). Rows ``{"format", "bytes", "vs_dense"}``.
    """
    dense = sum(w.size * 4 for w in nm_weights)
    kept = sum(int(np.count_nonzero(w)) for w in nm_weights)
    bits = max(1, int(np.ceil(np.log2(m))))
    nm = kept * 4 + (kept * bits + 7) // 8
    csr = sum(sparse_nbytes(to_sparse(np.asarray(w, dtype=np.float32))) for w in unstructured)
    return [{"format": "dense float32", "bytes": dense, "vs_dense": 1.0},
            {"format": f"{n}:{m} values + {bits}-bit indices", "bytes": nm, "vs_dense": nm / dense},
            {"format": "CSR, unstructured", "bytes": csr, "vs_dense": csr / dense}]  # fmt: skip


__all__ = ["NOISE", "bytes_per_format", "dense_vs_csr_time", "nm_bytes"]
