"""Checks of appendix C: the corrected SimpleCNN, the L1 term on weights only."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, plain, require

# --------------------------------------------------------------------------- SimpleCNN
EX = "appc.simple_cnn"


def _expected_params(c, s, classes):
    side = s // 4
    return (
        (c * 32 * 9 + 32)
        + (32 * 64 * 9 + 64)
        + (64 * side * side * 128 + 128)
        + (128 * classes + classes)
    )


def _build(student, *args, **kwargs):
    from ...nn import Module

    model = function(student, "simple_cnn")(*args, **kwargs)
    require(isinstance(model, Module), f"simple_cnn must return an nnprune Module, got "
            f"{type(model).__name__}")  # fmt: skip
    return plain(model, "the model simple_cnn returns")


def _forward(model, x, case):
    try:
        return model.forward(x)
    except ValueError as exc:
        raise CheckFailed(
            f"{case}: the forward pass failed: {exc}",
            "check fc1's input size: conv(padding=1) keeps H x W, each "
            "MaxPool2d(2) halves it, so fc1 reads 64 * (S // 4) ** 2",
        ) from None


@check(EX, "CIFAR-shaped batch (2, 3, 32, 32) -> (2, 10), 545 098 parameters")
def _cifar(student):
    model = _build(student, 3, 32, 10, seed=0)
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    y = as_array(_forward(model, x, "input (2, 3, 32, 32)"), "the output")
    require(y.shape == (2, 10), f"the output has shape {y.shape}, expected (2, 10)")
    n, want = model.num_parameters(), _expected_params(3, 32, 10)
    require(n == want, f"the model has {n:,} parameters, expected {want:,}",
            "two 3x3 convs (32, 64 filters), fc1 64*8*8 -> 128, fc2 128 -> 10, all with "
            "biases")  # fmt: skip


@check(EX, "digits-shaped batch (5, 1, 8, 8) -> (5, 10)")
def _digits(student):
    model = _build(student, 1, 8, 10, seed=1)
    x = np.random.default_rng(1).normal(size=(5, 1, 8, 8)).astype(np.float32)
    y = as_array(_forward(model, x, "input (5, 1, 8, 8)"), "the output")
    require(y.shape == (5, 10), f"the output has shape {y.shape}, expected (5, 10)")
    require(model.num_parameters() == _expected_params(1, 8, 10),
            f"the model has {model.num_parameters():,} parameters, expected "
            f"{_expected_params(1, 8, 10):,}")  # fmt: skip


@check(EX, "a non-linearity between fc1 and fc2; the same seed gives the same weights")
def _nonlinear(student):
    from ...nn import Linear

    model = _build(student, 3, 32, 10, seed=0)
    mods = [m for m in model.modules() if not list(m.children())]  # the leaves, in order
    linear = [i for i, m in enumerate(mods) if isinstance(m, Linear)]
    require(len(linear) == 2, f"expected two Linear layers (fc1, fc2), found {len(linear)}")
    between = mods[linear[0] + 1 : linear[1]]
    if not between:
        raise CheckFailed(
            "fc1 is followed directly by fc2",
            "two Linear layers in a row are one linear map "
            "(prune.merge_linear merges them exactly): put a ReLU between",
        )
    again = _build(student, 3, 32, 10, seed=0)
    same = all(np.array_equal(a.data, b.data) for a, b in
               zip(model.parameters(), again.parameters(), strict=True))  # fmt: skip
    require(
        same,
        "simple_cnn(seed=0) twice gave different weights",
        "pass one generator, as_generator(seed), to every layer",
    )


# --------------------------------------------------------------------------- L1 on weights
EX = "appc.l1_weights_only"


def _model(seed):
    from ...nn import BatchNorm1d, Linear, ReLU, Sequential

    rng = np.random.default_rng(seed)
    model = Sequential(Linear(4, 6), BatchNorm1d(6), ReLU(), Linear(6, 3)).double()
    for p in model.parameters():
        p.data = rng.normal(size=p.data.shape)
    model[0].weight.data[0, :2] = 0.0  # sign(0) = 0
    return model


@check(EX, "l1_penalty equals nnprune.regularizers.L1 on the weights (not the biases)")
def _value(student):
    from ...regularizers import L1

    fn = function(student, "l1_penalty")
    model = _model(0)
    truth = L1(0.01).value(model)
    everything = 0.01 * sum(float(np.abs(p.data).sum()) for p in model.parameters())
    got = as_array(fn(model, 0.01), "l1_penalty(...)")
    require(got.size == 1, f"l1_penalty must return one number, got shape {got.shape}")
    compare("the penalty", got.reshape(()), truth, case="MLP with BatchNorm, lam=0.01",
            mistakes=[("penalise the prunable weights only: biases and BatchNorm scales are "
                       "not pruned (the book's appendix C penalises every parameter)",
                       everything),
                      ("multiply by lam", truth / 0.01)])  # fmt: skip


@check(EX, "add_l1_subgradient adds lam * sign(w) to the weights' gradients only")
def _grad(student):
    from ...regularizers import L1

    fn = function(student, "add_l1_subgradient")
    model, ref = _model(1), _model(1)
    rng = np.random.default_rng(2)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        p.grad[...] = q.grad[...] = rng.normal(size=p.grad.shape)
    before = {n: p.grad.copy() for n, p in model.named_parameters()}
    out = fn(model, 0.05)
    require(out is None, "add_l1_subgradient adds in place and returns None")
    L1(0.05).add_grad(ref)
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters(), strict=True):
        hint = None
        if not p.prunable and not np.array_equal(p.grad, before[name]):
            hint = "only the prunable weights: biases and BatchNorm parameters get no L1 term"
        compare(f"{name}.grad", p.grad, q.grad, case="lam=0.05, gradients were random", mistakes=[
            ("ADD into p.grad (+=): the loss's gradient is already there",
             q.grad - before[name]),
            ("wrong sign: the subgradient of |w| is sign(w)", 2 * before[name] - q.grad),
        ], hint=hint)  # fmt: skip
