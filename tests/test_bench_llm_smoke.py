"""benchmarks/bench_llm_pruning.py runs in --quick mode; its numbers are printed, not asserted."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_llm_pruning.py"


def test_quick_run_structure(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_llm_pruning", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    checkpoint = tmp_path / "lm.npz"
    out = bench.main(["--quick", "--checkpoint", str(checkpoint)])
    printed = capsys.readouterr().out
    assert checkpoint.exists()  # written after training, loaded by the next run
    assert [(r["method"], r["pattern"]) for r in out["rows"]] == [
        ("dense", "-"),
        *[(m, p) for p in ("50%", "2:4") for m in ("magnitude", "wanda", "sparsegpt")],
    ]
    for row in out["rows"][1:]:
        assert len(row["ppl"]) == (1 if row["method"] == "magnitude" else 3)
    assert len(out["verdicts"]) == 3 and "2:4: SparseGPT <= Wanda" in printed
    # SparseGPT's block: every size of BLOCKS tried, the lowest calibration error kept
    assert [b for b, _, _ in out["sweep"]] == list(bench.BLOCKS)
    assert out["blocksize"] == min(out["sweep"], key=lambda row: row[1])[0]
    assert f"SparseGPT block {out['blocksize']}," in printed
    again = bench.main(["--quick", "--checkpoint", str(checkpoint)])
    assert "loaded" in capsys.readouterr().out
    assert again["dense"]["perplexity"] == out["dense"]["perplexity"]
