"""Checks of the chapter-3 lab exercise: channel importance from the next layer (§3.1).

Imported by :mod:`nnprune.exercises.checks.ch3` (the worker imports one module per chapter).
"""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function

EX = "ch3.next_layer_importance"


def _norms(w, axis, p):
    """Reference: the L_p norm over every axis but ``axis`` (einsum-free, by a loop)."""
    w = np.asarray(w, dtype=np.float64)
    return np.array([np.linalg.norm(np.take(w, c, axis=axis).ravel(), ord=p)
                     for c in range(w.shape[axis])])  # fmt: skip


@check(EX, "input_channel_importance: norm over the next layer's input channel")
def _conv(student):
    fn = function(student, "input_channel_importance")
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 4, 3, 3))
    for p in (2, 1):
        truth = _norms(w, 1, p)
        got = as_array(fn(w.copy(), p), f"input_channel_importance(w, p={p})")
        if got.shape == (5,):
            raise CheckFailed(f"w_next (5, 4, 3, 3), p={p}: the result has shape (5,), "
                              "expected (4,)", "wrong axis: the channels of layer i are the "
                              "INPUT channels of layer i + 1, axis 1 of (out, in, kH, kW)")
        compare("the importance", got, truth, case=f"w_next (5, 4, 3, 3), p={p}",
                mistakes=[("the L2 norm: take the square root of the sum of squares",
                           truth**2),
                          ("|w| ** p, not w ** p", np.sum(np.moveaxis(w, 1, 0).reshape(4, -1)
                                                          ** p, axis=1) ** (1 / p))])  # fmt: skip
    lin = rng.normal(size=(3, 6))
    compare("the importance", fn(lin.copy(), 2), _norms(lin, 1, 2),
            case="a Linear next layer (3, 6): one column per input")


@check(EX, "flatten_channel_importance: Flatten is channel-major (C, H, W)")
def _flatten(student):
    fn = function(student, "flatten_channel_importance")
    rng = np.random.default_rng(1)
    C, H, W = 3, 2, 2
    w_fc = rng.normal(size=(5, C * H * W))
    blocks = w_fc.reshape(5, C, H * W)
    truth = _norms(blocks, 1, 2)
    strided = _norms(w_fc.reshape(5, H * W, C), 2, 2)
    compare("the importance", fn(w_fc.copy(), C, 2), truth,
            case="Linear (5, 12) after Flatten of (3, 2, 2)",
            mistakes=[("PyTorch flattens channel first: channel c is the H*W consecutive "
                       "columns c*H*W ... (c+1)*H*W - 1, not every C-th column", strided)])


@check(EX, "channels_to_prune: the n smallest scores, sorted, ties to the smaller index")
def _prune(student):
    fn = function(student, "channels_to_prune")
    scores = np.array([0.4, 0.1, 0.9, 0.1, 0.3, 2.0])
    for n in (0, 2, 3):
        truth = np.sort(np.argsort(scores, kind="stable")[:n])
        compare("the pruned channels", as_array(fn(scores.copy(), n), "channels_to_prune"),
                truth, case=f"scores {scores.tolist()}, n={n}",
                mistakes=[("prune the SMALLEST scores (least important)",
                           np.sort(np.argsort(-scores, kind="stable")[:n]))])  # fmt: skip
