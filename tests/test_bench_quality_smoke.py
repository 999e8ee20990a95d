"""benchmarks/bench_pruning_quality.py runs in --quick mode and computes its verdicts right.

The quality numbers themselves are printed by the benchmark, never asserted here.
"""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pruning_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_pruning_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _linear_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def test_quick_run_structure(bench, tmp_path, capsys):
    out = bench.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out

    experiments = list(bench.TARGETS)
    assert out["seeds"] == [0]
    assert [r["experiment"] for r in out["rows"]] == experiments
    assert [r["experiment"] for r in out["summary"]] == experiments
    results = {r["experiment"]: r["result"] for r in out["summary"]}
    for name in (bench.RETRAINED, bench.ONE_SHOT, bench.TICKET, bench.UNITS_RETRAINED):
        assert results[name] in ("PASS", "FAIL")
    for name in (bench.DENSE, bench.REINIT, bench.UNITS, bench.GRADUAL):
        assert results[name] == "-"

    rows = {r["experiment"]: r for r in out["rows"]}
    dense_params = _linear_params((64, 300, 100, 10))
    weights = 64 * 300 + 300 * 100 + 100 * 10
    assert rows[bench.DENSE]["params"] == rows[bench.DENSE]["nonzeros"] == dense_params
    for name in (bench.RETRAINED, bench.ONE_SHOT, bench.GRADUAL):
        # global magnitude pruning removes exactly round(0.9 n) of the n weights
        assert rows[name]["params"] == dense_params
        assert rows[name]["nonzeros"] == dense_params - round(0.9 * weights)
        assert rows[name]["weight_sparsity"] == pytest.approx(0.9, abs=1e-4)
    for name in (bench.UNITS, bench.UNITS_RETRAINED):
        assert rows[name]["params"] == rows[name]["nonzeros"] == _linear_params((64, 150, 50, 10))
    assert rows[bench.TICKET]["nonzeros"] == rows[bench.REINIT]["nonzeros"] < dense_params
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in out["rows"])

    assert "command: python benchmarks/bench_pruning_quality.py --quick --out" in printed
    assert "total time:" in printed
    assert all(f"{e}  " in printed for e in experiments)
    csv_lines = (tmp_path / "quality.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 1 + len(experiments)
    saved = json.loads((tmp_path / "quality.json").read_text())
    assert [r["experiment"] for r in saved["summary"]] == experiments
    assert len(saved["rows"]) == len(experiments)


def _rows(bench, accuracy):
    return [
        {"seed": seed, "experiment": e, "accuracy": accs[i], "params": 10, "nonzeros": 5}
        for e, accs in accuracy.items()
        for i, seed in enumerate((3, 7))
    ]


def test_verdicts_follow_the_targets(bench):
    passing = {
        bench.DENSE: (0.97, 0.98),
        bench.RETRAINED: (0.962, 0.972),  # drop 0.8 pt
        bench.ONE_SHOT: (0.90, 0.96),  # lower in both seeds, mean gap 3.7 pt
        bench.TICKET: (0.95, 0.95),
        bench.REINIT: (0.96, 0.93),  # mean 94.5 < 95
        bench.UNITS: (0.5, 0.5),
        bench.UNITS_RETRAINED: (0.955, 0.965),  # drop 1.5 pt
        bench.GRADUAL: (0.1, 0.1),
    }
    ok = bench.verdicts(_rows(bench, passing))
    assert [ok[e] for e in (bench.RETRAINED, bench.ONE_SHOT, bench.TICKET)] == [True] * 3
    assert ok[bench.UNITS_RETRAINED] is True
    assert ok[bench.DENSE] is ok[bench.REINIT] is ok[bench.UNITS] is ok[bench.GRADUAL] is None

    failing = dict(passing)
    failing[bench.RETRAINED] = (0.955, 0.965)  # drop 1.5 pt
    failing[bench.ONE_SHOT] = (0.90, 0.97)  # mean gap 2.1 pt, but not lower in seed 7
    failing[bench.TICKET] = (0.94, 0.95)  # mean 94.5 = 4b: not above
    failing[bench.UNITS_RETRAINED] = (0.94, 0.955)  # drop 2.75 pt
    bad = bench.verdicts(_rows(bench, failing))
    for name in (bench.RETRAINED, bench.ONE_SHOT, bench.TICKET, bench.UNITS_RETRAINED):
        assert bad[name] is False, name

    small_gap = dict(passing)
    small_gap[bench.ONE_SHOT] = (0.955, 0.965)  # lower in both seeds, mean gap 0.7 pt
    assert bench.verdicts(_rows(bench, small_gap))[bench.ONE_SHOT] is False
    summary = {r["experiment"]: r for r in bench.summarise(_rows(bench, failing))}
    assert summary[bench.RETRAINED]["result"] == "FAIL"
    assert summary[bench.RETRAINED]["vs dense (pt)"] == "-1.50"
    assert summary[bench.DENSE]["test accuracy %"] == "97.50 ± 0.71"  # sample std of 97, 98


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "1", "1"], "--seeds must be distinct integers >= 0"),
        (["--seeds", "-1"], "--seeds must be distinct integers >= 0"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
    ],
)
def test_bad_arguments(bench, argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err
