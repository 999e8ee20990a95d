"""benchmarks/bench_gpu.py without CuPy: a clean message and exit status 0 (no GPU figures)."""

from __future__ import annotations

import pytest

from nnprune.backend import cupy_available

pytestmark = pytest.mark.skipif(cupy_available(), reason="checks the run without CuPy and a GPU")


def test_without_cupy_it_says_so_and_exits_0(load_script, capsys):
    bench = load_script("benchmarks", "bench_gpu")
    assert bench.main([]) == 0
    out = capsys.readouterr().out
    assert "CuPy not available" in out and "median ms" not in out


def test_quick_runs_the_numpy_column(load_script, capsys, tmp_path):
    bench = load_script("benchmarks", "bench_gpu")
    assert bench.main(["--quick", "--out", str(tmp_path / "bench.txt")]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("MLP", "CNN"))]
    assert [(r[0], r[2]) for r in rows] == [
        ("MLP", "train"),
        ("MLP", "infer"),
        ("CNN", "train"),
        ("CNN", "infer"),
    ]
    assert all(float(r[3]) > 0 and r[4] == "-" for r in rows)  # NumPy timed, no CuPy column
    assert "CuPy not available" in (tmp_path / "bench.txt").read_text()
