r"""Argument checks: one rule per check, one message form.

Every public function of nnprune checks its arguments at the boundary and
raises an error that names the argument and the value it got::

    ValueError: sparsity must be in [0, 1), got 1.5

The generic checks live here, each with one rule stated in its docstring:

* numbers are real (``numbers.Real``, NumPy scalars included) and **finite**
  (``inf`` and ``nan`` are refused) unless a check's name says otherwise;
* ``bool`` (and ``numpy.bool_``) is never accepted as a number: ``True`` is
  not ``1``;
* each check returns the value as a plain Python ``int``/``float``/``tuple``,
  so callers store ``self.p = check_probability("p", p)``;
* bad values raise ``ValueError`` (also for a value of the wrong type, the
  way the library has always done it).

What belongs here: checks that need nothing but the value (a count, a
fraction, a choice from a list, a pair of ints). What stays in its module:
validators that encode that module's knowledge, such as a layer's input shape
(``nn/_validate.py``), a prunable parameter of a module (``prune/_checks.py``),
an attention padding mask or a storage format. Those call the checks here for
their generic part. This module is the bottom layer: it imports only the
standard library and NumPy, nothing from nnprune.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "check_bool",
    "check_finite",
    "check_fraction",
    "check_int",
    "check_nonnegative",
    "check_nonnegative_int",
    "check_one_of",
    "check_pair",
    "check_positive",
    "check_positive_int",
    "check_probability",
    "check_real",
    "check_sgd",
    "check_sparsity",
]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _equal(a: Any, b: Any) -> bool:
    try:
        result = a == b
    except Exception:  # an array compared with a string, say
        return False
    return isinstance(result, bool | np.bool_) and bool(result)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool if it is ``True`` or ``False`` (or a NumPy bool).

    Ints such as ``0`` and ``1`` are refused.

    Raises
    ------
    ValueError
        ``{name} must be True or False, got {value!r}``.
    """
    if not _is_bool(value):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int if it is an integer in ``[minimum, maximum]``.

    An integer is a ``numbers.Integral`` (NumPy integers included), not a bool
    and not an integral float such as ``2.0``. A bound left ``None`` is open.

    Raises
    ------
    ValueError
        ``{name} must be an integer, got ...``, ``... an integer >= {minimum}
        ...``, ``... an integer <= {maximum} ...`` or ``... an integer in
        [{minimum}, {maximum}] ...``.
    """
    if minimum is not None and maximum is not None:
        rule = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        rule = f"an integer >= {minimum}"
    elif maximum is not None:
        rule = f"an integer <= {maximum}"
    else:
        rule = "an integer"
    ok = _is_int(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer ``>= 1`` (see :func:`check_int`).

    Raises
    ------
    ValueError
        ``{name} must be a positive integer, got {value!r}``.
    """
    if not (_is_int(value) and value >= 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nonnegative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer ``>= 0`` (see :func:`check_int`).

    Raises
    ------
    ValueError
        ``{name} must be a non-negative integer, got {value!r}``.
    """
    if not (_is_int(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds.

    ``inf`` and ``nan`` are always refused, whatever the bounds; a bound left
    ``None`` is open. Ints and NumPy scalars are accepted, bools are not.

    Raises
    ------
    ValueError
        ``{name} must be a finite real number, got ...`` without bounds;
        ``... a finite real number > {low}`` (or ``>=``, ``<``, ``<=``) with one;
        ``{name} must be in [{low}, {high}), got ...`` (brackets following the
        inclusiveness) with both.
    """
    if low is not None and high is not None:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        rule = f"in {left}{_bound(low)}, {_bound(high)}{right}"
    elif low is not None:
        rule = f"a finite real number {'>=' if low_inclusive else '>'} {_bound(low)}"
    elif high is not None:
        rule = f"a finite real number {'<=' if high_inclusive else '<'} {_bound(high)}"
    else:
        rule = "a finite real number"
    ok = _is_real(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return float(value)


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number (no inf, no nan, no bool).

    Raises
    ------
    ValueError
        ``{name} must be a finite real number, got {value!r}``.
    """
    return check_real(name, value)


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number ``> 0``.

    Raises
    ------
    ValueError
        ``{name} must be a finite real number > 0, got {value!r}``.
    """
    return check_real(name, value, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number ``>= 0``.

    Raises
    ------
    ValueError
        ``{name} must be a finite real number >= 0, got {value!r}``.
    """
    return check_real(name, value, low=0.0)


def check_sgd(lr: Any, momentum: Any, batch_size: Any) -> tuple[float, float, int]:
    """Return the SGD settings ``(lr, momentum, batch_size)`` checked and converted.

    ``lr`` by :func:`check_positive`, ``momentum`` by :func:`check_nonnegative`,
    ``batch_size`` by :func:`check_positive_int`, each under its own name.

    Raises
    ------
    ValueError
        The message of the first check that fails, e.g.
        ``lr must be a finite real number > 0, got 0``.
    """
    return (
        check_positive("lr", lr),
        check_nonnegative("momentum", momentum),
        check_positive_int("batch_size", batch_size),
    )


def check_fraction(
    name: str, value: Any, *, low_inclusive: bool = True, high_inclusive: bool = False
) -> float:
    """Return ``value`` as a float if it lies in the unit interval.

    The interval is ``[0, 1)`` by default; ``low_inclusive`` and
    ``high_inclusive`` open or close either end. ``nan`` and bools are refused.

    Raises
    ------
    ValueError
        ``{name} must be in [0, 1), got {value!r}`` (brackets following the ends).
    """
    return check_real(
        name,
        value,
        low=0.0,
        high=1.0,
        low_inclusive=low_inclusive,
        high_inclusive=high_inclusive,
    )


def check_probability(name: str, value: Any, *, upper_inclusive: bool = False) -> float:
    """Return ``value`` as a float in ``[0, 1)``, or in ``[0, 1]`` if ``upper_inclusive``.

    The ``[0, 1)`` default is the rule of a drop probability (``p = 1`` would
    drop everything and divide by zero).

    Raises
    ------
    ValueError
        ``{name} must be in [0, 1), got {value!r}`` (or ``[0, 1]``).
    """
    return check_fraction(name, value, high_inclusive=upper_inclusive)


def check_sparsity(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a target sparsity, a fraction of zeros in ``[0, 1)``.

    Sparsity 1 (every weight zero) is refused: no target in nnprune means it.

    Raises
    ------
    ValueError
        ``{name} must be in [0, 1), got {value!r}``.
    """
    return check_fraction(name, value)


def check_pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """Return an int or a pair of ints as a pair, each integer ``>= minimum``.

    ``3`` becomes ``(3, 3)``; a list or tuple of length 2 is checked entry by
    entry. Bools are refused, as in :func:`check_int`.

    Raises
    ------
    ValueError
        ``{name} must be an int >= {minimum} or a pair of them, got {value!r}``.
    """
    if _is_int(value):
        pair: tuple[Any, ...] = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(_is_int(v) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_one_of(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it equals one of ``choices`` (compared with ``==``).

    Bools are not taken for ``0``/``1`` when the choices are ints.

    Raises
    ------
    ValueError
        ``{name} must be one of [...], got {value!r}``, listing the choices.
    """
    options = list(choices)
    ok = any(_is_bool(value) == _is_bool(c) and _equal(value, c) for c in options)
    if not ok:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value
