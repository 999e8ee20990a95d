"""Checks of the chapter-5 lab exercises: a sensitivity scan under a size budget (§5.2) and
the book's §5.3 loop run as written, next to its correction.

Imported by :mod:`nnprune.exercises.checks.ch5` (the worker imports one module per chapter).
"""

from __future__ import annotations

import numpy as np

from ..harness import as_array, check, compare, function, require
from ._digits import accuracy, magnitude_prune, trained_mlp

# --------------------------------------------------------------------------- sensitivity budget
EX = "ch5.sensitivity_budget"
WIDTHS = (64, 128, 32, 10)
GRID = tuple(round(0.05 * i, 2) for i in range(20))  # 0.0, 0.05, ..., 0.95
BUDGET_FRACTION, FLOOR = 0.25, 0.85


def _model():
    W, B, _, (Xv, yv) = trained_mlp(WIDTHS, 200)
    return list(W), list(B), Xv, yv


def _copies(arrays):
    return [np.array(a) for a in arrays]


def _unchanged(before, after, fn_name):
    for a, b in zip(before, after, strict=True):
        require(np.array_equal(a, b), f"{fn_name} modified the arrays it was given",
                "work on copies: np.array(w) or w.copy()")  # fmt: skip


def _scan(W, B, X, y, grid):
    return np.array([[accuracy([magnitude_prune(w, s) if i == l else w for i, w in enumerate(W)],
                               B, X, y) for s in grid] for l in range(len(W))])  # fmt: skip


@check(EX, "prune_magnitude zeroes the round(s * n) smallest |w|")
def _prune(student):
    fn = function(student, "prune_magnitude")
    rng = np.random.default_rng(0)
    w = np.round(rng.normal(size=(5, 7)), 1)  # rounded: ties between equal magnitudes
    for s in (0.0, 0.29, 0.5, 0.9):
        before = w.copy()
        got = fn(w, s)
        require(np.array_equal(w, before), "prune_magnitude modified its argument w",
                "return a copy: np.array(w, dtype=float)")  # fmt: skip
        k = round(s * w.size)
        largest = w.copy().reshape(-1)
        largest[np.argsort(-np.abs(largest), kind="stable")[:k]] = 0.0
        compare("prune_magnitude(w, s)", got, magnitude_prune(w, s), case=f"w (5, 7), s = {s}",
                mistakes=[("k = round(s * n), not int(s * n)",
                           magnitude_prune(w, int(s * 35) / 35)),
                          ("prune the SMALLEST magnitudes: you zeroed the largest",
                           largest.reshape(w.shape))])  # fmt: skip


@check(EX, "mlp_accuracy of the trained digits MLP")
def _accuracy(student):
    fn = function(student, "mlp_accuracy")
    W, B, X, y = _model()
    got = fn(_copies(W), _copies(B), X.copy(), y.copy())
    no_relu = float(np.mean(np.argmax(_linear(W, B, X), axis=1) == y))
    compare("mlp_accuracy(...)", as_array(got, "mlp_accuracy(...)").reshape(()),
            accuracy(W, B, X, y), case="MLP 64-128-32-10 on 597 validation digits",
            mistakes=[("ReLU after every hidden layer: h = relu(h @ W.T + b)", no_relu)],
            hint="weights are (out, in): h @ W.T + b; no ReLU on the logits")  # fmt: skip


def _linear(W, B, X):
    h = X
    for w, b in zip(W, B, strict=True):
        h = h @ w.T + b
    return h


@check(EX, "sensitivity_scan: one layer pruned at a time")
def _sensitivity(student):
    fn = function(student, "sensitivity_scan")
    W, B, X, y = _model()
    grid = [0.0, 0.5, 0.8, 0.95]
    copies = _copies(W)
    got = fn(copies, _copies(B), X.copy(), y.copy(), list(grid))
    _unchanged(W, copies, "sensitivity_scan")
    truth = _scan(W, B, X, y, grid)
    cumulative = np.zeros_like(truth)  # each layer left pruned at the last sparsity
    trial = list(W)
    for l in range(len(W)):
        for j, s in enumerate(grid):
            trial[l] = magnitude_prune(W[l], s)
            cumulative[l, j] = accuracy(trial, B, X, y)
    compare("the scan", got, truth, case="3 layers x sparsities (0, 0.5, 0.8, 0.95)",
            mistakes=[("prune one layer at a time: restore the layer before scanning the "
                       "next one (the others stay dense)", cumulative)])  # fmt: skip


