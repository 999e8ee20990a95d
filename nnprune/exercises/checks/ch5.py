"""Checks of chapter 5: the corrected pruning loop of §5.3, the polynomial schedule."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require


def _params(seed):
    rng = np.random.default_rng(seed)
    return {"fc1.weight": rng.normal(size=(6, 4)), "fc2.weight": 0.3 * rng.normal(size=(3, 6))}


def _global_truth(params, sparsity):
    from ...algorithms import project_sparse

    keep = project_sparse(list(params.values()), sparsity, "global")
    return dict(zip(params, keep, strict=True))


def _as_dict(value, what, like):
    require(isinstance(value, dict), f"{what} must be a dict name -> array, got "
            f"{type(value).__name__}")  # fmt: skip
    require(set(value) == set(like), f"{what} must have the keys {sorted(like)}, "
            f"got {sorted(value)}")  # fmt: skip
    return value


# --------------------------------------------------------------------------- corrected loop
EX = "ch5.corrected_loop"


@check(EX, "global_magnitude_masks equals global top-k (nnprune's ADMM projection)")
def _masks(student):
    fn = function(student, "global_magnitude_masks")
    params = _params(0)
    for s in (0.5, 0.8):
        got = _as_dict(fn({n: w.copy() for n, w in params.items()}, s), "the masks", params)
        truth = _global_truth(params, s)
        per_layer = {n: _global_truth({n: w}, s)[n] for n, w in params.items()}
        for n in params:
            compare(f"masks[{n!r}]", got[n], truth[n], case=f"sparsity {s}, global scope",
                    mistakes=[("global: rank all weights together, not layer by layer",
                               per_layer[n])])  # fmt: skip


def _target(params):
    rng = np.random.default_rng(7)
    return {n: rng.normal(size=w.shape) for n, w in params.items()}


def _reference_loop(params, target, sparsity, lr, steps):
    masks = _global_truth(params, sparsity)
    p = {n: w * masks[n] for n, w in params.items()}
    for _ in range(steps):
        p = {n: masks[n] * (w - lr * (w - target[n])) for n, w in p.items()}
    return p, masks


@check(EX, "update_parameters keeps pruned weights at zero")
def _update(student):
    fn = function(student, "update_parameters")
    params = _params(1)
    masks = _global_truth(params, 0.6)
    params = {n: w * masks[n] for n, w in params.items()}
    grads = {n: np.ones_like(w) for n, w in params.items()}
    got = _as_dict(fn(dict(params), grads, masks, 0.1), "update_parameters(...)", params)
    for n, w in params.items():
        new = as_array(got[n], f"new params[{n!r}]")
        if new.shape == w.shape and np.any(new[~masks[n]] != 0):
            raise CheckFailed(
                f"{n}: {int((new[~masks[n]] != 0).sum())} pruned weights are non-zero after one "
                "update (gradient of ones)",
                "forgot the mask: this is the book's §5.3 flaw; multiply by the mask after "
                "the update so pruned weights cannot grow back")  # fmt: skip
        compare(
            f"new params[{n!r}]",
            new,
            masks[n] * (w - 0.1 * grads[n]),
            case="lr=0.1",
            mistakes=[("wrong sign: step against the gradient", masks[n] * (w + 0.1))],
        )


@check(EX, "prune_retrain: exact sparsity after training, same result as the corrected loop")
def _loop(student):
    fn = function(student, "prune_retrain", keep_inputs=True)
    params = _params(2)
    target = _target(params)
    calls = []

    def grad_fn(p):  # gradient of 0.5 * sum ||w - target||^2
        calls.append(1)
        return {n: np.asarray(w) - target[n] for n, w in p.items()}

    got = fn({n: w.copy() for n, w in params.items()}, grad_fn, 0.75, 0.2, 10)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (params, masks), got {type(got).__name__}")  # fmt: skip
    new, masks = (_as_dict(g, w, params) for g, w in zip(got, ("params", "masks"), strict=True))
    require(len(calls) == 10, f"grad_fn was called {len(calls)} times for 10 steps")
    truth, truth_masks = _reference_loop(params, target, 0.75, 0.2, 10)
    total = sum(w.size for w in params.values())
    zeros = sum(int((as_array(new[n], n) == 0).sum()) for n in params)
    require(
        zeros >= round(0.75 * total),
        f"after 10 steps only {zeros} of {total} weights are zero, expected at least "
        f"{round(0.75 * total)} (sparsity 0.75)",
        "the pruned weights grew back: apply the mask after every update, not once",
    )
    for n in params:
        compare(f"masks[{n!r}]", masks[n], truth_masks[n], case="sparsity 0.75")
        compare(f"params[{n!r}]", new[n], truth[n], case="sparsity 0.75, lr 0.2, 10 steps")
    for n, w in params.items():
        require(np.array_equal(w, _params(2)[n]), "prune_retrain modified the input params",
                "build new dicts and arrays")  # fmt: skip


# --------------------------------------------------------------------------- schedule
EX = "ch5.polynomial_schedule"


@check(EX, "polynomial_sparsity equals nnprune.pipeline.PolynomialDecay")
def _poly(student):
    from ...pipeline import PolynomialDecay

    fn = function(student, "polynomial_sparsity")
    for s_i, s_f, t0, t1, power in ((0.0, 0.9, 10, 110, 3.0), (0.2, 0.8, 0, 50, 1.0)):
        sched = PolynomialDecay(s_i, s_f, t0, t1, power=power)
        for t in (0, t0, t0 + 7, (t0 + t1) // 2, t1 - 1, t1, t1 + 40):
            truth = sched.sparsity(t)
            p = (t - t0) / (t1 - t0)
            got = fn(t, s_i, s_f, t0, t1, power)
            compare(
                "the sparsity",
                as_array(got, "polynomial_sparsity(...)").reshape(()),
                truth,
                case=f"step {t}, {s_i} -> {s_f} over [{t0}, {t1}], power {power}",
                mistakes=[
                    (
                        "clip p to [0, 1]: before begin the sparsity is the initial one, "
                        "after end the final one",
                        s_f + (s_i - s_f) * (1 - p) ** power,
                    ),
                    (
                        "(1 - p) ** power, not p ** power: the sparsity rises fast at first",
                        s_f + (s_i - s_f) * min(1, max(0, p)) ** power,
                    ),
                    (
                        "initial and final are swapped",
                        s_i + (s_f - s_i) * (1 - min(1, max(0, p))) ** power,
                    ),
                ],
            )


@check(EX, "should_prune equals PolynomialDecay's pruning steps")
def _steps(student):
    from ...pipeline import PolynomialDecay

    fn = function(student, "should_prune")
    sched = PolynomialDecay(0.0, 0.9, 5, 45, frequency=10)
    wrong = []
    for t in range(0, 60):
        got = bool(fn(t, 5, 45, 10))
        if got != sched(t)[0]:
            wrong.append((t, sched(t)[0], got))
    if wrong:
        t, exp, got = wrong[0]
        raise CheckFailed(
            f"begin 5, end 45, frequency 10: wrong at {len(wrong)} steps, first at step {t}: "
            f"expected {exp}, got {got}",
            "count the frequency from begin: (step - begin) % frequency == 0; end is included"
            if t in (5, 15, 25, 35, 45) or t % 10 == 0 else None)  # fmt: skip

from . import ch5_lab  # noqa: E402, F401 - the lab exercises (sensitivity budget, book loop)
