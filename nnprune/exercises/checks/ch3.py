"""Checks of chapter 3: l1_unstructured and ln_structured masks, thresholds, neuron removal."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, need_torch, require


def _rng(seed):
    return np.random.default_rng(seed)


def _ones(shape):
    return np.ones(shape, dtype=bool)


# --------------------------------------------------------------------------- l1_unstructured
EX = "ch3.l1_unstructured"


def _l1_truth(W, amount):
    from ...prune import L1Unstructured

    return L1Unstructured(amount).compute_mask(W, _ones(W.shape))


def _l1_mask_k(W, k, *, order=None, scores=None):
    s = np.abs(W).reshape(-1) if scores is None else scores.reshape(-1)
    idx = np.argsort(s, kind="stable") if order is None else order
    keep = np.ones(W.size, bool)
    keep[idx[:k]] = False
    return keep.reshape(W.shape)


L1_CASES = [
    ("random (4, 5), amount=0.3", _rng(0).normal(size=(4, 5)), 0.3),
    ("random (2, 3, 2), amount=5 (a count)", _rng(1).normal(size=(2, 3, 2)), 5),
    ("5 entries, amount=0.5: round(2.5) is 2", np.array([0.3, -0.1, 0.5, 0.2, -0.4]), 0.5),
    ("5 entries, amount=0.7: round(3.5) is 4", np.array([0.3, -0.1, 0.5, 0.2, -0.4]), 0.7),
    ("ties: |W| = 1 four times, amount=3", np.array([[1.0, -1.0, 2.0], [1.0, 0.5, -1.0]]), 3),
    ("amount=0.0 prunes nothing", _rng(2).normal(size=(3, 3)), 0.0),
    ("amount=1.0 prunes everything", _rng(3).normal(size=(2, 2)), 1.0),
]


@check(EX, "masks equal nnprune's L1Unstructured (rounding, ties, 0 and 1)")
def _l1_cases(student):
    fn = function(student, "l1_unstructured_mask")
    for case, W, amount in L1_CASES:
        got = fn(W.copy(), amount)
        truth = _l1_truth(W, amount)
        n, k = W.size, int((~truth).sum())
        compare("the mask", got, truth, case=case, mistakes=[
            ("amount is a fraction: k = round(amount * n) (Python's round, half to even)",
             lambda W=W, amount=amount, n=n: _l1_mask_k(W, int(amount * n))),
            ("amount is a fraction: k = round(amount * n) (Python's round, half to even)",
             lambda W=W, amount=amount, n=n: _l1_mask_k(W, int(np.ceil(amount * n)))),
            ("ties: prune the smaller flat index first (np.argsort(..., kind='stable'))",
             lambda W=W, k=k, n=n: _l1_mask_k(W, k, order=(n - 1 - np.argsort(
                 np.abs(W).reshape(-1)[::-1], kind="stable")))),
            ("True means kept: you pruned the largest magnitudes",
             lambda W=W, k=k, n=n: ~_l1_mask_k(W, n - k)),
            ("prune by magnitude |W|, not by the signed value",
             lambda W=W, k=k: _l1_mask_k(W, k, scores=W)),
        ])  # fmt: skip


@check(EX, "PyTorch parity (torch.nn.utils.prune.l1_unstructured)")
def _l1_torch(student):
    torch = need_torch()
    from torch.nn.utils import prune as tprune

    fn = function(student, "l1_unstructured_mask")
    for amount in (0.25, 0.5, 7):
        W = _rng(10).normal(size=(4, 6))
        lin = torch.nn.Linear(6, 4)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W))
        tprune.l1_unstructured(lin, "weight", amount=amount)
        compare("the mask", fn(W.copy(), amount), lin.weight_mask.numpy().astype(bool),
                case=f"torch vs yours, amount={amount}")  # fmt: skip


# --------------------------------------------------------------------------- ln_structured
EX = "ch3.ln_structured"
LN_CASES = [
    ("Linear (6, 4), n=1, dim=0, amount=0.5", (6, 4), 1, 0, 0.5),
    ("Linear (5, 6), n=2, dim=1, amount=2", (5, 6), 2, 1, 2),
    ("Conv2d (4, 3, 2, 2), n=2, dim=0, amount=0.25", (4, 3, 2, 2), 2, 0, 0.25),
    ("Conv2d (4, 6, 3, 3), n=1, dim=1, amount=0.5", (4, 6, 3, 3), 1, 1, 0.5),
]


def _ln_truth(W, amount, n, dim):
    from ...prune import LnStructured

    return LnStructured(amount, n, dim).compute_mask(W, _ones(W.shape))


@check(EX, "masks equal nnprune's LnStructured (Linear and Conv2d, dim 0 and 1)")
def _ln_cases(student):
    fn = function(student, "ln_structured_mask")
    for i, (case, shape, n, dim, amount) in enumerate(LN_CASES):
        W = _rng(20 + i).normal(size=shape)
        W[tuple([slice(None)] * dim + [1])] *= 0.1  # channel 1 clearly smallest
        got = fn(W.copy(), amount, n, dim)
        truth = _ln_truth(W, amount, n, dim)
        other = 1 - dim
        k = int(np.sum(~truth.any(axis=tuple(a for a in range(W.ndim) if a != dim))))
        wrong_dim = lambda W=W, n=n, other=other, k=k: _ln_truth(W, k, n, other)  # noqa: E731
        compare("the mask", got, truth, case=case, mistakes=[
            ("wrong axis: dim indexes the channels; the norm runs over every other axis",
             wrong_dim),
            ("True means kept: you pruned the channels of largest norm",
             lambda W=W, n=n, dim=dim, k=k: ~_ln_truth(W, W.shape[dim] - k, n, dim)),
        ])  # fmt: skip


@check(EX, "PyTorch parity (torch.nn.utils.prune.ln_structured)")
def _ln_torch(student):
    torch = need_torch()
    from torch.nn.utils import prune as tprune

    fn = function(student, "ln_structured_mask")
    W = _rng(30).normal(size=(5, 3, 2, 2))
    conv = torch.nn.Conv2d(3, 5, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(W))
    tprune.ln_structured(conv, "weight", amount=0.4, n=2, dim=0)
    compare("the mask", fn(W.copy(), 0.4, 2, 0), conv.weight_mask.numpy().astype(bool),
            case="torch vs yours, Conv2d (5, 3, 2, 2), amount=0.4, n=2, dim=0")  # fmt: skip


# --------------------------------------------------------------------------- thresholds
EX = "ch3.threshold"


def _thr_truth(W, tau, mask):
    from ...prune import ThresholdUnstructured

    return ThresholdUnstructured(tau).compute_mask(W, _ones(W.shape) if mask is None else mask)


@check(EX, "threshold_mask equals nnprune's threshold criterion")
def _thr(student):
    fn = function(student, "threshold_mask")
    W = np.array([[0.5, -0.2, 0.3], [-0.5, 0.05, 1.0]])
    prior = np.array([[True, True, True], [True, True, False]])
    for case, tau, mask in (("tau=0.3 (one weight exactly at it)", 0.3, None),
                            ("tau=0.25 with an earlier mask", 0.25, prior)):  # fmt: skip
        args = (W.copy(), tau) if mask is None else (W.copy(), tau, mask.copy())
        got = fn(*args)
        truth = _thr_truth(W, tau, mask)
        compare("the mask", got, truth, case=case, mistakes=[
            ("a weight exactly at the threshold is kept: |W| >= tau", np.abs(W) > tau),
            ("entries already pruned stay pruned: combine with mask (&)", np.abs(W) >= tau),
            ("compare magnitudes |W|, not signed values", W >= tau),
        ])  # fmt: skip


@check(EX, "std_threshold_mask uses tau = q * std(W) (population std)")
def _std(student):
    fn = function(student, "std_threshold_mask")
    W = _rng(40).normal(size=(5, 6))
    W[0, :4] = 0.0  # pruned zeros count in the std
    mask = W != 0
    for q in (0.5, 1.0):
        got = fn(W.copy(), q, mask.copy())
        truth = _thr_truth(W, q * float(np.std(W)), mask)
        compare("the mask", got, truth, case=f"W (5, 6) with 4 zeros, q={q}", mistakes=[
            ("sigma is the population std over all entries (np.std, ddof=0)",
             _thr_truth(W, q * float(np.std(W, ddof=1)), mask)),
            ("sigma is taken over all entries, pruned zeros included",
             _thr_truth(W, q * float(np.std(W[mask])), mask)),
        ])  # fmt: skip


# --------------------------------------------------------------------------- remove a neuron
EX = "ch3.remove_neuron"


def _mlp(w1, b1, w2, b2):
    from ...nn import Linear, ReLU, Sequential

    model = Sequential(Linear(w1.shape[1], w1.shape[0]), ReLU(), Linear(w2.shape[1], w2.shape[0]))
    model.double()
    model[0].weight.data, model[0].bias.data = w1.copy(), b1.copy()
    model[2].weight.data, model[2].bias.data = w2.copy(), b2.copy()
    return model


@check(EX, "arrays equal nnprune.prune.remove_units'")
def _removal(student):
    from ...prune import remove_units

    fn = function(student, "remove_hidden_neuron", keep_inputs=True)
    rng = _rng(50)
    w1, b1, w2, b2 = (rng.normal(size=s) for s in ((6, 4), (6,), (3, 6), (3,)))
    for j in (0, 4, 5):
        got = fn(w1.copy(), b1.copy(), w2.copy(), j)
        require(isinstance(got, tuple | list) and len(got) == 3,
                f"return (w1_new, b1_new, w2_new), got {type(got).__name__}")  # fmt: skip
        model = _mlp(w1, b1, w2, b2)
        remove_units(model, "0", [j])
        case = f"hidden=6, remove j={j}"
        g2 = as_array(got[2], "w2_new")
        if g2.shape == (2, 6):
            raise CheckFailed(f"{case}: w2_new has shape (2, 6), expected (3, 5)",
                              "transposed: the hidden units are w2's columns (axis 1); "
                              "PyTorch stores (out_features, in_features)")  # fmt: skip
        g1 = as_array(got[0], "w1_new")
        if g1.shape == (6, 3):
            raise CheckFailed(
                f"{case}: w1_new has shape (6, 3), expected (5, 4)",
                "wrong axis: neuron j is row j of w1 (axis 0)",
            )
        compare("w1_new", g1, model[0].weight.data, case=case)
        compare("b1_new", got[1], model[0].bias.data, case=case)
        compare("w2_new", g2, model[2].weight.data, case=case)


@check(EX, "removing a dead neuron leaves the outputs unchanged; inputs not modified")
def _outputs(student):
    fn = function(student, "remove_hidden_neuron", keep_inputs=True)
    rng = _rng(51)
    w1, b1, w2, b2 = (rng.normal(size=s) for s in ((5, 3), (5,), (2, 5), (2,)))
    x = np.abs(rng.normal(size=(7, 3)))
    w1[2], b1[2] = -np.abs(w1[2]), -1.0  # ReLU(negative) = 0 on x >= 0: neuron 2 is dead
    copies = [a.copy() for a in (w1, b1, w2)]
    before = _mlp(w1, b1, w2, b2).forward(x)
    n1, nb1, n2 = fn(w1, b1, w2, 2)
    for name, a, c in zip(("w1", "b1", "w2"), (w1, b1, w2), copies, strict=True):
        require(np.array_equal(a, c), f"remove_hidden_neuron modified its argument {name}",
                "return new arrays (np.delete returns a copy)")  # fmt: skip
    after = _mlp(np.asarray(n1), np.asarray(nb1), np.asarray(n2), b2).forward(x)
    compare("the outputs after removal", after, before, case="neuron 2 outputs 0 on every input")

from . import ch3_fine, ch3_lab  # noqa: E402, F401 - lab exercises (fine vs channel, next layer)