@check(EX, f"choose_sparsities: at most {BUDGET_FRACTION:.0%} of the weights kept, "
       f"validation accuracy >= {FLOOR}")  # fmt: skip
def _choose(student):
    fn = function(student, "choose_sparsities")
    W, B, X, y = _model()
    sizes = [w.size for w in W]
    budget = int(BUDGET_FRACTION * sum(sizes))
    scan = _scan(W, B, X, y, GRID)
    dense = accuracy(W, B, X, y)
    got = fn(scan.copy(), list(GRID), dense, list(sizes), budget)
    choice = as_array(got, "choose_sparsities(...)").astype(float).reshape(-1)
    require(choice.shape == (len(W),),
            f"return one sparsity per layer ({len(W)}), got shape {choice.shape}")  # fmt: skip
    require(bool(np.all((choice >= 0) & (choice < 1))),
            f"every sparsity must be in [0, 1), got {choice.tolist()}")  # fmt: skip
    kept = sum(n - round(s * n) for s, n in zip(choice, sizes, strict=True))
    shown = ", ".join(f"{s:.2f}" for s in choice)
    require(kept <= budget, f"sparsities ({shown}) keep {kept} weights, the budget is {budget} "
            f"of {sum(sizes)}",
            "the budget counts the weights KEPT: n - round(s * n) per layer"
            if sum(round(s * n) for s, n in zip(choice, sizes, strict=True)) <= budget
            else None)  # fmt: skip
    acc = accuracy([magnitude_prune(w, s) for w, s in zip(W, choice, strict=True)], B, X, y)
    uniform = bool(np.allclose(choice, choice[0]))
    require(acc >= FLOOR, f"sparsities ({shown}) keep {kept} of {budget} weights allowed,\n"
            f"  but the validation accuracy is {acc:.3f} < {FLOOR} (dense {dense:.3f})",
            "one sparsity for every layer ignores the scan: prune the robust layers harder "
            "and the sensitive output layer less" if uniform else
            "use the scan: give each layer the largest sparsity whose accuracy drop is "
            "within a tolerance, and raise the tolerance only until the budget is met")  # fmt: skip


# --------------------------------------------------------------------------- the book's loop
EX = "ch5.book_loop"


