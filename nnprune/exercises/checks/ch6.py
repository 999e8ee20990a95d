"""Checks of chapter 6: conv filter removal (§6.1), attention-head importance (§6.2)."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require

# --------------------------------------------------------------------------- filter removal
EX = "ch6.filter_removal"


def _cnn(w1, b1, w2, b2):
    from ...nn import Conv2d, ReLU, Sequential

    model = Sequential(Conv2d(w1.shape[1], w1.shape[0], w1.shape[2]), ReLU(),
                       Conv2d(w2.shape[1], w2.shape[0], w2.shape[2])).double()  # fmt: skip
    model[0].weight.data, model[0].bias.data = w1.copy(), b1.copy()
    model[2].weight.data, model[2].bias.data = w2.copy(), b2.copy()
    return model


@check(EX, "arrays equal nnprune.prune.remove_units' and the outputs are unchanged")
def _filters(student):
    from ...prune import remove_units

    fn = function(student, "remove_conv_filter", keep_inputs=True)
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(5, 2, 3, 3)), rng.normal(size=5)
    w2, b2 = rng.normal(size=(4, 5, 3, 3)), rng.normal(size=4)
    x = rng.normal(size=(2, 2, 7, 7))
    for j in (0, 3):
        copies = [a.copy() for a in (w1, b1, w2)]
        got = fn(w1, b1, w2, j)
        require(isinstance(got, tuple | list) and len(got) == 3,
                f"return (w1_new, b1_new, w2_new), got {type(got).__name__}")  # fmt: skip
        for name, a, c in zip(("w1", "b1", "w2"), (w1, b1, w2), copies, strict=True):
            require(np.array_equal(a, c), f"remove_conv_filter modified its argument {name}",
                    "return new arrays (np.delete returns a copy)")  # fmt: skip
        case = f"conv 2->5->4 (3x3), remove filter {j}"
        g1, g2 = as_array(got[0], "w1_new"), as_array(got[2], "w2_new")
        if g2.shape == (3, 5, 3, 3):
            raise CheckFailed(f"{case}: w2_new has shape (3, 5, 3, 3), expected (4, 4, 3, 3)",
                              "wrong axis: the removed feature map is an INPUT channel of the "
                              "second convolution, axis 1 of w2 (out, in, kH, kW)")  # fmt: skip
        if g1.shape == (5, 1, 3, 3):
            raise CheckFailed(
                f"{case}: w1_new has shape (5, 1, 3, 3), expected (4, 2, 3, 3)",
                "wrong axis: a filter is axis 0 of w1 (out, in, kH, kW)",
            )
        model = _cnn(w1, b1, w2, b2)
        remove_units(model, "0", [j])
        compare("w1_new", g1, model[0].weight.data, case=case)
        compare("b1_new", got[1], model[0].bias.data, case=case)
        compare("w2_new", g2, model[2].weight.data, case=case)
    dead = w1.copy(), b1.copy()
    dead[0][1], dead[1][1] = 0.0, -1.0  # ReLU(-1) = 0: filter 1 is dead
    before = _cnn(dead[0], dead[1], w2, b2).forward(x)
    n1, nb1, n2 = fn(dead[0], dead[1], w2, 1)
    after = _cnn(np.asarray(n1), np.asarray(nb1), np.asarray(n2), b2).forward(x)
    compare("the outputs after removing a dead filter", after, before, case="filter 1 outputs 0")


# --------------------------------------------------------------------------- head importance
EX = "ch6.head_importance"


def _attention_case(seed):
    """Model, data, per-example head outputs and gradients (N, H, T, d)."""
    from ...nn import CrossEntropyLoss, Linear, MultiHeadSelfAttention, Sequential
    from ...nn.transformer import SequenceMeanPool

    rng = np.random.default_rng(seed)
    model = Sequential(MultiHeadSelfAttention(8, 4), SequenceMeanPool(), Linear(8, 3)).double()
    for p in model.parameters():
        p.data = rng.normal(size=p.data.shape) * 0.5
    model.eval()
    X, y = rng.normal(size=(6, 5, 8)), rng.integers(0, 3, size=6)
    attn, pool, fc = model[0], model[1], model[2]
    loss = CrossEntropyLoss(reduction="sum")  # per-example gradients of per-example losses
    loss.forward(model.forward(X), y)
    d = pool.backward(fc.backward(loss.backward()))  # (N, T, D)
    d_gated = attn._split(attn.out_proj.backward(d))  # (N, H, T, d)
    heads = attn._cache[5]  # (N, H, T, d)
    model.zero_grad()
    attn.zero_grad()
    return model, (X, y), heads.copy(), d_gated.copy()


@check(EX, "head_gate_gradient: one gradient per example and head (numerical check)")
def _gate(student):
    from ...nn import CrossEntropyLoss

    fn = function(student, "head_gate_gradient")
    model, (X, y), heads, d_gated = _attention_case(0)
    got = as_array(fn(heads.copy(), d_gated.copy()), "head_gate_gradient(...)")
    if got.shape == (heads.shape[1],):
        raise CheckFailed(
            f"the result has shape {got.shape}, expected (N, H) = {heads.shape[:2]}",
            "one gradient per example: sum over T and d only (axes 2, 3)",
        )
    attn, loss, eps = model[0], CrossEntropyLoss(reduction="sum"), 1e-6
    numeric = np.zeros(heads.shape[:2])
    for n in range(len(X)):
        for h in range(heads.shape[1]):
            vals = []
            for sign in (1, -1):
                gate = np.ones(heads.shape[1])
                gate[h] += sign * eps
                out = model[2].forward(model[1].forward(attn.forward(X[n : n + 1], head_mask=gate)))
                vals.append(loss.forward(out, y[n : n + 1]))
            numeric[n, h] = (vals[0] - vals[1]) / (2 * eps)
    compare("the gate gradients", got, numeric, case="6 examples, 4 heads, T=5, d=2",
            rtol=1e-5, atol=1e-8,
            mistakes=[("wrong sign", -numeric)])  # fmt: skip


@check(EX, "head_importance equals nnprune.prune.head_importance (batch_size=1)")
def _importance(student):
    from ...nn import CrossEntropyLoss
    from ...prune import head_importance

    fn = function(student, "head_importance")
    model, data, heads, d_gated = _attention_case(1)
    g = (heads * d_gated).sum(axis=(2, 3))  # (N, H)
    truth = next(iter(head_importance(model, CrossEntropyLoss(), data, batch_size=1).values()))
    raw = np.abs(g).mean(axis=0)
    compare("the importance", fn(g.copy(), True), truth, case="normalize=True", mistakes=[
        ("take |g| per example, then the mean (gradients of opposite sign must not cancel)",
         np.abs(g.mean(axis=0)) / np.linalg.norm(np.abs(g.mean(axis=0)))),
        ("divide by the L2 norm of the scores when normalize is True", raw),
        ("the importance is |dL/dxi|: take the absolute value",
         g.mean(axis=0) / np.linalg.norm(g.mean(axis=0))),
    ])  # fmt: skip
    compare("the importance", fn(g.copy(), False), raw, case="normalize=False")

from . import ch6_lab  # noqa: E402, F401 - the lab exercise (Conv-BN-ReLU-Conv channel removal)
