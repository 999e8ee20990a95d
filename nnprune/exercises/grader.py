r"""Grade a student's files: one child process per exercise, with a time and memory limit.

Each exercise runs in a fresh Python process (:mod:`nnprune.exercises.worker`), so

* a loop that never ends is stopped at ``timeout`` seconds and reported as a failed check
  (the checks that finished keep their verdicts; the rest are "not run");
* an allocation beyond ``memory_mb`` (POSIX address-space limit) fails the check with
  ``MemoryError`` instead of swapping the machine;
* what the student prints goes to a file, never into the report's structure (the first
  lines are shown under the report, which helps debugging);
* a student who changes nnprune's objects (monkey-patching, global state) changes them
  only in that process: the next exercise starts clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .harness import CheckResult
from .registry import EXERCISES, Exercise, get

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 2048
OUTPUT_LINES = 8


@dataclass
class ExerciseReport:
    """The verdicts of one exercise on one student file.

    ``status`` is ``"pass"``, ``"fail"``, ``"timeout"`` or ``"missing"`` (no such file).
    """

    exercise: Exercise
    path: Path
    status: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def score(self) -> tuple[int, int]:
        """``(checks passed, checks)``; skipped checks (e.g. no PyTorch) are left out."""
        counted = [r for r in self.results if not r.skipped]
        return sum(r.passed for r in counted), len(counted)


def _root() -> str:
    """The folder holding the ``nnprune`` package, for the child's ``PYTHONPATH``."""
    return str(Path(__file__).resolve().parents[2])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_root(), env.get("PYTHONPATH")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # one exercise, one core: classes grade in parallel
    env["MPLBACKEND"] = "Agg"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the student's folder
    return env


def _kill(proc: subprocess.Popen) -> None:
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
        except ProcessLookupError:
            pass
    else:
        proc.kill()
    proc.wait()


def _read_events(path: Path) -> tuple[list[CheckResult], str | None]:
    """Results written so far, and the check that had started without a result."""
    results, running = [], None
    if not path.exists():
        return results, running
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "start" in event:
            running = str(event["start"])
        else:
            results.append(CheckResult.from_json(event))
            running = None
    return results, running


def _output_lines(path: Path) -> list[str]:
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace")
    lines = head.splitlines()
    if len(lines) > OUTPUT_LINES:
        lines = lines[:OUTPUT_LINES] + ["..."]
    return [line[:96] for line in lines]


def grade(
    exercise_id: str,
    path: str | os.PathLike = ".",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> ExerciseReport:
    """Grade the student's file for ``exercise_id`` found in the folder ``path``.

    Parameters
    ----------
    exercise_id : str
        E.g. ``"ch4.soft_threshold"`` (``nnprune exercises list``).
    path : str or PathLike, default "."
        The folder holding the student's files.
    timeout : float, default 60
        Seconds for all checks of the exercise together.
    memory_mb : int, default 2048
        Address-space limit of the child process (POSIX only; 0 = none).
    """
    from .worker import check_names

    exercise = get(exercise_id)
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"--path must be an existing folder, got {str(path)!r}")
    file = (folder / exercise.filename).resolve()
    names = check_names(exercise)
    if not file.is_file():
        msg = (
            f"no file {exercise.filename} in {folder}: "
            f"`nnprune exercises init {folder}` copies the exercises there"
        )
        return ExerciseReport(exercise, file, "missing", [CheckResult(names[0], False, msg)])

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnprune-check-") as tmp:
        events, out_path = Path(tmp) / "results.jsonl", Path(tmp) / "output.txt"
        command = [sys.executable, "-m", "nnprune.exercises.worker", exercise.id, str(file),
                   str(events), str(int(memory_mb))]  # fmt: skip
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                command,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                start_new_session=os.name == "posix",
            )
            timed_out = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                timed_out = True
        results, running = _read_events(events)
        output = _output_lines(out_path)
    seconds = time.perf_counter() - start

    done = {r.name for r in results}
    missing = [name for name in names if name not in done]
    if running is None and missing:  # stopped between checks, e.g. while importing the file
        running = missing[0]
    for name in missing:
        if name == running and timed_out:
            msg = f"time limit: still running after {timeout:g} s (an endless loop?)"
        elif name == running:
            msg = f"the check process ended with exit code {proc.returncode} during this check"
        else:
            msg = "not run: " + ("time limit reached" if timed_out else "an earlier check crashed")
        results.append(CheckResult(name, False, msg))
    order = {name: i for i, name in enumerate(names)}
    results.sort(key=lambda r: order.get(r.name, len(order)))
    status = "timeout" if timed_out else ("pass" if all(r.passed for r in results) else "fail")
    return ExerciseReport(exercise, file, status, results, seconds, output)


def grade_all(
    path: str | os.PathLike = ".",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    jobs: int = 1,
) -> list[ExerciseReport]:
    """Grade every exercise in ``path``, ``jobs`` child processes at a time, in list order."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"--path must be an existing folder, got {str(path)!r}")

    def one(ex: Exercise) -> ExerciseReport:
        return grade(ex.id, folder, timeout=timeout, memory_mb=memory_mb)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, EXERCISES))


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


def format_report(report: ExerciseReport) -> str:
    """One line per check (PASS/FAIL, name, message, hint, student traceback), then the score."""
    ex = report.exercise
    lines = [f"{ex.id}: {ex.title}", f"  book: {ex.section_title}"]
    for r in report.results:
        head = f"  {'SKIP' if r.skipped else 'PASS' if r.passed else 'FAIL'}  {r.name}"
        message = r.message.splitlines()
        if r.passed:
            lines.append(head + (f" ({message[0]})" if message else ""))
            continue
        lines.append(head)
        lines += _indent("\n".join(message), "        ")
        if r.traceback:
            lines.append("        your code (most recent call last):")
            lines += _indent("\n".join(r.traceback), "          ")
        if r.hint:
            lines += _indent(f"hint: {r.hint}", "        ")
    if report.output:
        lines.append("  output of your code (first lines):")
        lines += ["  | " + line for line in report.output]
    passed, total = report.score
    verdict = {"pass": "all checks pass", "timeout": "time limit reached"}.get(report.status, "")
    lines.append(f"  score {passed}/{total}" + (f": {verdict}" if verdict else ""))
    return "\n".join(lines)


def format_summary(reports: list[ExerciseReport]) -> str:
    """The ``check all`` table: one row per exercise, then the totals (under 100 columns)."""
    width = max(len(r.exercise.id) for r in reports)
    rows = [f"{'exercise':<{width}}  {'score':>7}  {'result':<7}  {'time':>6}  first failure"]
    for r in reports:
        passed, total = r.score
        first = next((x.name for x in r.results if not x.passed), "")
        cell = "MISSING" if r.status == "missing" else r.status.upper()
        room = 100 - (width + 32)
        first = first if len(first) <= room else first[: room - 3] + "..."
        rows.append(
            f"{r.exercise.id:<{width}}  {f'{passed}/{total}':>7}  {cell:<7}  "
            f"{r.seconds:5.1f}s  {first}"
        )
    n_pass = sum(r.passed for r in reports)
    checks = sum(r.score[0] for r in reports), sum(r.score[1] for r in reports)
    rows.append(
        f"{n_pass}/{len(reports)} exercises pass, {checks[0]}/{checks[1]} checks "
        f"(details: nnprune check ID --path DIR)"
    )
    return "\n".join(rows)