def _softmax_case():
    """500 digits, one-hot targets, a random W0 (64, 10); threshold 0.8, lr 0.5, 30 epochs."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.asarray(bunch.data[:500], dtype=np.float64) / 16.0
    Y = np.eye(10)[bunch.target[:500]]
    W0 = np.random.default_rng(3).normal(size=(64, 10))
    return X, Y, W0, 0.8, 0.5, 30


def _grad(X, Y, W, mean=True):
    z = X @ W
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return X.T @ (P - Y) / (len(X) if mean else 1)


def _book(X, Y, W, t, lr, epochs, variant="book"):
    for _ in range(epochs):
        if variant == "after":  # the threshold after the update: proper IHT
            W = W - lr * _grad(X, Y, W)
            W = W * (np.abs(W) > t)
        elif variant == "pruned_grad":  # the gradient at W_pruned
            Wp = W * (np.abs(W) > t)
            W = Wp - lr * _grad(X, Y, Wp)
        else:
            g = _grad(X, Y, W, mean=variant != "sum")
            W = W * (np.abs(W) > t) - lr * g
    return W


def _corrected(X, Y, W, t, lr, epochs, variant="right"):
    mask = np.abs(W) > t
    W0, W = W, W * mask
    for _ in range(epochs):
        if variant == "redecide":
            W = W - lr * _grad(X, Y, W)
            W = W * (np.abs(W) > t)
        else:
            W = mask * (W - lr * _grad(X, Y, W0 if variant == "dense_grad" else W))
    return W, mask


@check(EX, "softmax_grad: X.T @ (softmax(X @ W) - Y) / N")
def _softmax(student):
    fn = function(student, "softmax_grad")
    X, Y, W0, *_ = _softmax_case()
    compare("softmax_grad(X, Y, W)", fn(X.copy(), Y.copy(), W0.copy()), _grad(X, Y, W0),
            case="500 digits, W (64, 10)",
            mistakes=[("the mean over the N examples: divide by N", _grad(X, Y, W0, mean=False)),
                      ("wrong sign: it is P - Y", -_grad(X, Y, W0))])  # fmt: skip
    big = 1000 * W0
    got = as_array(fn(X.copy(), Y.copy(), big), "softmax_grad(X, Y, 1000 * W)")
    require(bool(np.all(np.isfinite(got))), "W scaled by 1000: the gradient has nan or inf",
            "subtract each row's maximum before np.exp (a stable softmax)")  # fmt: skip


@check(EX, "book_loop runs the §5.3 loop exactly as written")
def _book_loop(student):
    fn = function(student, "book_loop")
    X, Y, W0, t, lr, epochs = _softmax_case()
    got = fn(X.copy(), Y.copy(), W0.copy(), t, lr, epochs)
    compare("book_loop(...)", got, _book(X, Y, W0, t, lr, epochs),
            case=f"threshold {t}, lr {lr}, {epochs} epochs",
            mistakes=[("run it as written: the book thresholds BEFORE the update "
                       "(W = W_pruned - lr * gradients); thresholding after it is the fix, "
                       "not the book's loop", _book(X, Y, W0, t, lr, epochs, "after")),
                      ("as written, backward_propagation runs before pruning_decision: the "
                       "gradient is taken at the unpruned W",
                       _book(X, Y, W0, t, lr, epochs, "pruned_grad"))])  # fmt: skip


@check(EX, "sparsity_report: exact zeros vs entries below the threshold")
def _report(student):
    fn = function(student, "sparsity_report")
    W = np.array([[0.0, 1e-12, -0.3, 0.5], [0.5, -0.0, 2.0, -0.49]])
    got = fn(W.copy(), 0.5)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (exact_zero_fraction, below_fraction), got {type(got).__name__}")  # fmt: skip
    compare("the exact-zero fraction", got[0], 2 / 8, case="W with 0, -0, 1e-12, threshold 0.5",
            mistakes=[("exactly zero means w == 0: 1e-12 is not zero (np.isclose counts it)",
                       3 / 8)])  # fmt: skip
    compare("the below-threshold fraction", got[1], 7 / 8, case="threshold 0.5",
            mistakes=[("below means |w| <= threshold: pruning_decision keeps |w| > threshold, "
                       "so an entry equal to the threshold is pruned", 5 / 8)])  # fmt: skip


@check(EX, "corrected_loop keeps its mask: exactly sparse, gradients at the masked W")
def _corrected_loop(student):
    fn = function(student, "corrected_loop")
    X, Y, W0, t, lr, epochs = _softmax_case()
    got = fn(X.copy(), Y.copy(), W0.copy(), t, lr, epochs)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (W, mask), got {type(got).__name__}")  # fmt: skip
    truth, mask = _corrected(X, Y, W0, t, lr, epochs)
    compare("the mask", got[1], mask, case=f"mask = |W0| > {t}")
    case = f"threshold {t}, lr {lr}, {epochs} epochs"
    compare("corrected_loop(...)[0]", got[0], truth, case=case,
            mistakes=[("take the gradient at the masked W, not at the dense W0",
                       _corrected(X, Y, W0, t, lr, epochs, "dense_grad")[0]),
                      ("decide the mask once and keep it: re-thresholding every step lets "
                       "pruned weights come back", _corrected(X, Y, W0, t, lr, epochs,
                                                                "redecide")[0]),
                      ("that is the book's loop: the update must be masked too",
                       _book(X, Y, W0, t, lr, epochs))])  # fmt: skip


@check(EX, "compare_loops: the book's W is mostly tiny, rarely zero; the corrected W is sparse")
def _compare(student):
    fn = function(student, "compare_loops")
    X, Y, W0, t, lr, epochs = _softmax_case()
    got = fn(X.copy(), Y.copy(), W0.copy(), t, lr, epochs)
    keys = ("book_zero", "book_below", "corrected_zero", "corrected_below")
    require(isinstance(got, dict) and set(got) == set(keys),
            f"return a dict with the keys {list(keys)}, got {got!r:.200}")  # fmt: skip
    book = _book(X, Y, W0, t, lr, epochs)
    corrected, _ = _corrected(X, Y, W0, t, lr, epochs)
    truth = {"book_zero": np.mean(book == 0), "book_below": np.mean(np.abs(book) <= t),
             "corrected_zero": np.mean(corrected == 0),
             "corrected_below": np.mean(np.abs(corrected) <= t)}  # fmt: skip
    swapped = dict(zip(keys, keys[2:] + keys[:2], strict=True))
    for key in keys:
        compare(key, got[key], truth[key], case=f"threshold {t}, lr {lr}, {epochs} epochs",
                mistakes=[("book and corrected are swapped", truth[swapped[key]])])  # fmt: skip
