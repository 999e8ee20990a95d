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

from ..sparse import to_sparse
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


__all__ = ["NOISE", "bytes_per_format", "dense_vs_csr_time"]
