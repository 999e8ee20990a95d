"""Every "Try this" that is a parameter change works as written: applied, it changes the numbers.

Each ``Try(text, (old, new), changes)`` of a lesson is applied to the lesson's source
(``old`` must appear exactly once before ``lesson.try_this``), the edited lesson runs in
quick mode, and the numbers held by its global ``changes`` must differ from those of the
unedited quick run. Every lesson also tells the reader, at its top and in Chinese and
English, that editing ``nnprune/`` changes what it prints (an editable install).
"""

from __future__ import annotations

import ast
import contextlib
import io
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
LESSONS = sorted(p.stem for p in CHAPTERS.glob("*.py"))


def tries(stem: str) -> list[tuple[str, tuple[str, str], str]]:
    """The ``Try(text, (old, new), changes)`` calls of a lesson, read from its source."""
    found = []
    for node in ast.walk(ast.parse((CHAPTERS / f"{stem}.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Try":
            args = [ast.literal_eval(a) for a in node.args]
            args += [ast.literal_eval(k.value) for k in node.keywords]
            if len(args) == 3:
                found.append(tuple(args))
    return found


EDITS = [(stem, i) for stem in LESSONS for i in range(len(tries(stem)))]


def numbers(value, depth: int = 0) -> list[float]:
    """Every number inside ``value`` (dicts, lists, tuples, arrays), in order."""
    if depth > 6:
        return []
    if isinstance(value, bool | int | float | np.number):
        return [float(value)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(float).ravel().tolist()
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in numbers(k, depth + 1) + numbers(v, depth + 1)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in numbers(v, depth + 1)]
    return []


def test_numbers_and_tries_are_read():
    assert numbers({"a": [1, 2.5], "b": np.array([3]), "c": object()}) == [1.0, 2.5, 3.0]
    assert any(t[2] == "bytes_rows" for t in tries("ch02_sparsity"))
    assert len(EDITS) >= 10


@pytest.mark.parametrize("stem", LESSONS)
def test_each_lesson_says_that_editing_the_library_changes_it(stem):
    head = (CHAPTERS / f"{stem}.py").read_text(encoding="utf-8").split("\n# %%\n")[0]
    assert "pip install -e ." in head and "修改" in head and "changes what this lesson" in head


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "index"), EDITS, ids=[f"{s}-{i}" for s, i in EDITS])
def test_a_try_this_edit_changes_the_printed_numbers(stem, index, run_lesson, tmp_path):
    text, (old, new), changes = tries(stem)[index]
    source = (CHAPTERS / f"{stem}.py").read_text(encoding="utf-8")
    body, sep, tail = source.partition("lesson.try_this(")
    assert body.count(old) == 1, f"{stem}: {old!r} must appear once before the Try this part"
    edited = tmp_path / f"{stem}.py"
    edited.write_text(body.replace(old, new) + sep + tail, encoding="utf-8")
    original, _ = run_lesson(stem)
    argv, sys.argv = sys.argv, [str(edited), "--quick", "--out", str(tmp_path)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            env = runpy.run_path(str(edited), run_name="__main__")
    finally:
        sys.argv = argv
    before, after = numbers(original[changes]), numbers(env[changes])
    assert before, f"{stem}: {changes} holds no numbers"
    assert before != after, f"{stem}: {text!r} left {changes} unchanged"
