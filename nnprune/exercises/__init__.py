r"""Classroom exercises with automatic checking: ``nnprune exercises`` and ``nnprune check``.

::

    nnprune exercises list                 # one id per line, then its title
    nnprune exercises init work/           # copy every student file into work/ (never overwrites)
    nnprune check ch4.soft_threshold --path work/
    nnprune check all --path work/         # every exercise, then a summary table
    nnprune check --list                   # same as `exercises list`
    nnprune grade CLASS_DIR --out DIR      # a class: grades.csv and students.csv

Each exercise is a student file whose functions raise ``NotImplementedError`` and whose
docstrings state the task, the maths, the shapes and a hint. ``nnprune check`` runs the
exercise's checks (gradient checks, property tests, comparisons with nnprune's own
implementation, PyTorch parity where torch is installed), prints one line per check with
PASS/FAIL and the messages, and exits with 0 when every check passes, 1 otherwise. The
student's code runs in a separate worker process, with a time and memory limit, that
returns data only; the checks compare in the grading process. See ``docs/teaching.md``.

Layout: :mod:`~nnprune.exercises.registry` (the list), ``stubs/`` (the student files,
shipped with the package), ``checks/`` (one module of checks per chapter),
:mod:`~nnprune.exercises.harness` (comparisons and hints), :mod:`~nnprune.exercises.rules`
(allowed imports), :mod:`~nnprune.exercises.grader` (runs the checks, reports),
:mod:`~nnprune.exercises.worker` (the student's process), :mod:`~nnprune.exercises.remote`
(the grader's stand-ins for the student's functions), :mod:`~nnprune.exercises.wire` (the
data frames between them), :mod:`~nnprune.exercises.gradebook` (a class's CSV files) and
:mod:`~nnprune.exercises.levels` (difficulties).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .._atomic import atomic_write
from .grader import ExerciseReport, format_report, format_summary, grade, grade_all
from .registry import EXERCISES, Exercise, get


def stub_source(exercise_id: str) -> str:
    """The text of the student file of ``exercise_id`` as shipped with nnprune."""
    ex = get(exercise_id)
    return (resources.files(__package__) / "stubs" / ex.filename).read_text(encoding="utf-8")


def list_lines() -> list[str]:
    """``"<id>  §<section>  <difficulty>  <title>"`` per exercise (``exercises list``).

    The difficulty is ``*`` (a few lines) to ``***`` (several ideas at once); a line is cut
    at 100 columns.
    """
    width = max(len(ex.id) for ex in EXERCISES)
    sec = max(len(ex.section) for ex in EXERCISES) + 1
    lines = [f"{ex.id:<{width}}  {'§' + ex.section:<{sec}}  {'*' * ex.difficulty:<3}  {ex.title}"
             for ex in EXERCISES]  # fmt: skip
    return [line if len(line) <= 100 else line[:97] + "..." for line in lines]


def init_exercises(folder: str | os.PathLike) -> list[Path]:
    """Copy every student file into ``folder`` (created if needed); return the new paths.

    Raises
    ------
    FileExistsError
        If any of the files is already there; then nothing is copied (a student's work is
        never overwritten).
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"DIR must be a folder, but {str(folder)!r} is a file")
    existing = [ex.filename for ex in EXERCISES if (target / ex.filename).exists()]
    if existing:
        shown = ", ".join(existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise FileExistsError(
            f"{len(existing)} exercise file(s) already in {str(folder)!r} ({shown}); "
            "nothing copied (init never overwrites: choose another folder or move them)"
        )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for ex in EXERCISES:
        text = stub_source(ex.id)
        written.append(atomic_write(target / ex.filename, lambda f, text=text: f.write(text)))
    return written


__all__ = [
    "EXERCISES",
    "Exercise",
    "ExerciseReport",
    "format_report",
    "format_summary",
    "get",
    "grade",
    "grade_all",
    "init_exercises",
    "list_lines",
    "stub_source",
]
