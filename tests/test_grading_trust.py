"""A grade cannot be forged from the student's file: each cheat here returns a wrong answer.

Every student file below answers ``ch4.soft_threshold`` wrongly (zeros) and then tries to
make the grader say PASS: by patching NumPy or the harness, by forging result lines, by
ending the process early, by writing into the grader's pipe. The checks run in the
grading process and the student's code only sends data back, so every one of them FAILs.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nnprune.exercises import grade
from nnprune.exercises.registry import get

EX = "ch4.soft_threshold"
HEAD = "import numpy as np\n\n"
WRONG = (
    "\n\ndef soft_threshold(V, tau):\n    return np.zeros_like(V)\n\n\n"
    "def ista_step(W, grad, lr, lam):\n    return np.zeros_like(W)\n"
)
# the built-in __import__, reached without writing a forbidden name
IMPORT = "imp = soft_threshold.__globals__['__builtins__']['__import__']\n"

CHEATS = {
    "np.allclose always True": "np.allclose = lambda *a, **k: True\n"
    "np.array_equal = lambda *a, **k: True\n",
    "harness.compare replaced via __globals__ __import__": IMPORT
    + "h = imp('nnprune.exercises.harness', fromlist=['compare'])\n"
    "h.compare = lambda what, got, expected, **k: np.asarray(expected)\n"
    "h.require = lambda *a, **k: None\n"
    "c = imp('nnprune.exercises.checks.ch4', fromlist=['compare'])\n"
    "c.compare, c.require = h.compare, h.require\n",
    "PASS lines appended to files and fds named in /proc/self/cmdline, then _exit(0)": IMPORT
    + "os = imp('os')\n"
    "def _forge():\n"
    "    args = open('/proc/self/cmdline', 'rb').read().split(b'\\0')\n"
    "    line = b'{\"name\": \"x\", \"passed\": true}\\n'\n"
    "    names = [b'soft_threshold equals nnprune.regularizers.soft_threshold',\n"
    "             b'ista_step equals soft(W - lr * grad, lr * lam)']\n"
    "    for a in args:\n"
    "        if a.isdigit():\n"
    "            for n in names:\n"
    "                try:\n"
    "                    os.write(int(a), b'{\"name\": \"' + n + b'\", \"passed\": true}\\n')\n"
    "                except OSError:\n"
    "                    pass\n"
    "        elif a.endswith(b'.jsonl') and os.path.isfile(a):  # the old results file\n"
    "            open(a, 'ab').write(line)\n"
    "    os._exit(0)\n",
    "os._exit(0) through np.ctypeslib at import": "np.ctypeslib.ctypes.CDLL(None)._exit(0)\n",
    "SystemExit(0) raised at import": "raise SystemExit(0)\n",
    "the harness's CheckSkipped raised (a skip counts as no failure)": IMPORT
    + "h = imp('nnprune.exercises.harness', fromlist=['CheckSkipped'])\n"
    "def _skip():\n    raise h.CheckSkipped('skipped: no PyTorch')\n",
    "an array subclass whose == is always True": "class Liar(np.ndarray):\n"
    "    def __eq__(self, other):\n        return True\n"
    "    def __array_ufunc__(self, *a, **k):\n        return True\n",
    "garbage written to every open file descriptor": IMPORT
    + "os = imp('os')\n"
    "def _garbage():\n"
    "    for fd in range(3, 64):\n"
    "        try:\n"
    "            os.write(fd, b'\\x10\\0\\0\\0\\0\\0\\0\\0PASS PASS PASS !')\n"
    "        except OSError:\n"
    "            pass\n",
}
# what the wrong functions do besides returning zeros
CALLS = {
    "PASS lines appended to files and fds named in /proc/self/cmdline, then _exit(0)": "_forge()",
    "the harness's CheckSkipped raised (a skip counts as no failure)": "_skip()",
    "an array subclass whose == is always True": "return np.zeros_like(V).view(Liar)",
    "garbage written to every open file descriptor": "_garbage()",
}


def _student(name: str) -> str:
    wrong = WRONG
    if name in CALLS:
        call = CALLS[name]
        old = "    return np.zeros_like(V)\n"
        wrong = wrong.replace(old, f"    {call}\n{old}")
    # the cheat runs after the functions are defined (it may use their __globals__)
    return HEAD + wrong + "\n\n" + CHEATS[name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and ctypes")
@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_does_not_pass(tmp_path, name):
    (tmp_path / get(EX).filename).write_text(_student(name), encoding="utf-8")
    report = grade(EX, tmp_path, timeout=30)
    assert report.status != "pass", [(r.name, r.passed, r.message) for r in report.results]
    checks = report.results[1:]
    assert not any(r.passed for r in checks), [(r.name, r.message) for r in checks]
    assert report.score[0] <= 1  # at most the rules check
    assert np.allclose(np.zeros(2), np.ones(2)) is False  # the grader's NumPy is untouched


def test_the_cheats_fail_for_their_own_reason(tmp_path):
    (tmp_path / get(EX).filename).write_text(_student("os._exit(0) through np.ctypeslib at "
                                                       "import"), encoding="utf-8")  # fmt: skip
    report = grade(EX, tmp_path, timeout=30)
    assert report.status == "error"
    assert "ended with exit code 0 while importing your file" in report.results[1].message
    forged = "PASS lines appended to files and fds named in /proc/self/cmdline, then _exit(0)"
    (tmp_path / get(EX).filename).write_text(_student(forged), encoding="utf-8")
    report = grade(EX, tmp_path, timeout=30)
    first = report.results[1]
    assert not first.passed
    assert (
        "exit code 0 during this check" in first.message
        or "not an answer" in first.message
        or "token" in first.message
    ), first.message
    assert report.results[2].message == "not run: an earlier check crashed"


def test_a_correct_file_still_passes_after_a_cheat(tmp_path):
    """The solution passes (the worker of the cheat is gone, nothing leaked into the grader)."""
    from pathlib import Path

    solution = Path(__file__).resolve().parents[1] / "exercises" / "solutions" / get(EX).filename
    (tmp_path / get(EX).filename).write_text(_student("np.allclose always True"), "utf-8")
    assert not grade(EX, tmp_path, timeout=30).passed
    (tmp_path / get(EX).filename).write_text(solution.read_text("utf-8"), "utf-8")
    assert grade(EX, tmp_path, timeout=30).passed


FRAME_THIEF = '''import numpy as np


def polynomial_sparsity(step, initial, final, begin, end, power=3.0):
    imp = polynomial_sparsity.__globals__['__builtins__']['__import__']
    frame = imp('inspect').currentframe().f_back
    while frame is not None:  # the checker's frames: take the expected value from them
        if 'truth' in frame.f_locals:
            return frame.f_locals['truth']
        frame = frame.f_back
    return 0.0


def should_prune(step, begin, end, frequency):
    imp = should_prune.__globals__['__builtins__']['__import__']
    frame = imp('inspect').currentframe().f_back
    while frame is not None:
        if 'sched' in frame.f_locals:
            return frame.f_locals['sched'](step)[0]
        frame = frame.f_back
    return False
'''


def test_reading_the_expected_value_from_the_checkers_frames_fails(tmp_path):
    ex = "ch5.polynomial_schedule"
    (tmp_path / get(ex).filename).write_text(FRAME_THIEF, encoding="utf-8")
    report = grade(ex, tmp_path, timeout=30)
    assert not report.passed and not any(r.passed for r in report.results[1:]), [
        (r.name, r.message) for r in report.results]  # fmt: skip


PARAM_LIAR = '''from nnprune import nn
from nnprune.rng import as_generator


def simple_cnn(in_channels=3, image_size=32, num_classes=10, seed=0):
    model = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size**2, num_classes))
    model.num_parameters = lambda: 545098  # the count the first check expects
    return model
'''


def test_a_model_whose_methods_are_replaced_is_not_measured_by_them(tmp_path):
    ex = "appc.simple_cnn"
    (tmp_path / get(ex).filename).write_text(PARAM_LIAR, encoding="utf-8")
    report = grade(ex, tmp_path, timeout=60)
    assert not any(r.passed for r in report.results[1:]), [(r.name, r.message)
                                                           for r in report.results]  # fmt: skip
    assert "built from nnprune's own classes" in report.results[1].message
