r"""A check's verdicts, as exceptions: :class:`CheckFailed` and :class:`CheckSkipped`.

Checks import them from :mod:`nnprune.exercises.harness`; they live here so that the
grader's stand-ins (:mod:`nnprune.exercises.remote`) can raise them without importing the
harness.
"""

from __future__ import annotations


class CheckFailed(AssertionError):
    """A check's verdict: the student's answer is wrong. ``hint`` names a recognised mistake."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class CheckSkipped(Exception):  # noqa: N818 - a verdict, like CheckFailed
    """The check does not apply here (e.g. no PyTorch): SKIP, and left out of the score."""
