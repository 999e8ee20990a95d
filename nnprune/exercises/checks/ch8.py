"""Checks of chapter 8: N:M masks (§8.1), SET and RigL drop-and-grow (§8.2)."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require

# --------------------------------------------------------------------------- N:M
EX = "ch8.nm_mask"


def _nm_truth(W, n, m, dim=1):
    from ...prune import nm_mask

    return nm_mask(np.abs(W), n, m, dim=dim)


@check(EX, "masks equal nnprune.prune.nm_mask (2:4 and 1:4, Linear and Conv2d, ties)")
def _nm(student):
    fn = function(student, "nm_mask")
    rng = np.random.default_rng(0)
    ties = np.array([[1.0, -1.0, 1.0, 0.5, 2.0, 2.0, -2.0, 2.0]])
    cases = [("Linear (4, 8), 2:4", rng.normal(size=(4, 8)), 2, 4),
             ("Linear (4, 8), 1:4", rng.normal(size=(4, 8)), 1, 4),
             ("Conv2d (3, 8, 2, 2), 2:4 along the input channels",
              rng.normal(size=(3, 8, 2, 2)), 2, 4),
             ("ties: |W| equal inside groups, 2:4", ties, 2, 4)]  # fmt: skip
    for case, W, n, m in cases:
        got = fn(W.copy(), n, m)
        truth = _nm_truth(W, n, m)
        mistakes = [
            ("keep the n LARGEST magnitudes of each group", ~_nm_truth(W, m - n, m)),
            (
                "rank by magnitude |W|, not by the signed value",
                lambda W=W, n=n, m=m: _signed(W, n, m),
            ),
        ]
        if W.shape[0] % m == 0:
            mistakes.append(
                (
                    "wrong axis: the groups run along axis 1 (the inputs), "
                    "m consecutive entries of each row",
                    _nm_truth(W, n, m, dim=0),
                )
            )
        compare("the mask", got, truth, case=case, mistakes=mistakes)
        g = as_array(got, "the mask")
        groups = np.moveaxis(g, 1, -1).reshape(-1, m)
        require(
            bool(np.all(groups.sum(axis=1) == n)),
            f"{case}: some group does not keep exactly {n} of {m}",
        )


def _signed(W, n, m):
    from ...prune import nm_mask

    return nm_mask(W, n, m, dim=1)


# --------------------------------------------------------------------------- regrow
EX = "ch8.regrow"


def _case(seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(6, 8))
    mask = rng.random(W.shape) < 0.4
    return W * mask, mask, rng.normal(size=W.shape)


def _drop_truth(W, mask, fraction):
    active = np.flatnonzero(mask)
    k = round(fraction * active.size)
    return active[np.argsort(np.abs(W.reshape(-1)[active]), kind="stable")[:k]], k


def _pair(got, what):
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"{what} must return (new_W, new_mask), got {type(got).__name__}")  # fmt: skip
    return as_array(got[0], "new_W"), as_array(got[1], "new_mask")


def _common(case, W, mask, new_w, new_mask, dropped, k):
    require(new_mask.dtype == bool and new_mask.shape == mask.shape,
            f"{case}: new_mask must be a bool array of shape {mask.shape}")  # fmt: skip
    require(int(new_mask.sum()) == int(mask.sum()),
            f"{case}: {int(new_mask.sum())} active weights after the step, expected "
            f"{int(mask.sum())} (drop k and grow k)")  # fmt: skip
    flat_new = new_mask.reshape(-1)
    if flat_new[dropped].any():
        raise CheckFailed(
            f"{case}: a weight dropped in this step is active again",
            "grow among the weights inactive BEFORE the step",
        )
    gone = np.flatnonzero(mask.reshape(-1) & ~flat_new)
    if set(gone.tolist()) != set(dropped.tolist()):
        raise CheckFailed(
            f"{case}: dropped {sorted(gone.tolist())}, expected {sorted(dropped.tolist())} "
            f"(the {k} active weights of smallest |W|)",
            "drop by magnitude |W| among the ACTIVE weights only")  # fmt: skip
    grown = np.flatnonzero(~mask.reshape(-1) & flat_new)
    require(bool(np.all(new_w.reshape(-1)[grown] == 0)), f"{case}: grown weights must start at 0")
    require(bool(np.all(new_w[~new_mask] == 0)), f"{case}: inactive weights must be 0")
    keep = mask & new_mask
    require(
        bool(np.array_equal(new_w[keep], W[keep])),
        f"{case}: weights that stay active must keep their values",
    )
    return grown


@check(EX, "rigl_step: drops the smallest |W|, grows the largest |grad|")
def _rigl(student):
    fn = function(student, "rigl_step")
    for seed, fraction in ((0, 0.3), (1, 0.5)):
        W, mask, grad = _case(seed)
        copies = [a.copy() for a in (W, mask, grad)]
        new_w, new_mask = _pair(fn(W, mask, grad, fraction), "rigl_step")
        require(all(np.array_equal(a, c) for a, c in zip((W, mask, grad), copies, strict=True)),
                "rigl_step modified its inputs", "work on copies")  # fmt: skip
        case = f"W (6, 8), {int(mask.sum())} active, fraction {fraction}"
        dropped, k = _drop_truth(W, mask, fraction)
        grown = _common(case, W, mask, new_w, new_mask, dropped, k)
        inactive = np.flatnonzero(~mask)
        want = inactive[np.argsort(-np.abs(grad.reshape(-1)[inactive]), kind="stable")[:k]]
        if set(grown.tolist()) != set(want.tolist()):
            smallest = inactive[np.argsort(np.abs(grad.reshape(-1)[inactive]), kind="stable")[:k]]
            hint = (
                "grow where |grad| is LARGEST"
                if set(grown.tolist()) == set(smallest.tolist())
                else "rank the inactive weights by |grad| (the dense gradient)"
            )
            raise CheckFailed(f"{case}: grew {sorted(grown.tolist())}, expected "
                              f"{sorted(want.tolist())}", hint)  # fmt: skip


@check(EX, "set_step: same drop, k random regrowths, reproducible with a seed")
def _set(student):
    fn = function(student, "set_step")
    W, mask, _ = _case(2)
    case = f"W (6, 8), {int(mask.sum())} active, fraction 0.25"
    dropped, k = _drop_truth(W, mask, 0.25)
    runs = []
    for seed in (0, 0, 1, 2, 3):
        new_w, new_mask = _pair(fn(W.copy(), mask.copy(), 0.25, seed), "set_step")
        runs.append(tuple(_common(case, W, mask, new_w, new_mask, dropped, k).tolist()))
    require(runs[0] == runs[1], f"{case}: two calls with seed 0 grew different weights",
            "draw from np.random.default_rng(seed)")  # fmt: skip
    require(len(set(runs[1:])) > 1, f"{case}: seeds 0, 1, 2, 3 all grew the same weights",
            "SET grows at random: use the seed's generator")  # fmt: skip
    counts = np.zeros(W.size)
    for seed in range(200):
        _, new_mask = _pair(fn(W.copy(), mask.copy(), 0.25, 100 + seed), "set_step")
        counts += (~mask & new_mask).reshape(-1)
    freq = counts[np.flatnonzero(~mask)] / 200
    expected = k / int((~mask).sum())
    require(bool(np.all(np.abs(freq - expected) < 0.2)),
            f"{case}: over 200 seeds each inactive weight should grow with frequency about "
            f"{expected:.2f}; got between {freq.min():.2f} and {freq.max():.2f}",
            "choose uniformly among ALL previously inactive weights")  # fmt: skip

# Their own modules, registered with ch8: the lab exercise (ERK layer sparsities) and the
# one-shot pruning of language models (Wanda, OBS).
from . import ch8_lab, ch8_oneshot  # noqa: E402, F401
