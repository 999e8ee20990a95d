r"""Run one exercise's checks on one student file (in-process; the grader runs it in a child).

``python -m nnprune.exercises.worker ID FILE RESULTS [MEMORY_MB]`` writes one JSON line
per event to ``RESULTS``: ``{"start": name}`` before a check, then its result. The grader
reads that file, so whatever the student prints goes to the child's stdout and cannot
break the report, and when the child is killed at the time limit the grader knows which
check was running.

A student's exception becomes a failed check whose traceback holds only the frames of
the student's own file.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import CHECKS, CheckFailed, CheckResult, CheckSkipped
from .registry import Exercise, get
from .rules import rule_violations

RULES = "rules: allowed imports only"


def checks_of(exercise: Exercise) -> list[tuple[str, Callable[[Any], None]]]:
    """The registered checks of ``exercise``, in order (importing its chapter's module)."""
    importlib.import_module(f"{__package__}.checks.{exercise.chapter}")
    return list(CHECKS.get(exercise.id, []))


def check_names(exercise: Exercise) -> list[str]:
    """The names of every check, the rules check first: the lines of a report."""
    return [RULES] + [name for name, _ in checks_of(exercise)]


def student_frames(exc: BaseException, filename: str) -> list[str]:
    """The traceback lines of ``exc`` that lie in the student's file (``filename``)."""
    target = os.path.realpath(filename)
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            lines.append(
                f'File "{Path(frame.filename).name}", line {frame.lineno}, in {frame.name}'
            )
            if frame.line:
                lines.append(f"  {frame.line.strip()}")
    return lines


def describe(exc: BaseException, filename: str) -> CheckResult:
    """A failed check for an exception raised while a check ran the student's code."""
    frames = student_frames(exc, filename)
    if isinstance(exc, NotImplementedError):
        heads = [line for line in frames if line.startswith("File ")]
        where = heads[-1].rsplit(" in ", 1)[-1] if heads else "a function"
        return CheckResult("", False, f"not implemented yet: `{where}` raises NotImplementedError")
    if isinstance(exc, MemoryError):
        return CheckResult("", False, "your code ran out of memory", traceback=frames)
    text = f"{type(exc).__name__}: {exc}".strip()
    if len(text) > 500:
        text = text[:500] + " ..."
    if frames:
        return CheckResult("", False, f"your code raised {text}", traceback=frames)
    return CheckResult("", False, f"your answer made the check fail with {text}")


def load_student(path: str, exercise: Exercise) -> Any:
    """Import the student's file as a fresh module."""
    name = "student_" + exercise.id.replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_checks(
    exercise: Exercise, path: str, emit: Callable[[dict], None] | None = None
) -> list[CheckResult]:
    """Run the rules check and every check of ``exercise`` on the file ``path``.

    ``emit`` receives ``{"start": name}`` before each check and each result's JSON after it.
    """
    emit = emit or (lambda event: None)
    checks = checks_of(exercise)
    results: list[CheckResult] = []

    def not_run(reason: str) -> list[CheckResult]:
        rest = [CheckResult(name, False, f"not run: {reason}") for name, _ in checks]
        for r in rest:
            emit(r.to_json())
        return results + rest

    emit({"start": RULES})
    try:
        source = Path(path).read_text(encoding="utf-8")
        broken = rule_violations(source, exercise.imports, path)
    except SyntaxError as exc:
        msg = f"your file does not parse: SyntaxError at line {exc.lineno}: {exc.msg}"
        results.append(CheckResult(RULES, False, msg))
        emit(results[-1].to_json())
        return not_run("the file does not parse")
    except (OSError, UnicodeDecodeError) as exc:
        results.append(CheckResult(RULES, False, f"cannot read your file: {exc}"))
        emit(results[-1].to_json())
        return not_run("the file cannot be read")
    allowed = ", ".join(exercise.imports)
    if broken:
        msg = "\n".join(broken) + f"\nthis exercise allows only: {allowed}"
        hint = "write it yourself: calling the library's version is not the exercise"
        results.append(CheckResult(RULES, False, msg, hint))
        emit(results[-1].to_json())
        return not_run("fix the imports first")
    results.append(CheckResult(RULES, True, f"imports: {allowed}"))
    emit(results[-1].to_json())

    try:
        student = load_student(path, exercise)
    except BaseException as exc:  # noqa: BLE001 - anything the student's module does at import
        if isinstance(exc, KeyboardInterrupt):
            raise
        failed = describe(exc, path)
        return not_run(f"importing your file failed: {failed.message}")

    for name, fn in checks:
        emit({"start": name})
        start = time.perf_counter()
        try:
            fn(student)
            result = CheckResult(name, True)
        except CheckSkipped as exc:
            result = CheckResult(name, True, str(exc), skipped=True)
        except CheckFailed as exc:
            result = CheckResult(name, False, exc.message, exc.hint)
        except BaseException as exc:  # noqa: BLE001 - a student's error is a failed check
            if isinstance(exc, KeyboardInterrupt):
                raise
            result = describe(exc, path)
            result.name = name
        result.seconds = time.perf_counter() - start
        results.append(result)
        emit(result.to_json())
    return results


def _limit_memory(megabytes: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no limit
        return
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process: ``ID FILE RESULTS [MEMORY_MB]``."""
    args = sys.argv[1:] if argv is None else argv
    exercise_id, path, results_path = args[:3]
    if len(args) > 3 and int(args[3]) > 0:
        _limit_memory(int(args[3]))
    exercise = get(exercise_id)
    with open(results_path, "a", encoding="utf-8") as out:

        def emit(event: dict) -> None:
            out.write(json.dumps(event) + "\n")
            out.flush()

        run_checks(exercise, path, emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
