r"""Grade a student's files: the checks run here, the student's code in a worker process.

For each exercise the grader starts one worker (:mod:`nnprune.exercises.worker`) that
imports the student's file and returns data only; every check and every comparison with
the reference runs in this process, which never imports the student's file
(:mod:`nnprune.exercises.remote`). So

* a loop that never ends is stopped at ``timeout`` seconds (for all checks of the
  exercise together) and reported as a failed check (the checks that finished keep their
  verdicts; the rest are "not run");
* an allocation beyond ``memory_mb`` (POSIX address-space limit of the worker) fails the
  check with "your code ran out of memory" instead of swapping the machine;
* what the student prints goes to a file, never into the report (the first lines are
  shown under it, which helps debugging);
* a student who patches NumPy or nnprune (``np.allclose = ...``, ``harness.compare``)
  patches them in the worker, where no verdict is computed; a worker that exits early,
  or sends anything but data with this run's token, fails the check it was in.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import CHECKS, CheckFailed, CheckResult, CheckSkipped
from .registry import EXERCISES, Exercise, get
from .rules import rule_violations

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 2048
OUTPUT_LINES = 8
RULES = "rules: allowed imports only"


@dataclass
class ExerciseReport:
    """The verdicts of one exercise on one student file.

    ``status`` is ``"pass"``, ``"fail"``, ``"timeout"``, ``"error"`` (the file does not
    parse, breaks the import rules or fails at import) or ``"missing"`` (no such file).
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


def _output_lines(path: Path) -> list[str]:
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace")
    lines = head.splitlines()
    if len(lines) > OUTPUT_LINES:
        lines = lines[:OUTPUT_LINES] + ["..."]
    return [line[:96] for line in lines]


def checks_of(exercise: Exercise) -> list[tuple[str, Callable[[Any], None]]]:
    """The registered checks of ``exercise``, in order (importing its chapter's module)."""
    importlib.import_module(f"{__package__}.checks.{exercise.chapter}")
    return list(CHECKS.get(exercise.id, []))


def check_names(exercise: Exercise) -> list[str]:
    """The names of every check, the rules check first: the lines of a report."""
    return [RULES] + [name for name, _ in checks_of(exercise)]


def describe(exc: BaseException) -> CheckResult:
    """A failed check for an exception: the student's (with their frames) or the check's."""
    from .remote import StudentError

    if isinstance(exc, StudentError):
        if exc.kind == "notimpl":
            heads = [line for line in exc.frames if line.startswith("File ")]
            where = heads[-1].rsplit(" in ", 1)[-1] if heads else "a function"
            msg = f"not implemented yet: `{where}` raises NotImplementedError"
            return CheckResult("", False, msg)
        if exc.kind == "memory":
            return CheckResult("", False, "your code ran out of memory", traceback=exc.frames)
        text = f"{exc.type_name.rsplit('.', 1)[-1]}: {exc.text}".strip()
        if len(text) > 500:
            text = text[:500] + " ..."
        if exc.frames:
            return CheckResult("", False, f"your code raised {text}", traceback=exc.frames)
        return CheckResult("", False, f"your code raised {text}")
    text = f"{type(exc).__name__}: {exc}".strip()
    if len(text) > 500:
        text = text[:500] + " ..."
    return CheckResult("", False, f"your answer made the check fail with {text}")


def _rules(exercise: Exercise, path: Path) -> tuple[CheckResult, str | None]:
    """The rules check, and why the other checks cannot run (None when they can)."""
    try:
        source = path.read_text(encoding="utf-8")
        broken = rule_violations(source, exercise.imports, str(path))
    except SyntaxError as exc:
        msg = f"your file does not parse: SyntaxError at line {exc.lineno}: {exc.msg}"
        return CheckResult(RULES, False, msg), "the file does not parse"
    except (OSError, UnicodeDecodeError) as exc:
        return CheckResult(RULES, False, f"cannot read your file: {exc}"), "the file cannot be read"
    allowed = ", ".join(exercise.imports)
    if broken:
        msg = "\n".join(broken) + f"\nthis exercise allows only: {allowed}"
        hint = "write it yourself: calling the library's version is not the exercise"
        return CheckResult(RULES, False, msg, hint), "fix the imports first"
    return CheckResult(RULES, True, f"imports: {allowed}"), None


