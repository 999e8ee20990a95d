"""Classroom exercises: `nnprune exercises list|init`, `nnprune check ID|all`.

Every stub fails (exit 1, a message, no checker traceback); every reference solution passes;
typical wrong answers are rejected with their hint; time limits, cheat detection, printing
and monkey-patching students are handled.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from nnprune.book import section
from nnprune.cli import main
from nnprune.exercises import EXERCISES, grade, init_exercises, list_lines, stub_source
from nnprune.exercises.authoring import make_stub
from nnprune.exercises.registry import BY_ID, get
from nnprune.exercises.rules import rule_violations
from nnprune.exercises.worker import run_checks

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "exercises" / "solutions"
CHAPTERS = ["ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8", "appc"]


def solution(exercise_id: str) -> str:
    return (SOLUTIONS / get(exercise_id).filename).read_text(encoding="utf-8")


def write(folder: Path, exercise_id: str, text: str) -> Path:
    path = folder / get(exercise_id).filename
    path.write_text(text, encoding="utf-8")
    return path


def wrong(exercise_id: str, old: str | tuple, new: str | tuple) -> str:
    """The solution with ``old`` replaced by ``new`` (tuples: several replacements)."""
    text = solution(exercise_id)
    pairs = zip(old, new, strict=True) if isinstance(old, tuple) else [(old, new)]
    for a, b in pairs:
        assert a in text, f"the solution of {exercise_id} no longer contains {a!r}"
        text = text.replace(a, b)
    return text


# ------------------------------------------------------------------ the list and the files
def test_at_least_two_exercises_per_chapter_and_thirty_two_in_all():
    assert len(EXERCISES) >= 32 and len(set(BY_ID)) == len(EXERCISES)
    assert set(LAB) <= set(BY_ID)
    for chapter in CHAPTERS:
        assert sum(ex.chapter == chapter for ex in EXERCISES) >= 2, chapter
    for ex in EXERCISES:
        assert section(ex.section).zh == ex.chinese_title
        assert (SOLUTIONS / ex.filename).is_file(), ex.id


def test_list_prints_one_id_per_line(capsys):
    assert main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [ex.id for ex in EXERCISES]
    assert main(["check", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == lines == list_lines()
    assert all(len(line) <= 100 for line in lines)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.id)
def test_stubs_are_the_solutions_without_the_marked_code(ex):
    stub = make_stub(solution(ex.id))
    assert stub_source(ex.id) == stub  # shipped in the package
    assert (REPO / "exercises" / ex.filename).read_text(encoding="utf-8") == stub
    assert "NotImplementedError" in stub and "BEGIN SOLUTION" not in stub
    assert ex.chinese_title in stub and f"nnprune check {ex.id}" in stub  # how to check


def test_the_wheel_ships_the_student_files():
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["nnprune.exercises"]
    shipped = {
        p.name for pattern in patterns for p in (REPO / "nnprune" / "exercises").glob(pattern)
    }
    assert shipped == {ex.filename for ex in EXERCISES}


def test_init_copies_every_stub_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "class" / "alice"
    assert main(["exercises", "init", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(ex.filename for ex in EXERCISES)
    capsys.readouterr()
    (target / EXERCISES[0].filename).write_text("# my work\n", encoding="utf-8")
    assert main(["exercises", "init", str(target)]) == 2
    assert "already in" in capsys.readouterr().err
    assert (target / EXERCISES[0].filename).read_text(encoding="utf-8") == "# my work\n"
    with pytest.raises(FileExistsError, match="never overwrites"):
        init_exercises(target)


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["check", "ch9.nothing", "--path", str(tmp_path)]) == 2
    assert "unknown exercise 'ch9.nothing'" in capsys.readouterr().err
    assert main(["check", "ch4.soft_threshold", "--path", str(tmp_path / "nope")]) == 2
    assert "--path must be an existing folder" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert "needs an exercise ID" in capsys.readouterr().err


# ------------------------------------------------------------------ stubs and solutions, CLI
@pytest.mark.slow
def test_every_stub_fails_with_a_message_and_no_checker_traceback(tmp_path, capsys):
    init_exercises(tmp_path)
    assert main(["check", "all", "--path", str(tmp_path), "--jobs", "2", "-v"]) == 1
    out = capsys.readouterr().out
    table = out[out.rindex("\nexercise ") + 1 :].splitlines()
    assert all(len(row) <= 100 for row in table)
    for ex in EXERCISES:
        row = next(r for r in table if r.startswith(ex.id + " "))
        assert " FAIL " in row, row
    assert f"0/{len(EXERCISES)} exercises pass" in out
    # the reports: the rules pass, every other check fails with a message
    assert out.count("score 1/") == len(EXERCISES)
    assert "not implemented yet: `soft_threshold` raises NotImplementedError" in out
    assert "Traceback" not in out and "nnprune/exercises" not in out


@pytest.mark.slow
def test_every_solution_passes(capsys):
    assert main(["check", "all", "--path", str(SOLUTIONS), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(EXERCISES)}/{len(EXERCISES)} exercises pass" in out
    assert main(["check", "ch3.l1_unstructured", "--path", str(SOLUTIONS)]) == 0
    report = capsys.readouterr().out
    assert "PASS  masks equal nnprune's L1Unstructured" in report
    torch_parity = importlib.util.find_spec("torch") is not None  # else that check is a SKIP
    assert ("score 3/3" if torch_parity else "score 2/2") + ": all checks pass" in report


def test_missing_file_is_reported(tmp_path, capsys):
    assert main(["check", "ch8.nm_mask", "--path", str(tmp_path)]) == 1
    assert "no file ch8_nm_mask.py" in capsys.readouterr().out


# ------------------------------------------------------------------ typical wrong answers
WRONG = [
    ("ch1.softmax_ce_grad", "    return p / len(target)", "    return -p / len(target)",
     "wrong sign: it is softmax - onehot"),
    ("ch1.masked_momentum", "    buf = buf * mask\n    return (w - lr * buf) * mask, buf",
     "    return w - lr * buf, buf", "forgot the mask"),
    ("ch2.sparsity_measures", "return float(np.mean(~out_alive)), float(np.mean(~in_alive))",
     "return float(np.mean(~in_alive)), float(np.mean(~out_alive))", "wrong axis"),
    ("ch3.l1_unstructured", "else round(amount * W.size)", "else int(amount * W.size)",
     "k = round(amount * n)"),
    ("ch3.ln_structured", "    axes = tuple(", "    dim = 0  # the mistake\n    axes = tuple(",
     "wrong axis"),
    ("ch4.soft_threshold", "return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)",
     "return np.where(np.abs(V) > tau, V, 0.0)", "hard thresholding"),
    ("ch5.corrected_loop", "{n: masks[n] * (w - lr * grads[n])", "{n: (w - lr * grads[n])",
     "forgot the mask"),
    ("ch6.head_importance", "np.abs(gate_grads).mean(axis=0)", "np.abs(gate_grads.mean(axis=0))",
     "gradients of opposite sign must not cancel"),
    ("ch7.recurrent_removal", "rows = [g * hidden + j for g in range(num_gates)]", "rows = [j]",
     "in EVERY gate"),
    ("ch8.nm_mask", ("np.abs(W), 1, -1)", "-1, 1)"), ("np.abs(W), 0, -1)", "-1, 0)"),
     "wrong axis"),
    ("appc.simple_cnn", "        nn.ReLU(),\n        nn.Linear(128", "        nn.Linear(128",
     "one linear map"),
    ("appc.l1_weights_only", "for _, _, _, p in model.prunable_parameters())",
     "for p in model.parameters())", "penalise the prunable weights only"),
    # the lab exercises (issue 21)
    ("ch2.weight_histogram", "return int(np.sum(w == 0)), ",
     "return int(np.sum(np.isclose(w, 0))), ", "np.isclose(w, 0) also counts"),
    ("ch3.next_layer_importance", "reshape(len(w_fc), channels, -1)",
     "reshape(len(w_fc), -1, channels).transpose(0, 2, 1)", "PyTorch flattens channel first"),
    ("ch3.fine_vs_channel", "np.linalg.norm(W1, axis=1)", "np.linalg.norm(W2, axis=0)",
     "INCOMING weights"),
    ("ch4.irls_step", "np.diag(1.0 / (np.abs(x) + eps))", "np.diag(np.abs(x) + eps)",
     "not |x| + eps"),
    ("ch4.lasso_admm", "soft_threshold(x + u, lam / rho)", "soft_threshold(x + u, lam)",
     "threshold at lam / rho"),
    ("ch5.sensitivity_budget", "    scan, sparsities = np.asarray(scan),",
     "    return [1 - budget / sum(sizes)] * len(sizes)\n    scan, sparsities = np.asarray(scan),",
     "one sparsity for every layer"),
    ("ch5.book_loop", "        W_pruned = W * (np.abs(W) > threshold)\n        W = W_pruned - lr *",
     "        W = W - lr * gradients\n        W = W * (np.abs(W) > threshold)\n        0 *",
     "run it as written"),
    ("ch6.conv_bn_removal", '("conv1.weight", "conv1.bias", "bn.weight", "bn.bias")',
     '("conv1.weight", "conv1.bias")', "zeroing conv1's filter is not enough"),
    ("ch7.latency_vs_macs", "return float(np.median(times)), times",
     "return float(np.mean(times)), times", "the median, not the mean"),
    ("ch7.latency_vs_macs", "return batch * per_row", "return per_row", "multiply by the batch"),
    ("ch5.sensitivity_budget",
     "    for l in range(len(weights)):\n        for j, s in enumerate(sparsities):\n"
     "            trial = list(weights)\n",
     "    trial = list(weights)\n    for l in range(len(weights)):\n"
     "        for j, s in enumerate(sparsities):\n", "prune one layer at a time"),
    ("ch5.book_loop", "np.abs(W) <= threshold", "np.abs(W) < threshold",
     "below means |w| <= threshold"),
    ("ch4.irls_step", "lam * np.diag", "lam / 2 * np.diag", "lam, not lam / 2"),
    ("ch2.weight_histogram", "m4 / m2**2 - 3.0", "m4 / m2**2", "EXCESS kurtosis"),
    ("ch8.erk_sparsities",
     ("        if eps * top <= 1:\n            break\n", "else 1 - eps * score[i] for"),
     ("        break\n", "else max(0.0, 1 - eps * score[i]) for"), "re-solve for epsilon"),
    ("ch3.next_layer_importance",
     "np.moveaxis(np.asarray(w_next), 1, 0).reshape(np.shape(w_next)[1], -1)",
     "np.asarray(w_next).reshape(np.shape(w_next)[0], -1)", "wrong axis"),
]  # fmt: skip
LAB = ["ch2.weight_histogram", "ch3.next_layer_importance", "ch3.fine_vs_channel",
       "ch4.irls_step", "ch4.lasso_admm", "ch5.sensitivity_budget", "ch5.book_loop",
       "ch6.conv_bn_removal", "ch7.latency_vs_macs", "ch8.erk_sparsities"]  # fmt: skip


@pytest.mark.parametrize("exercise_id", LAB)
def test_a_lab_exercise_is_passed_by_its_solution_and_failed_by_its_stub(exercise_id):
    ex = get(exercise_id)
    passed = run_checks(ex, str(SOLUTIONS / ex.filename))
    assert all(r.passed and not r.skipped for r in passed), [(r.name, r.message) for r in passed]
    failed = run_checks(ex, str(REPO / "exercises" / ex.filename))
    assert failed[0].passed  # the rules: an untouched stub imports only what it may
    assert len(failed) >= 3 and not any(r.passed for r in failed[1:]), failed
    assert all("not implemented yet" in r.message for r in failed[1:])


@pytest.mark.parametrize("exercise_id, old, new, hint", WRONG, ids=[w[0] for w in WRONG])
def test_a_typical_mistake_is_rejected_with_its_hint(tmp_path, exercise_id, old, new, hint):
    path = write(tmp_path, exercise_id, wrong(exercise_id, old, new))
    results = run_checks(get(exercise_id), str(path))
    failed = [r for r in results if not r.passed]
    assert failed, f"{exercise_id}: the wrong answer passed"
    assert any(hint in (r.hint or "") for r in failed), [(r.message, r.hint) for r in failed]


def test_wrong_answers_cover_every_chapter():
    assert {get(w[0]).chapter for w in WRONG} == set(CHAPTERS)


def test_failed_check_shows_case_expected_and_got(tmp_path):
    path = write(tmp_path, "ch4.soft_threshold",
                 wrong("ch4.soft_threshold", "np.abs(V) - tau", "np.abs(V) - 2 * tau"))  # fmt: skip
    first = next(r for r in run_checks(get("ch4.soft_threshold"), str(path)) if not r.passed)
    assert first.message.startswith("tau = 0.5: soft_threshold(V, tau) differs")
    assert "expected" in first.message and "got" in first.message


# ------------------------------------------------------------------ robustness
def test_student_exception_shows_only_the_students_lines(tmp_path, capsys):
    write(
        tmp_path,
        "ch8.nm_mask",
        wrong("ch8.nm_mask", "    last = np.moveaxis", "    1 / 0\n    last = np.moveaxis"),
    )
    assert main(["check", "ch8.nm_mask", "--path", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "your code raised ZeroDivisionError: division by zero" in out
    assert 'File "ch8_nm_mask.py", line' in out and "in nm_mask" in out and "1 / 0" in out
    assert "nnprune/exercises" not in out and "Traceback" not in out


def test_endless_loop_is_a_failed_check_at_the_time_limit(tmp_path, capsys):
    write(tmp_path, "ch5.polynomial_schedule",
          wrong("ch5.polynomial_schedule", "    p = min(", "    while True:\n        pass\n"
                "    p = min("))  # fmt: skip
    assert main(["check", "ch5.polynomial_schedule", "--path", str(tmp_path),
                 "--timeout", "4"]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "FAIL  polynomial_sparsity equals" in out
    assert "time limit: still running after 4 s" in out
    assert "not run: time limit reached" in out  # the check after it
    assert "PASS  rules" in out


def test_printing_and_monkey_patching_do_not_break_the_report(tmp_path):
    noisy = wrong(
        "ch4.group_lasso_prox",
        "    axes = tuple(",
        "    print('debug', V.shape)\n    print('{\"start\": \"x\"}')\n    axes = tuple(",
    )
    write(tmp_path, "ch4.group_lasso_prox", noisy)
    report = grade("ch4.group_lasso_prox", tmp_path, timeout=60)
    assert report.passed and any("debug" in line for line in report.output)
    # a student who breaks nnprune's Linear in one exercise breaks nothing in the next
    vandal = solution("ch1.silu_backward").replace(
        "from nnprune.nn import Module",
        "from nnprune.nn import Linear, Module\n\nLinear.forward = None",
    )
    write(tmp_path, "ch1.silu_backward", vandal)
    write(tmp_path, "ch3.remove_neuron", solution("ch3.remove_neuron"))
    assert grade("ch1.silu_backward", tmp_path, timeout=60).passed
    assert grade("ch3.remove_neuron", tmp_path, timeout=60).passed


def test_calling_nnprunes_own_version_is_refused(tmp_path):
    cheat = wrong(
        "ch4.soft_threshold",
        "import numpy as np\n",
        "import numpy as np\n\nfrom nnprune.regularizers import soft_threshold as st\n",
    )
    cheat = cheat.replace(
        "    return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)", "    return st(V, tau)"
    )
    path = write(tmp_path, "ch4.soft_threshold", cheat)
    results = run_checks(get("ch4.soft_threshold"), str(path))
    assert not results[0].passed
    assert "`from nnprune.regularizers import soft_threshold` is not allowed" in results[0].message
    assert all(r.message.startswith("not run: fix the imports") for r in results[1:])


@pytest.mark.parametrize(
    "source, allowed, found",
    [
        ("import numpy as np\nfrom numpy.linalg import norm", ("numpy",), []),
        ("import scipy.sparse", ("numpy",), ["`import scipy.sparse` is not allowed"]),
        ("from nnprune import nn", ("numpy", "nnprune.nn"), []),
        ("from nnprune import prune", ("numpy", "nnprune.nn"), ["`from nnprune import prune`"]),
        ("import nnprune.nn", ("nnprune.nn",), ["binds the whole package"]),
        ("import nnprune.nn as nn", ("nnprune.nn",), []),
        ("m = __import__('nnprune')", ("numpy",), ["`__import__` is not allowed"]),
        ("import importlib", ("numpy",), ["`import importlib` is not allowed"]),
        ("x = eval('1')", ("numpy",), ["`eval` is not allowed"]),
        ("from . import x", ("numpy",), ["relative import"]),
    ],
)
def test_rules(source, allowed, found):
    messages = rule_violations(source, allowed)
    assert len(messages) == len(found)
    for message, part in zip(messages, found, strict=True):
        assert part in message


def test_syntax_error_is_reported_not_raised(tmp_path):
    path = write(tmp_path, "ch2.csr_matvec", "def to_csr(W:\n")
    results = run_checks(get("ch2.csr_matvec"), str(path))
    assert "does not parse: SyntaxError at line 1" in results[0].message
    assert not any(r.passed for r in results)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_a_huge_allocation_is_a_failed_check(tmp_path):
    write(tmp_path, "ch4.soft_threshold",
          wrong("ch4.soft_threshold", "    return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)",
                "    return np.ones(10**10)"))  # fmt: skip
    report = grade("ch4.soft_threshold", tmp_path, timeout=60)
    assert report.status == "fail"
    assert report.results[1].message == "your code ran out of memory"
