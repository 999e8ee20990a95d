"""Checks of the chapter-3 lab exercise: fine-grained vs channel pruning, measured (§3.3).

Imported by :mod:`nnprune.exercises.checks.ch3` (the worker imports one module per chapter).
The MLP 64-64-10 is trained here from a fixed seed (:mod:`._digits`); the student gets arrays.
"""

from __future__ import annotations

import numpy as np

from ..harness import as_array, check, compare, function, require
from ._digits import trained_mlp

EX = "ch3.fine_vs_channel"


def _case():
    W, B, _, (Xv, yv) = trained_mlp((64, 64, 10), 150)
    return W[0], B[0], W[1], B[1], Xv, yv


def _acc(W1, b1, W2, b2, X, y):
    return float(np.mean(np.argmax(np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, axis=1) == y))


def _channel(W1, b1, W2, n, by="rows"):
    score = np.linalg.norm(W1, axis=1) if by == "rows" else np.linalg.norm(W2, axis=0)
    keep = np.sort(np.argsort(-score, kind="stable")[:n])
    return W1[keep], b1[keep], W2[:, keep]


def _topk(a, n):
    keep = np.zeros(a.size, dtype=bool)
    keep[np.argsort(-np.abs(a).ravel(), kind="stable")[:n]] = True
    return a * keep.reshape(a.shape)


def _fine(W1, W2, n, scope="global"):
    if scope == "layer":  # the same fraction in each layer
        f = n / (W1.size + W2.size)
        return _topk(W1, round(f * W1.size)), _topk(W2, round(f * W2.size))
    both = _topk(np.concatenate([W1.ravel(), W2.ravel()]), n)
    return both[: W1.size].reshape(W1.shape), both[W1.size :].reshape(W2.shape)


def _csr(W):
    return 8 * np.count_nonzero(W) + 4 * (W.shape[0] + 1)


@check(EX, "channel_prune keeps the hidden units of largest incoming norm")
def _channel_check(student):
    fn = function(student, "channel_prune")
    W1, b1, W2, *_ = _case()
    got = fn(W1.copy(), b1.copy(), W2.copy(), 20)
    require(isinstance(got, tuple | list) and len(got) == 3,
            f"return (W1, b1, W2), got {type(got).__name__}")  # fmt: skip
    truth = _channel(W1, b1, W2, 20)
    by_out = _channel(W1, b1, W2, 20, by="cols")
    case = "MLP 64-64-10, keep 20 hidden units"
    for name, g, t, m in zip(("W1", "b1", "W2"), got, truth, by_out, strict=True):
        compare(name, g, t, case=case, mistakes=[
            ("rank a unit by its INCOMING weights: the L2 norm of its row of W1", m)])


@check(EX, "fine_prune keeps the n largest |w| over both layers")
def _fine_check(student):
    fn = function(student, "fine_prune")
    W1, _, W2, *_ = _case()
    got = fn(W1.copy(), W2.copy(), 1480)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (W1, W2), got {type(got).__name__}")  # fmt: skip
    truth, layer = _fine(W1, W2, 1480), _fine(W1, W2, 1480, "layer")
    for name, g, t, m in zip(("W1", "W2"), got, truth, layer, strict=True):
        compare(name, g, t, case="keep 1480 of 4736 weights",
                mistakes=[("global: rank the weights of both layers together, not the same "
                           "fraction per layer", m)])  # fmt: skip


@check(EX, "csr_bytes: values, column indices and row pointers")
def _bytes(student):
    fn = function(student, "csr_bytes")
    W = np.zeros((5, 7))
    W[[0, 2, 2, 4], [1, 0, 6, 3]] = 1.0
    compare("csr_bytes(W)", fn(W.copy()), _csr(W), case="(5, 7) with 4 non-zeros",
            mistakes=[("add the row pointers: 4 * (rows + 1) bytes", 8 * 4),
                      ("row pointers: rows + 1 of them, not rows", 8 * 4 + 4 * 5),
                      ("float32 values AND int32 column indices: 8 bytes per non-zero",
                       4 * 4 + 4 * 6)])  # fmt: skip


@check(EX, "compare_at_budget: the same weight count, accuracy and bytes of both")
def _compare(student):
    fn = function(student, "compare_at_budget")
    W1, b1, W2, b2, X, y = _case()
    for f in (0.25, 0.5):
        got = fn(W1.copy(), b1.copy(), W2.copy(), b2.copy(), X.copy(), y.copy(), f)
        keys = ("hidden_kept", "weights_kept", "channel_accuracy", "fine_accuracy",
                "channel_bytes", "fine_bytes")  # fmt: skip
        require(isinstance(got, dict) and set(keys) <= set(got),
                f"return a dict with the keys {list(keys)}, got {got!r:.200}")  # fmt: skip
        h = int(np.floor(f * 64))
        c1, cb1, c2 = _channel(W1, b1, W2, h)
        p = c1.size + c2.size
        f1, f2 = _fine(W1, W2, p)
        l1, l2 = _fine(W1, W2, p, "layer")
        truth = {"hidden_kept": h, "weights_kept": p,
                 "channel_accuracy": _acc(c1, cb1, c2, b2, X, y),
                 "fine_accuracy": _acc(f1, b1, f2, b2, X, y),
                 "channel_bytes": 4 * p, "fine_bytes": _csr(f1) + _csr(f2)}  # fmt: skip
        wrong = {"weights_kept": [("count the weights of both smaller matrices: H' * (64 + 10)",
                                   h * 64)],
                 "fine_accuracy": [("global: rank both layers together",
                                    _acc(l1, b1, l2, b2, X, y))],
                 "channel_bytes": [("4 bytes per float32 weight", 8 * p)]}  # fmt: skip
        case = f"keep_fraction {f}: {h} hidden units"
        for k in keys:
            compare(k, as_array(got[k], k).reshape(()), truth[k], case=case,
                    mistakes=wrong.get(k, ()))
