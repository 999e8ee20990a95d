"""A grade cannot be forged from the student's file: each cheat here returns a wrong answer.

Every student file (``tests/_cheating_students.py``, also tried by part 4 of
``benchmarks/bench_reliability.py``) answers wrongly and then tries to make the grader say
PASS: by patching NumPy or the harness, by forging result lines, by ending the process
early, by writing into the grader's pipe. The checks run in the
grading process and the student's code only sends data back, so every one of them FAILs.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _cheating_students import CHEATS, EX, FRAME_THIEF, PARAM_LIAR, student

from nnprune.exercises import grade
from nnprune.exercises.registry import get


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and ctypes")
@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_does_not_pass(tmp_path, name):
    (tmp_path / get(EX).filename).write_text(student(name), encoding="utf-8")
    report = grade(EX, tmp_path, timeout=30)
    assert report.status != "pass", [(r.name, r.passed, r.message) for r in report.results]
    checks = report.results[1:]
    assert not any(r.passed for r in checks), [(r.name, r.message) for r in checks]
    assert report.score[0] <= 1  # at most the rules check
    assert np.allclose(np.zeros(2), np.ones(2)) is False  # the grader's NumPy is untouched


def test_the_cheats_fail_for_their_own_reason(tmp_path):
    (tmp_path / get(EX).filename).write_text(student("os._exit(0) through np.ctypeslib at "
                                                       "import"), encoding="utf-8")  # fmt: skip
    report = grade(EX, tmp_path, timeout=30)
    assert report.status == "error"
    assert "ended with exit code 0 while importing your file" in report.results[1].message
    forged = "PASS lines appended to files and fds named in /proc/self/cmdline, then _exit(0)"
    (tmp_path / get(EX).filename).write_text(student(forged), encoding="utf-8")
    report = grade(EX, tmp_path, timeout=30)
    first = report.results[1]
    assert not first.passed
    assert (
        "exit code 0 during this check" in first.message
        or "not an answer" in first.message
        or "token" in first.message
    ), first.message
    assert report.results[2].message == "not run: an earlier check crashed"


def test_a_correct_file_still_passes_after_a_cheat(tmp_path):
    """The solution passes (the worker of the cheat is gone, nothing leaked into the grader)."""
    from pathlib import Path

    solution = Path(__file__).resolve().parents[1] / "exercises" / "solutions" / get(EX).filename
    (tmp_path / get(EX).filename).write_text(student("np.allclose always True"), "utf-8")
    assert not grade(EX, tmp_path, timeout=30).passed
    (tmp_path / get(EX).filename).write_text(solution.read_text("utf-8"), "utf-8")
    assert grade(EX, tmp_path, timeout=30).passed


def test_reading_the_expected_value_from_the_checkers_frames_fails(tmp_path):
    ex = "ch5.polynomial_schedule"
    (tmp_path / get(ex).filename).write_text(FRAME_THIEF, encoding="utf-8")
    report = grade(ex, tmp_path, timeout=30)
    assert not report.passed and not any(r.passed for r in report.results[1:]), [
        (r.name, r.message) for r in report.results]  # fmt: skip


def test_a_model_whose_methods_are_replaced_is_not_measured_by_them(tmp_path):
    ex = "appc.simple_cnn"
    (tmp_path / get(ex).filename).write_text(PARAM_LIAR, encoding="utf-8")
    report = grade(ex, tmp_path, timeout=60)
    assert not any(r.passed for r in report.results[1:]), [(r.name, r.message)
                                                           for r in report.results]  # fmt: skip
    assert "built from nnprune's own classes" in report.results[1].message
