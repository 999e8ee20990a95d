r"""What a check is, and the helpers checks use to compare a student's answer with the truth.

A check is a function ``check(student)`` that receives the student's loaded module and
either returns (PASS) or raises :class:`CheckFailed` with a message that names the case,
the expected and the received value and, where the mistake is a common one, a hint.
Checks register themselves with :func:`check` in the order they are defined, so the
report lists them in that order.

:func:`compare` does the usual work: shape first (a transposed result is recognised),
then the values, then a list of *known mistakes* (``("wrong sign", -expected)``, ...): when
the student's answer equals one of them, its hint goes into the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .verdicts import CheckFailed, CheckSkipped

# exercise id -> list of (check name, function), in definition order
CHECKS: dict[str, list[tuple[str, Callable[[Any], None]]]] = {}

Mistakes = Sequence[tuple[str, Any]]


@dataclass
class CheckResult:
    """One line of the report."""

    name: str
    passed: bool
    message: str = ""
    hint: str | None = None
    traceback: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "hint": self.hint,
            "traceback": self.traceback,
            "seconds": self.seconds,
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> CheckResult:
        return cls(
            name=str(row["name"]),
            passed=bool(row["passed"]),
            message=str(row.get("message", "")),
            hint=row.get("hint"),
            traceback=[str(line) for line in row.get("traceback", [])],
            seconds=float(row.get("seconds", 0.0)),
            skipped=bool(row.get("skipped", False)),
        )


def check(exercise_id: str, name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register ``fn(student)`` as the next check of ``exercise_id``, shown as ``name``."""

    def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        CHECKS.setdefault(exercise_id, []).append((name, fn))
        return fn

    return register


def function(student: Any, name: str, *, keep_inputs: bool = False) -> Callable[..., Any]:
    """The student's function (or class) ``name``, or a failed check saying it is missing.

    When grading, ``student`` is the stand-in of the student's module in its worker process
    (:mod:`nnprune.exercises.remote`): the function returned sends its arguments (copies,
    as data) to the worker and returns the student's result as data. A write into an
    argument is copied back into the caller's array and noted under a failed check's
    message; with ``keep_inputs=True`` (a task that says the inputs stay unchanged) the
    write itself fails the check.
    """
    from .remote import RemoteObject, label_function

    if isinstance(student, RemoteObject):
        try:
            fn = getattr(student, name)
        except AttributeError:
            fn = None
        if not isinstance(fn, RemoteObject) or not fn.remote_callable:
            raise CheckFailed(f"your file defines no function or class named {name!r}")
        return label_function(fn, name, keep_inputs)
    fn = getattr(student, name, None)
    if fn is None or not callable(fn):
        raise CheckFailed(f"your file defines no function or class named {name!r}")
    return fn


def student_warnings(student: Any) -> list[str]:
    """The warnings the student's code gave during this check (``"RuntimeWarning: ..."``).

    NumPy's overflow, divide and invalid warnings are turned on for every call, so a
    naive ``np.exp(-x)`` that overflows shows here even when its result happens to be right.
    """
    from .remote import RemoteObject

    if isinstance(student, RemoteObject):
        return list(object.__getattribute__(student, "_session").warnings)
    return []


def plain(value: Any, what: str) -> Any:
    """``value`` when it is data or a genuine nnprune object, else a failed check.

    An object the student's code made from its own class (or an nnprune layer holding
    one, or one whose methods were replaced) stays in the student's process, so its
    methods are the student's: a check that measures it with its own methods (e.g.
    ``model.num_parameters()``) first asks for a plain one.
    """
    from .remote import RemoteObject

    if isinstance(value, RemoteObject):
        raise CheckFailed(
            f"{what} must be built from nnprune's own classes, got your "
            f"{value.remote_type} object (your own class, or a layer whose attributes hold "
            "functions)"
        )
    return value


