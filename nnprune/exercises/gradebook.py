r"""Grade a whole class: ``nnprune grade CLASS_DIR --out DIR``, two CSV files and a table.

``CLASS_DIR`` holds one folder per student (the folder's name is the student's name),
each with that student's exercise files. Every exercise of the registry is graded for
every student, so every student has the same ``total``: all checks of all exercises.

``DIR/grades.csv``
    one row per (student, exercise): ``student, exercise, status, passed, total,
    first_failure``. ``status`` is ``PASS``, ``FAIL`` (some check failed), ``ERROR`` (the
    file does not parse, breaks the import rules or fails when imported), ``TIMEOUT``
    (the time limit ended it) or ``NOT STARTED``.
``DIR/students.csv``
    one row per student: ``student, passed, total, score`` (``score`` = 100 * passed /
    total, one decimal).

``NOT STARTED`` means the file is missing or unchanged from the student file that
``nnprune exercises init`` copies: it is not run at all and scores 0, so no check (not even
the rules check, which an untouched stub would pass) gives a point to work not done. A
check that is skipped on this machine (a PyTorch comparison without PyTorch) is left out
of every student's total. Both files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write
from .grader import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, ExerciseReport, check_names, grade
from .registry import EXERCISES, Exercise

STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}
NOT_STARTED = "NOT STARTED"
GRADES_COLUMNS = ("student", "exercise", "status", "passed", "total", "first_failure")
STUDENTS_COLUMNS = ("student", "passed", "total", "score")


@dataclass
class Grade:
    """One (student, exercise) row of ``grades.csv``."""

    student: str
    exercise: str
    status: str
    passed: int
    total: int
    first_failure: str = ""


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())


def not_started(path: Path, exercise: Exercise) -> str | None:
    """Why ``path`` counts as not started (missing, unchanged stub), else None."""
    from . import stub_source

    if not path.is_file():
        return "no file"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # unreadable work is graded (and fails) rather than called untouched
    if _normalise(text) == _normalise(stub_source(exercise.id)):
        return "unchanged from the student file"
    return None


def student_folders(class_dir: str | os.PathLike) -> list[Path]:
    """The students' folders in ``class_dir`` (sorted by name; hidden ones left out)."""
    root = Path(class_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"CLASS_DIR must be an existing folder, got {str(class_dir)!r}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(
            f"CLASS_DIR {str(class_dir)!r} holds no student folders (one folder per student)"
        )
    return folders


def _first_failure(report: ExerciseReport) -> str:
    for r in report.results:
        if not r.passed:
            first = r.message.splitlines()[0] if r.message else ""
            return f"{r.name}: {first}" if first else r.name
    return ""


def grade_class(
    class_dir: str | os.PathLike,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    jobs: int = 1,
    exercises: tuple[Exercise, ...] | None = None,
) -> list[Grade]:
    """Grade every exercise of every student in ``class_dir``; one :class:`Grade` per pair.

    Parameters
    ----------
    class_dir : str or PathLike
        One folder per student.
    timeout : float, default 60
        Seconds per exercise and student.
    memory_mb : int, default 2048
        Address-space limit of each worker process (POSIX only).
    jobs : int, default 1
        Files graded at once (each in its own worker process).
    exercises : tuple of Exercise, optional
        Default: every exercise of the registry.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    folders = student_folders(class_dir)
    todo = [(f, ex) for f in folders for ex in (exercises or EXERCISES)]

    def one(item: tuple[Path, Exercise]) -> tuple[Path, Exercise, ExerciseReport | str]:
        folder, ex = item
        why = not_started(folder / ex.filename, ex)
        if why is not None:
            return folder, ex, why
        return folder, ex, grade(ex.id, folder, timeout=timeout, memory_mb=memory_mb)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(one, todo))
    # a check skipped on this machine (no PyTorch) is left out of every student's total
    skipped = {(ex.id, r.name) for _, ex, rep in done if not isinstance(rep, str)
               for r in rep.results if r.skipped}  # fmt: skip
    grades = []
    for folder, ex, rep in done:
        names = [n for n in check_names(ex) if (ex.id, n) not in skipped]
        if isinstance(rep, str):
            grades.append(Grade(folder.name, ex.id, NOT_STARTED, 0, len(names), rep))
            continue
        counted = [r for r in rep.results if (ex.id, r.name) not in skipped]
        passed = sum(r.passed for r in counted)
        status = STATUS.get(rep.status, "FAIL")
        grades.append(Grade(folder.name, ex.id, status, passed, len(names), _first_failure(rep)))
    return grades


def student_totals(grades: list[Grade]) -> list[tuple[str, int, int, float]]:
    """``(student, passed, total, score in %)`` per student, in the order of ``grades``."""
    totals: dict[str, list[int]] = {}
    for g in grades:
        t = totals.setdefault(g.student, [0, 0])
        t[0] += g.passed
        t[1] += g.total
    return [(s, p, t, round(100.0 * p / t, 1) if t else 0.0) for s, (p, t) in totals.items()]


def _csv(rows: list[tuple], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def write_gradebook(grades: list[Grade], out: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``out/grades.csv`` and ``out/students.csv`` atomically; return their paths."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"--out must be a folder, but {str(out)!r} is a file")
    rows = [(g.student, g.exercise, g.status, g.passed, g.total, g.first_failure) for g in grades]
    per_student = [(s, p, t, f"{score:.1f}") for s, p, t, score in student_totals(grades)]
    text_g, text_s = _csv(rows, GRADES_COLUMNS), _csv(per_student, STUDENTS_COLUMNS)
    paths = folder / "grades.csv", folder / "students.csv"
    atomic_write(paths[0], lambda f: f.write(text_g))
    atomic_write(paths[1], lambda f: f.write(text_s))
    return paths


def format_class_summary(grades: list[Grade], width: int = 100) -> str:
    """One row per student: score, checks, and how many exercises have each status."""
    totals = student_totals(grades)
    counts: dict[str, dict[str, int]] = {}
    for g in grades:
        counts.setdefault(g.student, {}).setdefault(g.status, 0)
        counts[g.student][g.status] += 1
    name_w = min(max([len("student")] + [len(s) for s, *_ in totals]), 30)
    head = (f"{'student':<{name_w}}  {'score':>6}  {'checks':>9}  {'pass':>4}  {'fail':>4}  "
            f"{'not started':>11}  {'error':>5}  {'timeout':>7}")  # fmt: skip
    rows = [head]
    for student, passed, total, score in totals:
        c = counts[student]
        name = student if len(student) <= name_w else student[: name_w - 3] + "..."
        rows.append(
            f"{name:<{name_w}}  {score:>5.1f}%  {f'{passed}/{total}':>9}  {c.get('PASS', 0):>4}  "
            f"{c.get('FAIL', 0):>4}  {c.get(NOT_STARTED, 0):>11}  {c.get('ERROR', 0):>5}  "
            f"{c.get('TIMEOUT', 0):>7}"
        )
    n_ex = len({g.exercise for g in grades})
    rows.append(f"{len(totals)} students, {n_ex} exercises each (details: grades.csv)")
    return "\n".join(row[:width] for row in rows)
