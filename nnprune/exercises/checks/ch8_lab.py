"""Checks of the chapter-8 lab exercise: ERK layer sparsities (§8.2).

Imported by :mod:`nnprune.exercises.checks.ch8` (the worker imports one module per chapter).
The student gets weight shapes; the checker builds layers of those shapes and asks
:func:`nnprune.pipeline.layer_sparsities`.
"""

from __future__ import annotations

import math

import numpy as np

from ..harness import as_array, check, compare, function, require

EX = "ch8.erk_sparsities"
CASES = (
    ([(300, 784), (100, 300), (10, 100)], 0.9),  # LeNet-300-100: the last layer stays dense
    ([(16, 1, 3, 3), (32, 16, 3, 3), (64, 32, 3, 3), (10, 1024)], 0.8),
    ([(64, 64), (64, 64)], 0.5),  # equal layers: the uniform answer
    ([(4, 2), (300, 784), (3, 4)], 0.95),  # two tiny layers, both dense
)


def _truth(shapes, sparsity):
    from ...nn import Conv2d, Linear, Sequential
    from ...pipeline import layer_sparsities

    layers = [Linear(s[1], s[0]) if len(s) == 2 else Conv2d(s[1], s[0], s[2]) for s in shapes]
    return list(layer_sparsities(Sequential(*layers), sparsity, "erk").values())


def _no_redistribution(shapes, sparsity):
    size = [math.prod(s) for s in shapes]
    score = [sum(s) / math.prod(s) for s in shapes]
    eps = (1 - sparsity) * sum(size) / sum(r * n for r, n in zip(score, size, strict=True))
    return [max(0.0, 1 - eps * r) for r in score]


@check(EX, "erk_sparsities equals nnprune.pipeline.layer_sparsities(..., 'erk')")
def _erk(student):
    fn = function(student, "erk_sparsities")
    for shapes, s in CASES:
        truth = np.array(_truth(shapes, s))
        got = as_array(fn([tuple(x) for x in shapes], s), "erk_sparsities(shapes, s)")
        case = f"shapes {shapes}, sparsity {s}"
        compare("the sparsities", got, truth, case=case, mistakes=[
            ("a layer that would be denser than dense stays dense, and the other layers give up "
             "what it holds beyond its share: re-solve for epsilon",
             _no_redistribution(shapes, s)),
            ("ERK spreads the sparsity: small layers get more density, not the same sparsity",
             [s] * len(shapes)),
            ("the score is sum(shape) / prod(shape), not its inverse",
             _inverse(shapes, s)),
        ])  # fmt: skip


@check(EX, "the layers' zeros add up to the overall sparsity, each sparsity in [0, 1)")
def _budget(student):
    fn = function(student, "erk_sparsities")
    for shapes, s in CASES:
        got = as_array(fn([tuple(x) for x in shapes], s), "erk_sparsities(shapes, s)")
        got = got.astype(float).reshape(-1)
        case = f"shapes {shapes}, sparsity {s}"
        require(got.shape == (len(shapes),), f"{case}: {got.size} sparsities for "
                f"{len(shapes)} layers")  # fmt: skip
        require(bool(np.all((got >= -1e-12) & (got < 1))), f"{case}: sparsities "
                f"{np.round(got, 4).tolist()} leave [0, 1)",
                "a density above 1 means the layer stays dense (sparsity 0)")  # fmt: skip
        size = np.array([math.prod(x) for x in shapes])
        zeros = float(np.sum(got * size))
        require(abs(zeros - s * size.sum()) < 1e-6 * size.sum(),
                f"{case}: the layers hold {zeros:.1f} zeros, expected s * n = "
                f"{s * size.sum():.1f}",
                "clipping a layer at density 1 frees zeros the other layers must take: "
                "re-solve for epsilon without it")  # fmt: skip


def _inverse(shapes, sparsity):
    size = [math.prod(s) for s in shapes]
    score = [math.prod(s) / sum(s) for s in shapes]
    eps = (1 - sparsity) * sum(size) / sum(r * n for r, n in zip(score, size, strict=True))
    return [1 - eps * r for r in score]