def as_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a NumPy array, or a failed check naming ``what`` when it is not array-like."""
    if value is None:
        raise CheckFailed(f"{what} is None: did you forget a `return`?")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any conversion error is the student's
        raise CheckFailed(f"{what} is not an array ({type(value).__name__}): {exc}") from None
    if arr.dtype == object:
        raise CheckFailed(f"{what} is not a numeric array (got {type(value).__name__})")
    return arr


def _show(a: np.ndarray) -> str:
    text = np.array2string(np.asarray(a), precision=4, separator=", ", threshold=12)
    return " ".join(text.split())


def _matches(got: np.ndarray, wrong: Any, rtol: float, atol: float) -> bool:
    try:
        wrong = np.asarray(wrong() if callable(wrong) else wrong)
    except Exception:  # noqa: BLE001 - a mistake that cannot be computed does not match
        return False
    if wrong.shape != got.shape:
        return False
    if got.dtype == bool or wrong.dtype == bool:
        return bool(np.array_equal(got.astype(bool), wrong.astype(bool)))
    return bool(np.allclose(got, wrong, rtol=rtol, atol=atol, equal_nan=False))


def which_mistake(
    got: Any, mistakes: Mistakes, rtol: float = 1e-6, atol: float = 1e-9
) -> str | None:
    """The hint of the first known mistake that ``got`` equals, else None."""
    arr = np.asarray(got)
    for hint, wrong in mistakes:
        if _matches(arr, wrong, rtol, atol):
            return hint
    return None


def compare(
    what: str,
    got: Any,
    expected: Any,
    *,
    case: str,
    mistakes: Mistakes = (),
    rtol: float = 1e-6,
    atol: float = 1e-9,
    hint: str | None = None,
) -> np.ndarray:
    """Check ``got`` against ``expected`` (shape, dtype kind, values); return ``got`` as an array.

    Parameters
    ----------
    what : str
        What is compared, e.g. ``"dx"`` or ``"the mask"``.
    case : str
        The test case, shown first in the message, e.g. ``"x of shape (2, 3)"``.
    mistakes : sequence of (hint, array or callable)
        Known wrong answers; if ``got`` equals one, its hint is shown.
    hint : str, optional
        Shown when no known mistake matches.
    """
    expected = np.asarray(expected)
    got = as_array(got, what)
    if got.shape != expected.shape:
        extra = _shape_hint(got.shape, expected.shape)
        raise CheckFailed(
            f"{case}: {what} has shape {got.shape}, expected {expected.shape}",
            extra or which_mistake(got, mistakes, rtol, atol) or hint,
        )
    if expected.dtype == bool:
        if got.dtype != bool:
            raise CheckFailed(f"{case}: {what} must be a bool array, got dtype {got.dtype}", hint)
        if np.array_equal(got, expected):
            return got
        diff = int((got != expected).sum())
        where = tuple(int(i) for i in np.argwhere(got != expected)[0])
        n_got, n_exp = int((~got).sum()), int((~expected).sum())
        count = (
            f"you pruned {n_got}, expected {n_exp} (False entries)"
            if n_got != n_exp
            else f"you pruned the right number ({n_exp}) but not the same entries"
        )
        msg = (
            f"{case}: {what} differs in {diff} of {expected.size} entries; {count}\n"
            f"  first at index {where}: expected {bool(expected[where])}, got {bool(got[where])}"
        )
        if expected.size <= 24:
            msg += (
                f"\n  expected {_show(expected.astype(int))}\n  got      {_show(got.astype(int))}"
            )
        raise CheckFailed(msg, which_mistake(got, mistakes, rtol, atol) or hint)
    if got.dtype.kind not in "biuf":
        raise CheckFailed(f"{case}: {what} must be a real array, got dtype {got.dtype}", hint)
    if not np.all(np.isfinite(got)):
        raise CheckFailed(
            f"{case}: {what} contains nan or inf",
            which_mistake(got, mistakes, rtol, atol) or hint,
        )
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return got
    err = np.abs(got.astype(np.float64) - expected)
    where = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    where = tuple(int(i) for i in where)
    msg = (
        f"{case}: {what} differs from the expected value\n"
        f"  largest difference {float(err.max()):.3g} at index {where}: "
        f"expected {float(expected[where]):.6g}, got {float(got[where]):.6g}"
    )
    if expected.size <= 12:
        msg += f"\n  expected {_show(expected)}\n  got      {_show(got)}"
    known = which_mistake(got, mistakes, rtol, atol)
    if known is None and got.ndim >= 2 and got.shape[0] == got.shape[1]:
        swapped = np.swapaxes(expected, 0, 1)
        if not np.allclose(expected, swapped) and np.allclose(got, swapped, rtol=rtol, atol=atol):
            known = (
                "your answer is the transpose of the expected one (axes 0 and 1 swapped, "
                "e.g. w.T): check which axis is which (PyTorch layout: (out, in, ...))"
            )
    raise CheckFailed(msg, known or hint)


def _shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str | None:
    """A hint for a recognised wrong shape: transposed axes, an output size one short."""
    if len(got) != len(expected):
        return None
    if len(got) >= 2 and sorted(got) == sorted(expected):
        return (
            f"the axes are in another order ({got} vs {expected}): a transpose (w.T) or the "
            "wrong axis; check which axis is which (PyTorch layout: (out, in, ...))"
        )
    off = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    if off and all(expected[i] - got[i] == 1 for i in off) and len(got) >= 3:
        return (
            f"axis {off[0]} is one short ({got[off[0]]} instead of {expected[off[0]]}): an output "
            "size is (L + 2 * padding - K) // stride + 1; did you forget the + 1?"
        )
    return None


def require(condition: bool, message: str, hint: str | None = None) -> None:
    """Fail with ``message`` (and ``hint``) unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message, hint)


def need_torch() -> Any:
    """``torch`` if it is installed, else a skipped check (left out of the score)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise CheckSkipped("skipped: PyTorch is not installed")
    import torch

    return torch
