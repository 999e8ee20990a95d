"""nnprune.checks: every check's accept/reject boundary, by message."""

import ast
import math
import pathlib
import re

import numpy as np
import pytest

from nnprune import checks
from nnprune.checks import (
    check_bool,
    check_finite,
    check_fraction,
    check_int,
    check_nonnegative,
    check_nonnegative_int,
    check_one_of,
    check_pair,
    check_positive,
    check_positive_int,
    check_probability,
    check_real,
    check_sgd,
    check_sparsity,
)

INF, NAN = math.inf, math.nan


def _rejects(call, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()


# ---------------------------------------------------------------- integers


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(1)])
def test_positive_int_accepts(value):
    out = check_positive_int("n", value)
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [0, -1, 1.0, 2.5, True, np.True_, "1", None, INF, NAN])
def test_positive_int_rejects(value):
    _rejects(lambda: check_positive_int("n", value), f"n must be a positive integer, got {value!r}")


@pytest.mark.parametrize("value", [0, 5, np.int32(0)])
def test_nonnegative_int_accepts(value):
    out = check_nonnegative_int("k", value)
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [-1, 0.0, False, np.False_, "0", INF])
def test_nonnegative_int_rejects(value):
    _rejects(
        lambda: check_nonnegative_int("k", value),
        f"k must be a non-negative integer, got {value!r}",
    )


def test_int_bounds_are_inclusive_and_messages_name_them():
    assert check_int("k", -5) == -5
    assert check_int("k", 0, minimum=0, maximum=0) == 0
    assert check_int("k", np.int64(6), minimum=0, maximum=6) == 6
    _rejects(lambda: check_int("k", 1.0), "k must be an integer, got 1.0")
    _rejects(lambda: check_int("k", True), "k must be an integer, got True")
    _rejects(lambda: check_int("step", -1, minimum=0), "step must be an integer >= 0, got -1")
    _rejects(lambda: check_int("k", 3, maximum=2), "k must be an integer <= 2, got 3")
    _rejects(
        lambda: check_int("k", 7, minimum=0, maximum=6), "k must be an integer in [0, 6], got 7"
    )


# ---------------------------------------------------------------- reals


@pytest.mark.parametrize("value", [0, -3, 2.5, np.float32(1.5), np.float64(-1e300), np.int8(4)])
def test_finite_accepts_ints_floats_and_numpy_scalars(value):
    out = check_finite("x", value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [INF, -INF, NAN, np.float64(INF), True, np.True_, "1", None, 1j])
def test_finite_rejects_inf_nan_bool_and_non_numbers(value):
    _rejects(lambda: check_finite("x", value), f"x must be a finite real number, got {value!r}")


def test_positive_boundary():
    assert check_positive("lr", 1e-300) == 1e-300
    for bad in (0, 0.0, -1e-9, INF, NAN, True):
        _rejects(
            lambda bad=bad: check_positive("lr", bad),
            f"lr must be a finite real number > 0, got {bad!r}",
        )


def test_nonnegative_boundary_rejects_inf():
    assert check_nonnegative("lam", 0) == 0.0
    assert check_nonnegative("lam", np.float32(2)) == 2.0
    for bad in (-1e-9, INF, NAN, False):
        _rejects(
            lambda bad=bad: check_nonnegative("lam", bad),
            f"lam must be a finite real number >= 0, got {bad!r}",
        )


def test_real_one_sided_and_two_sided_bounds():
    assert check_real("zeta", 1.1, low=1.0, low_inclusive=False) == 1.1
    _rejects(
        lambda: check_real("zeta", 1.0, low=1.0, low_inclusive=False),
        "zeta must be a finite real number > 1, got 1.0",
    )
    assert check_real("gamma", -0.1, high=0.0, high_inclusive=False) == -0.1
    _rejects(
        lambda: check_real("gamma", 0.0, high=0.0, high_inclusive=False),
        "gamma must be a finite real number < 0, got 0.0",
    )
    _rejects(
        lambda: check_real("gamma", -INF, high=0.0, high_inclusive=False),
        "gamma must be a finite real number < 0, got -inf",
    )
    _rejects(lambda: check_real("t", 0.25, low=0.5, high=2.5), "t must be in [0.5, 2.5], got 0.25")
    assert check_real("t", 2.5, low=0.5, high=2.5) == 2.5


# ---------------------------------------------------------------- fractions


