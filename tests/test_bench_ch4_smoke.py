"""Smoke test of benchmarks/bench_chapter4_quality.py: it runs and prints its table.

The quality verdicts need the full run (3 seeds, full budgets); here only the
structure is checked, never the numbers.
"""

from __future__ import annotations

import csv
import json


def test_quick_run_prints_the_table_and_writes_rows(load_script, tmp_path, capsys):
    bench = load_script("benchmarks", "bench_chapter4_quality")
    result = bench.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "command: python benchmarks/bench_chapter4_quality.py --quick" in out
    assert "wall time:" in out and "1a ISTA: lam" in out and "2a ADMM: rho" in out
    assert [s["experiment"] for s in result["summary"]] == list(bench.TARGETS)
    for summary in result["summary"]:
        assert summary["experiment"] in out
        verdict = result["verdicts"][summary["experiment"]]
        assert summary["result"] == ("-" if verdict is None else ("PASS" if verdict else "FAIL"))
    assert result["seeds"] == [0] and len(result["rows"]) == len(bench.TARGETS)
    with open(result["paths"]["csv"], newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(result["rows"])
    record = json.loads(result["paths"]["json"].read_text())
    assert record["argv"][0] == "--quick" and len(record["summary"]) == len(bench.TARGETS)
