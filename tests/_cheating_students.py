"""Cheating student files: each answers wrongly and tries to make the grader say PASS.

Shared by ``tests/test_grading_trust.py`` and the forged-grade cases of
``benchmarks/bench_reliability.py`` (part 4), so both try the same files.

Every file in :data:`CHEATS` answers ``ch4.soft_threshold`` wrongly (zeros) and then
tries to make the grader say PASS: by patching NumPy or the harness, by forging result
lines, by ending the process early, by writing into the grader's pipe.
:data:`FRAME_THIEF` reads the expected value from the checker's frames, and
:data:`PARAM_LIAR` replaces a method the checker could measure the model with.
"""

from __future__ import annotations

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


def student(name: str) -> str:
    """The student file of the cheat ``name`` (a key of :data:`CHEATS`) for :data:`EX`."""
    wrong = WRONG
    if name in CALLS:
        call = CALLS[name]
        old = "    return np.zeros_like(V)\n"
        wrong = wrong.replace(old, f"    {call}\n{old}")
    # the cheat runs after the functions are defined (it may use their __globals__)
    return HEAD + wrong + "\n\n" + CHEATS[name]


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


PARAM_LIAR = '''from nnprune import nn
from nnprune.rng import as_generator


def simple_cnn(in_channels=3, image_size=32, num_classes=10, seed=0):
    model = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size**2, num_classes))
    model.num_parameters = lambda: 545098  # the count the first check expects
    return model
'''


def forged_grades() -> list[tuple[str, str, str]]:
    """Every cheat as ``(label, exercise id, source of the student file)``."""
    cases = [(name, EX, student(name)) for name in CHEATS]
    cases.append(("expected value read from the checker's frames", "ch5.polynomial_schedule",
                  FRAME_THIEF))  # fmt: skip
    cases.append(("model.num_parameters replaced by a constant", "appc.simple_cnn", PARAM_LIAR))
    return cases
