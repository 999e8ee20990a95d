"""Feedback a student gets for recognised mistakes: counts, a missing + 1, transposes,
writes into inputs, a SiLU that overflows; and what `exercises list` shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnprune.cli import main
from nnprune.exercises import EXERCISES, list_lines
from nnprune.exercises.grader import run_checks
from nnprune.exercises.harness import CheckFailed, compare
from nnprune.exercises.registry import get

SOLUTIONS = Path(__file__).resolve().parents[1] / "exercises" / "solutions"


def _run(tmp_path, exercise_id, old, new):
    text = (SOLUTIONS / get(exercise_id).filename).read_text("utf-8")
    assert old in text, f"the solution of {exercise_id} no longer contains {old!r}"
    (tmp_path / get(exercise_id).filename).write_text(text.replace(old, new), "utf-8")
    results = run_checks(get(exercise_id), tmp_path / get(exercise_id).filename)
    return [r for r in results if not r.passed]


def test_one_weight_too_many_says_how_many(tmp_path):
    failed = _run(tmp_path, "ch3.l1_unstructured", "else round(amount * W.size)",
                  "else round(amount * W.size) + 1")  # fmt: skip
    assert failed
    assert "you pruned 7, expected 6" in failed[0].message, failed[0].message


def test_same_count_other_entries():
    expected = np.array([True, False, True, True])
    with pytest.raises(CheckFailed) as info:
        compare("the mask", ~expected[::-1] | np.array([1, 0, 0, 0], bool), expected, case="c")
    assert "you pruned" in info.value.message


def test_conv_output_size_without_plus_one(tmp_path):
    failed = _run(tmp_path, "ch7.conv_flops",
                  "oh = (input_hw[0] + 2 * padding - kh) // stride + 1\n"
                  "    ow = (input_hw[1] + 2 * padding - kw) // stride + 1",
                  "oh = (input_hw[0] + 2 * padding - kh) // stride\n"
                  "    ow = (input_hw[1] + 2 * padding - kw) // stride")  # fmt: skip
    assert failed and "forgot the + 1" in (failed[0].hint or ""), failed[0]


def test_shapes_one_short_and_transposes_are_named():
    with pytest.raises(CheckFailed) as info:
        compare("y", np.zeros((2, 3, 7)), np.zeros((2, 3, 8)), case="c")
    assert "did you forget the + 1" in info.value.hint
    with pytest.raises(CheckFailed) as info:
        compare("w", np.zeros((3, 4, 2, 2)), np.zeros((4, 3, 2, 2)), case="c")
    assert "another order" in info.value.hint
    a = np.arange(9.0).reshape(3, 3)
    with pytest.raises(CheckFailed) as info:
        compare("w", a.T, a, case="c")
    assert "transpose" in info.value.hint


def test_returned_transpose_is_recognised(tmp_path):
    failed = _run(tmp_path, "ch3.remove_neuron", "np.delete(w2, j, axis=1)",
                  "np.delete(w2, j, axis=1).T")  # fmt: skip
    assert failed and "transpose" in (failed[0].hint or "").lower(), failed[0]


def test_a_task_that_forbids_writing_into_inputs_fails_on_it(tmp_path):
    failed = _run(tmp_path, "ch5.corrected_loop",
                  "    params = {n: w * masks[n] for n, w in params.items()}\n",
                  "    for n in params:\n        params[n] *= masks[n]\n")  # fmt: skip
    names = [r.name for r in failed]
    assert any(n.startswith("prune_retrain") for n in names), names
    loop = next(r for r in failed if r.name.startswith("prune_retrain"))
    assert "prune_retrain wrote into its input `params`, which the task forbids" in loop.message


def test_an_in_place_update_is_reported_as_such(tmp_path):
    failed = _run(tmp_path, "ch5.corrected_loop",
                  "    return {n: masks[n] * (w - lr * grads[n]) for n, w in params.items()}",
                  "    for n, w in params.items():\n        w -= lr * grads[n]\n"
                  "        w *= masks[n]\n    return params")  # fmt: skip
    update = next(r for r in failed if r.name.startswith("update_parameters"))
    assert "update_parameters wrote into its input `params`" in update.message, update.message


def test_naive_silu_that_overflows_fails(tmp_path):
    failed = _run(tmp_path, "ch1.silu_backward",
                  "        e = np.exp(-np.abs(x))\n"
                  "        s = np.where(x >= 0, 1.0, e) / (1.0 + e)\n",
                  "        s = 1.0 / (1.0 + np.exp(-x))\n")  # fmt: skip
    assert [r.name for r in failed] == ["forward values, no overflow in np.exp at x = -1000"]
    assert "overflow" in failed[0].message and "np.abs(x)" in failed[0].hint


def test_list_shows_section_and_difficulty(capsys):
    assert main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for ex, line in zip(EXERCISES, lines, strict=True):
        assert line.split()[0] == ex.id
        assert f"§{ex.section}" in line
        assert "*" * ex.difficulty in line and 1 <= ex.difficulty <= 3
    assert lines == list_lines() and all(len(line) <= 100 for line in lines)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.id)
def test_each_solution_says_why_it_is_right_and_the_usual_mistake(ex):
    import re

    text = (SOLUTIONS / ex.filename).read_text("utf-8")
    blocks = "".join(re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", text, re.S))
    assert re.search(r"^\s*# Why( this is right)?: ", blocks, re.M), ex.id
    assert re.search(r"Usual\s+(#\s*)?mistakes?:", blocks), ex.id
    # inside the solution block: the student's file does not get them
    from nnprune.exercises import stub_source

    assert "Why this is right" not in stub_source(ex.id)
