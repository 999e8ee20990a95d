"""One name for random choices: every public argument is ``seed``."""

import ast
import pathlib
import re

import numpy as np
import pytest
from _repo import repo_files

from nnprune import nn
from nnprune.rng import as_generator

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nnprune"
THIS = pathlib.Path(__file__).resolve()


def test_no_public_function_takes_rng():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if any(a.arg == "rng" for a in args):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert offenders == []


def test_no_call_or_example_passes_rng():
    """Docstring examples, benchmarks, chapters and docs are not all run: grep them."""
    pattern = re.compile(r"[(, ]rng=")
    offenders = []
    for path in repo_files({".py", ".md"}):
        if path == THIS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_rng_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(2, 3, rng=0)


def test_int_seed_and_generator_give_the_same_weights():
    a = nn.Linear(4, 3, seed=7)
    b = nn.Linear(4, 3, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c = nn.Linear(4, 3, seed=8)
    assert not np.array_equal(a.weight.data, c.weight.data)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "0"])
def test_as_generator_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        as_generator(bad)