def run_file(
    exercise: Exercise,
    path: str | os.PathLike,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> tuple[list[CheckResult], str, list[str]]:
    """Run the rules check and every check of ``exercise`` on the student's file ``path``.

    Returns the results, the status (``"pass"``, ``"fail"``, ``"timeout"`` or ``"error"``:
    the file could not be run at all) and the first lines the student's code printed.
    """
    from .remote import Session, WorkerGone

    file = Path(path).resolve()
    checks = checks_of(exercise)
    rules, stop = _rules(exercise, file)
    results = [rules]

    def rest(reason: str, start: int = 0) -> list[CheckResult]:
        return [CheckResult(name, False, f"not run: {reason}") for name, _ in checks[start:]]

    if stop is not None:
        return results + rest(stop), "error", []
    status = "fail"
    with tempfile.TemporaryDirectory(prefix="nnprune-check-") as tmp:
        out_path = Path(tmp) / "output.txt"
        session = Session(timeout, memory_mb, out_path, Path(tmp))
        try:
            try:
                student = session.load(str(file), "student_" + exercise.id.replace(".", "_"))
            except WorkerGone as gone:
                student = None
                msg = gone.message.replace("during this check", "while importing your file")
                results += rest(f"importing your file failed: {msg}")
                status = "timeout" if gone.reason == "timeout" else "error"
            except Exception as exc:  # noqa: BLE001 - the student's module failed at import
                student = None
                results += rest(f"importing your file failed: {describe(exc).message}")
                status = "error"
            if student is not None:
                for i, (name, fn) in enumerate(checks):
                    session.notes.clear()
                    session.warnings.clear()
                    start = time.perf_counter()
                    gone = None
                    try:
                        fn(student)
                        result = CheckResult(name, True)
                    except CheckSkipped as exc:
                        result = CheckResult(name, True, str(exc), skipped=True)
                    except CheckFailed as exc:
                        result = CheckResult(name, False, exc.message, exc.hint)
                    except WorkerGone as exc:
                        gone = exc
                        result = CheckResult(name, False, exc.message)
                    except Exception as exc:  # noqa: BLE001 - a student's error is a failed check
                        result = describe(exc)
                        result.name = name
                    if not result.passed and session.notes:
                        result.message += "\n" + "\n".join(dict.fromkeys(session.notes))
                    result.seconds = time.perf_counter() - start
                    results.append(result)
                    if gone is not None:
                        timed_out = gone.reason == "timeout"
                        why = "time limit reached" if timed_out else "an earlier check crashed"
                        results += rest(why, i + 1)
                        status = "timeout" if timed_out else "fail"
                        break
                else:
                    status = "pass" if all(r.passed for r in results) else "fail"
        finally:
            session.close()
        output = _output_lines(out_path)
    return results, status, output


def run_checks(
    exercise: Exercise, path: str | os.PathLike, emit: Any = None, **limits: Any
) -> list[CheckResult]:
    """The results of :func:`run_file` (``emit`` is accepted for older callers and unused)."""
    return run_file(exercise, path, **limits)[0]


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
        Address-space limit of the worker process (POSIX only; 0 = none).
    """
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
        results = [CheckResult(names[0], False, msg)]
        results += [CheckResult(n, False, "not run: no file") for n in names[1:]]
        return ExerciseReport(exercise, file, "missing", results)
    start = time.perf_counter()
    results, status, output = run_file(exercise, file, timeout=timeout, memory_mb=memory_mb)
    return ExerciseReport(exercise, file, status, results, time.perf_counter() - start, output)


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
