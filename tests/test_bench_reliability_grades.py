"""Part 4 of bench_reliability.py counts forged grades: FAIL when refused, false PASS when not."""

from __future__ import annotations

import sys

import pytest
from _cheating_students import forged_grades
from _repo import ROOT

from nnprune.exercises.registry import get

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


@pytest.fixture
def bench(load_script, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    module = load_script("benchmarks", "bench_reliability")
    import _trust_cases

    return module, _trust_cases, ROOT


def test_every_cheating_file_is_a_case(bench):
    _, cases, _ = bench
    labels = [label for label, _, _ in cases.grading_cases()]
    assert labels == [label for label, _, _ in forged_grades()]
    assert len(labels) == len(set(labels)) >= 10
    assert "forged grades" in cases.all_cases()


def test_a_cheat_is_counted_fail_and_a_right_answer_would_be_a_false_pass(bench, tmp_path):
    bench_mod, cases, root = bench
    label, ex, source = forged_grades()[0]  # np.allclose patched
    cheat = cases._graded(ex, source)
    (tmp_path / "a").mkdir()
    assert bench_mod._run_case(label, None, cheat, tmp_path / "a") == ("FAIL", "")
    # the detector can fire: the reference solution, graded as if it were a cheat, passes
    right = (root / "exercises" / "solutions" / get(ex).filename).read_text("utf-8")
    (tmp_path / "b").mkdir()
    outcome, _ = bench_mod._run_case("solution", None, cases._graded(ex, right), tmp_path / "b")
    assert outcome == "false PASS"
