"""``nnprune.metrics.latency.blas_report``: what the speed benchmarks print about the BLAS."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from nnprune.metrics.latency import blas_report


def test_reports_every_pool_with_its_threads(monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    np.ones((2, 2)) @ np.ones((2, 2))  # NumPy's BLAS is loaded
    with threadpool_limits(1):
        lines = blas_report()
    pools = threadpool_info()
    assert len(lines) == len(pools) + 2
    assert all("threads=1" in line for line in lines[: len(pools)])
    assert lines[-2:] == ["OPENBLAS_CORETYPE=(unset)", lines[-1]]
    assert lines[-1].startswith("OPENBLAS_L2_SIZE=")


def test_a_forced_openblas_kernel_is_named_and_flagged(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    lines = blas_report()
    assert "OPENBLAS_CORETYPE=Haswell" in lines
    assert lines[-1].startswith("note: OPENBLAS_CORETYPE forces")
