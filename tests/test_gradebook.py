"""`nnprune grade CLASS_DIR --out DIR`: a class of three, both CSV files, NOT STARTED."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from nnprune.cli import main
from nnprune.exercises import EXERCISES, init_exercises
from nnprune.exercises.gradebook import format_class_summary, grade_class, write_gradebook
from nnprune.exercises.grader import check_names
from nnprune.exercises.registry import get

SOLUTIONS = Path(__file__).resolve().parents[1] / "exercises" / "solutions"


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_class_of_three(tmp_path, capsys):
    cls = tmp_path / "class"
    done, blank, half = cls / "ada", cls / "bob", cls / "cy"
    done.mkdir(parents=True)
    for ex in EXERCISES:
        shutil.copy(SOLUTIONS / ex.filename, done / ex.filename)
    init_exercises(blank)
    init_exercises(half)
    solved = EXERCISES[::2]
    for ex in solved:
        shutil.copy(SOLUTIONS / ex.filename, half / ex.filename)

    out = tmp_path / "out"
    assert main(["grade", str(cls), "--out", str(out), "--jobs", "2", "--timeout", "60"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if not line.startswith("wrote ")]
    assert rows[0].startswith("student") and all(len(line) <= 100 for line in rows)
    assert "bob" in table and "NOT STARTED".lower() in table

    students = {r["student"]: r for r in _rows(out / "students.csv")}
    assert list(students) == ["ada", "bob", "cy"]
    assert len({r["total"] for r in students.values()}) == 1  # the same total for everyone
    total = int(students["ada"]["total"])
    # every check of every exercise (a check skipped here for lack of PyTorch is left out)
    assert total <= sum(len(check_names(ex)) for ex in EXERCISES)
    assert total >= sum(len(check_names(ex)) - 1 for ex in EXERCISES)
    assert float(students["ada"]["score"]) == 100.0
    assert int(students["bob"]["passed"]) == 0 and float(students["bob"]["score"]) == 0.0
    assert 0.0 < float(students["cy"]["score"]) < 100.0

    grades = _rows(out / "grades.csv")
    assert list(grades[0]) == ["student", "exercise", "status", "passed", "total",
                               "first_failure"]  # fmt: skip
    assert len(grades) == 3 * len(EXERCISES)
    by = {(r["student"], r["exercise"]): r for r in grades}
    for ex in EXERCISES:
        assert by["ada", ex.id]["status"] == "PASS"
        assert by["bob", ex.id]["status"] == "NOT STARTED"
        assert by["bob", ex.id]["passed"] == "0"
        want = "PASS" if ex in solved else "NOT STARTED"
        assert by["cy", ex.id]["status"] == want
        assert by["ada", ex.id]["total"] == by["bob", ex.id]["total"] == by["cy", ex.id]["total"]
    cy_passed = sum(int(by["cy", ex.id]["passed"]) for ex in EXERCISES)
    assert cy_passed == int(students["cy"]["passed"])


def test_statuses_missing_edited_error_and_timeout(tmp_path):
    ids = ("ch4.soft_threshold", "ch5.polynomial_schedule", "ch8.nm_mask", "ch2.csr_matvec")
    chosen = tuple(get(i) for i in ids)
    student = tmp_path / "class" / "dee"
    init_exercises(student)
    # edited, still wrong: graded, FAIL, the rules check earns its point
    path = student / get("ch4.soft_threshold").filename
    path.write_text(path.read_text("utf-8").replace(
        'raise NotImplementedError("your code here")', "return V", 1), "utf-8")  # fmt: skip
    # an endless loop: TIMEOUT
    loop = (SOLUTIONS / get("ch5.polynomial_schedule").filename).read_text("utf-8")
    loop = loop.replace("    p = min(", "    while True:\n        pass\n    p = min(")
    (student / get("ch5.polynomial_schedule").filename).write_text(loop, "utf-8")
    # does not parse: ERROR; and one file deleted: NOT STARTED
    (student / get("ch8.nm_mask").filename).write_text("def nm_mask(W:\n", "utf-8")
    (student / get("ch2.csr_matvec").filename).unlink()

    grades = {g.exercise: g for g in grade_class(tmp_path / "class", timeout=4,
                                                 exercises=chosen)}  # fmt: skip
    assert grades["ch4.soft_threshold"].status == "FAIL"
    assert grades["ch4.soft_threshold"].passed == 1
    assert grades["ch4.soft_threshold"].first_failure.startswith("soft_threshold equals")
    assert grades["ch5.polynomial_schedule"].status == "TIMEOUT"
    assert "time limit" in grades["ch5.polynomial_schedule"].first_failure
    assert grades["ch8.nm_mask"].status == "ERROR"
    assert grades["ch8.nm_mask"].passed == 0
    assert grades["ch2.csr_matvec"].status == "NOT STARTED"
    assert grades["ch2.csr_matvec"].first_failure == "no file"
    for ex in chosen:
        assert grades[ex.id].total >= len(check_names(ex)) - 1

    paths = write_gradebook(list(grades.values()), tmp_path / "out")
    assert [p.name for p in paths] == ["grades.csv", "students.csv"]
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic: no temporary left
    summary = format_class_summary(list(grades.values()))
    assert all(len(line) <= 100 for line in summary.splitlines())


def test_grade_usage_errors(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "CLASS_DIR must be an existing folder" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "holds no student folders" in capsys.readouterr().err
    (tmp_path / "s").mkdir()
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert "jobs must be an int >= 1, got 0" in capsys.readouterr().err