@pytest.mark.parametrize(
    ("low_inclusive", "high_inclusive", "interval"),
    [
        (True, False, "[0, 1)"),
        (True, True, "[0, 1]"),
        (False, False, "(0, 1)"),
        (False, True, "(0, 1]"),
    ],
)
def test_fraction_ends(low_inclusive, high_inclusive, interval):
    def call(v):
        return check_fraction(
            "val_size", v, low_inclusive=low_inclusive, high_inclusive=high_inclusive
        )

    assert call(0.5) == 0.5
    for end, inclusive in ((0.0, low_inclusive), (1.0, high_inclusive)):
        if inclusive:
            assert call(end) == end
        else:
            _rejects(lambda end=end: call(end), f"val_size must be in {interval}, got {end!r}")
    for bad in (-0.1, 1.5, NAN, INF, True, "0.5"):
        _rejects(lambda bad=bad: call(bad), f"val_size must be in {interval}, got {bad!r}")


def test_sparsity_is_the_half_open_unit_interval():
    assert check_sparsity("sparsity", 0) == 0.0
    assert check_sparsity("sparsity", np.float32(0.5)) == 0.5
    _rejects(lambda: check_sparsity("sparsity", 1.5), "sparsity must be in [0, 1), got 1.5")
    _rejects(lambda: check_sparsity("sparsity", 1), "sparsity must be in [0, 1), got 1")
    _rejects(lambda: check_sparsity("sparsity", NAN), "sparsity must be in [0, 1), got nan")


def test_probability_upper_end():
    assert check_probability("p", 0.0) == 0.0
    _rejects(lambda: check_probability("p", 1.0), "p must be in [0, 1), got 1.0")
    assert check_probability("p", 1.0, upper_inclusive=True) == 1.0
    _rejects(
        lambda: check_probability("p", 1.01, upper_inclusive=True), "p must be in [0, 1], got 1.01"
    )
    _rejects(lambda: check_probability("p", -0.0001), "p must be in [0, 1), got -0.0001")


# ---------------------------------------------------------------- others


def test_bool():
    assert check_bool("bias", True) is True
    assert check_bool("bias", np.False_) is False
    for bad in (0, 1, "True", None, np.int64(1)):
        _rejects(
            lambda bad=bad: check_bool("bias", bad), f"bias must be True or False, got {bad!r}"
        )


def test_pair():
    assert check_pair("kernel_size", 3) == (3, 3)
    assert check_pair("kernel_size", (2, np.int64(4))) == (2, 4)
    assert check_pair("padding", [0, 1], minimum=0) == (0, 1)
    assert check_pair("kernel_size", np.array([2, 3])) == (2, 3)
    for bad in (0, (1, 0), (1, 2, 3), (1.0, 2), True, (True, 2), "ab", None):
        _rejects(
            lambda bad=bad: check_pair("kernel_size", bad),
            f"kernel_size must be an int >= 1 or a pair of them, got {bad!r}",
        )
    _rejects(
        lambda: check_pair("padding", -1, minimum=0),
        "padding must be an int >= 0 or a pair of them, got -1",
    )


def test_one_of():
    assert check_one_of("scope", "layer", ("layer", "global")) == "layer"
    assert check_one_of("dim", np.int64(1), (0, 1)) == 1
    _rejects(
        lambda: check_one_of("scope", "net", ("layer", "global")),
        "scope must be one of ['layer', 'global'], got 'net'",
    )
    _rejects(lambda: check_one_of("dim", True, (0, 1)), "dim must be one of [0, 1], got True")
    _rejects(
        lambda: check_one_of("mode", np.zeros(2), ["auto"]),
        "mode must be one of ['auto'], got array([0., 0.])",
    )


def test_sgd_settings_are_converted_and_each_error_names_its_argument():
    lr, momentum, batch_size = check_sgd(np.float32(0.5), 0, np.int64(8))
    assert (lr, momentum, batch_size) == (0.5, 0.0, 8)
    assert type(lr) is float and type(momentum) is float and type(batch_size) is int
    _rejects(lambda: check_sgd(0, 0.9, 8), "lr must be a finite real number > 0, got 0")
    _rejects(
        lambda: check_sgd(0.1, -0.5, 8), "momentum must be a finite real number >= 0, got -0.5"
    )
    with pytest.raises(ValueError, match="^batch_size must be "):
        check_sgd(0.1, 0.9, 0)


def test_every_public_check_is_tested_here_and_listed():
    public = {n for n in dir(checks) if n.startswith("check_")}
    assert public == set(checks.__all__)
    source = pathlib.Path(__file__).read_text(encoding="utf-8")
    assert [n for n in sorted(public) if source.count(n + "(") == 0] == []


def test_checks_module_imports_nothing_from_nnprune():
    tree = ast.parse(pathlib.Path(checks.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("nnprune")
        elif isinstance(node, ast.Import):
            assert all(a.name in {"math", "numbers", "numpy"} for a in node.names)
