"""Smoke test of benchmarks/bench_book_methods.py --quick: every section runs and prints."""

from __future__ import annotations


def test_quick_run_prints_every_section(load_script, capsys):
    bench = load_script("benchmarks", "bench_book_methods")
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "command: python benchmarks/bench_book_methods.py --quick" in out
    for title in (
        "A. §4.2",
        "B. §7",
        "C. §5.1",
        "D. §6.3",
        "E. §6.2",
        "F. §4.3",
        "G. §4.2",
        "H. §8.2",
        "wall time:",
    ):
        assert title in out, title
    assert "138,357,544" in out and "25,557,032" in out and "109,482,240" in out
    assert max(len(line) for line in out.splitlines()) <= 100
