"""BatchNorm1d/2d and Dropout: gradient checks, PyTorch parity, statistics, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck

BN_CASES = [
    (nn.BatchNorm1d, (5, 3)),
    (nn.BatchNorm1d, (4, 3, 5)),
    (nn.BatchNorm2d, (3, 2, 3, 4)),
]


def _bn(cls, c, rng, **kwargs):
    """A float64 BatchNorm with random gamma, beta and running statistics."""
    bn = cls(c, **kwargs).double()
    if bn.affine:
        bn.weight.data = rng.normal(size=c)
        bn.bias.data = rng.normal(size=c)
    if bn.track_running_stats:
        bn.running_mean = rng.normal(size=c)
        bn.running_var = rng.uniform(0.5, 2.0, size=c)
    return bn


# ------------------------------------------------------------------ BatchNorm
@pytest.mark.parametrize("cls, shape", BN_CASES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradcheck(cls, shape, affine, training, rng):
    bn = _bn(cls, shape[1], rng, affine=affine)
    bn.train(training)
    x = rng.normal(2.0, 3.0, size=shape)
    report = gradcheck(bn, x)
    assert set(report.errors) == ({"input", "weight", "bias"} if affine else {"input"})


def test_batchnorm_gradcheck_without_running_stats_in_eval(rng):
    bn = _bn(nn.BatchNorm2d, 2, rng, track_running_stats=False).eval()
    gradcheck(bn, rng.normal(size=(2, 2, 2, 3)))


def test_batchnorm_gamma_is_not_prunable_and_buffers_registered():
    bn = nn.BatchNorm2d(4)
    assert not bn.weight.prunable and not bn.bias.prunable
    np.testing.assert_array_equal(bn.weight.data, np.ones(4))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4))
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var"}
    np.testing.assert_array_equal(bn.running_var, np.ones(4))
    assert nn.BatchNorm1d(3, affine=False).num_parameters() == 0


def test_batchnorm_formula_training_and_eval(rng):
    """Against a direct evaluation of the textbook formulas."""
    x = rng.normal(1.0, 2.0, size=(6, 3, 4))
    bn = _bn(nn.BatchNorm1d, 3, rng)
    rm0, rv0 = bn.running_mean.copy(), bn.running_var.copy()
    y = bn(x)
    g, b = bn.weight.data[None, :, None], bn.bias.data[None, :, None]
    mu = x.mean(axis=(0, 2), keepdims=True)
    var = x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(y, g * (x - mu) / np.sqrt(var + 1e-5) + b, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.9 * rm0 + 0.1 * mu.ravel(), atol=1e-12)
    unbiased = x.transpose(1, 0, 2).reshape(3, -1).var(axis=1, ddof=1)
    np.testing.assert_allclose(bn.running_var, 0.9 * rv0 + 0.1 * unbiased, atol=1e-12)
    bn.eval()
    rm, rv = bn.running_mean.copy(), bn.running_var.copy()
    y = bn(x)
    expected = g * (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-5) + b
    np.testing.assert_allclose(y, expected, atol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, rm)  # eval does not update


@pytest.mark.torch
@pytest.mark.parametrize("cls, shape", [*BN_CASES, (nn.BatchNorm2d, (4, 3, 5, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_torch(cls, shape, affine, rng):
    torch = pytest.importorskip("torch")
    c = shape[1]
    ours = cls(c, momentum=0.3, affine=affine).double()
    tcls = torch.nn.BatchNorm1d if cls is nn.BatchNorm1d else torch.nn.BatchNorm2d
    theirs = tcls(c, momentum=0.3, affine=affine).double()
    if affine:
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        ours.weight.data, ours.bias.data = gamma, beta
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(gamma))
            theirs.bias.copy_(torch.from_numpy(beta))
    for step in range(4):
        training = step < 3
        ours.train(training)
        theirs.train(training)
        x = rng.normal(step, 1.0 + step, size=shape)
        dout = rng.normal(size=shape)
        ours.zero_grad()
        y = ours(x)
        dx = ours.backward(dout)
        xt = torch.from_numpy(x).requires_grad_(True)
        theirs.zero_grad()
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dout))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
        if affine:
            np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
            np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)


def test_batchnorm_float32_keeps_dtype(rng):
    bn = nn.BatchNorm2d(2)
    x = rng.normal(size=(3, 2, 2, 2)).astype(np.float32)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == np.float32


def test_batchnorm_state_dict_round_trip(rng):
    a = _bn(nn.BatchNorm1d, 3, rng)
    a(rng.normal(size=(4, 3)))
    b = nn.BatchNorm1d(3).double()
    b.load_state_dict(a.state_dict())
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(a.eval()(x), b.eval()(x))


@pytest.mark.parametrize(
    "cls, shape, message",
    [
        (nn.BatchNorm1d, (4, 2), r"BatchNorm1d expects 3 input channels \(axis 1\), got shape"),
        (nn.BatchNorm2d, (2, 4, 3, 3), r"BatchNorm2d expects 3 input channels"),
        (nn.BatchNorm1d, (2, 3, 4, 4), r"BatchNorm1d expects input of shape \(N, C\) or"),
        (nn.BatchNorm2d, (2, 3), r"BatchNorm2d expects input of shape \(N, C, H, W\)"),
        (nn.BatchNorm1d, (3,), r"BatchNorm1d expects input of shape"),
    ],
)
def test_batchnorm_shape_errors(cls, shape, message):
    with pytest.raises(ValueError, match=message):
        cls(3)(np.zeros(shape))


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_batchnorm_single_value_per_channel(shape):
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(np.zeros(shape))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))  # unchanged
    assert bn.eval()(np.ones(shape)).shape == shape  # eval mode is fine


def test_batchnorm_argument_errors():
    with pytest.raises(ValueError, match="num_features must be a positive integer, got 0"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\], got 1.5"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be a finite real number > 0, got -1"):
        nn.BatchNorm2d(3, eps=-1)
    with pytest.raises(TypeError, match="BatchNorm1d expects an array input, got list"):
        nn.BatchNorm1d(3)([[1.0, 2.0, 3.0]])
    with pytest.raises(RuntimeError, match="BatchNorm2d.backward called before forward"):
        nn.BatchNorm2d(3).backward(np.zeros((2, 3, 1, 1)))


def test_batchnorm_backward_does_not_mutate_dout(rng):
    bn = _bn(nn.BatchNorm2d, 2, rng)
    x = rng.normal(size=(2, 2, 3, 3))
    dout = rng.normal(size=x.shape)
    keep = dout.copy()
    bn(x)
    bn.backward(dout)
    np.testing.assert_array_equal(dout, keep)


# -------------------------------------------------------------------- Dropout
def test_dropout_eval_is_identity(rng):
    drop = nn.Dropout(0.7, seed=0).eval()
    x = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(drop(x), x)
    dout = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(drop.backward(dout), dout)


def test_dropout_p_zero_is_identity_in_training(rng):
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(nn.Dropout(0.0, seed=0)(x), x)


def test_dropout_zeroes_or_scales_each_unit(rng):
    p = 0.25
    drop = nn.Dropout(p, seed=1)
    x = rng.uniform(1.0, 2.0, size=(50, 40))
    y = drop(x)
    dropped = y == 0
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - p))
    dout = rng.normal(size=x.shape)
    dx = drop.backward(dout)
    np.testing.assert_array_equal(dx[dropped], 0.0)
    np.testing.assert_allclose(dx[~dropped], dout[~dropped] / (1 - p))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_preserves_expectation(p):
    """Mean of y over n ones is K/(n(1-p)) with K ~ Binomial(n, 1-p)."""
    n = 200_000
    y = nn.Dropout(p, seed=123)(np.ones(n))
    std_of_mean = math.sqrt(n * p * (1 - p)) / (n * (1 - p))
    assert abs(y.mean() - 1.0) < 5 * std_of_mean
    keep_fraction = np.count_nonzero(y) / n
    assert abs(keep_fraction - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)


def test_dropout_same_seed_same_noise(rng):
    x = rng.normal(size=(8, 16))
    a, b, c = nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=8)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, c(x))
    assert not np.array_equal(first, a(x))  # the stream advances between calls


def test_dropout_default_generator_follows_manual_seed(rng):
    import nnprune

    x = rng.normal(size=(6, 6))
    drop = nn.Dropout(0.5)
    nnprune.manual_seed(5)
    first = drop(x)
    nnprune.manual_seed(5)
    np.testing.assert_array_equal(drop(x), first)


def test_dropout_gradcheck_with_setup(rng):
    drop = nn.Dropout(0.4, seed=0)

    def reset() -> None:
        drop.rng = np.random.default_rng(99)

    x = rng.normal(size=(4, 6))
    gradcheck(drop, x, setup=reset)
    gradcheck(drop.eval(), x)


def test_dropout_gradcheck_fails_without_setup(rng):
    """Fresh noise at every forward makes the finite differences meaningless."""
    from nnprune.gradcheck import GradcheckError

    with pytest.raises(GradcheckError, match="Dropout: analytic and numerical gradients disagree"):
        gradcheck(nn.Dropout(0.5, seed=0), rng.normal(size=(4, 6)))


def test_dropout_float32_keeps_dtype(rng):
    y = nn.Dropout(0.5, seed=0)(rng.normal(size=(3, 3)).astype(np.float32))
    assert y.dtype == np.float32


@pytest.mark.parametrize("p", [1.0, -0.1, 2, "0.5", True])
def test_dropout_p_errors(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got"):
        nn.Dropout(p)


def test_dropout_rng_and_input_errors():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        nn.Dropout(0.5, seed=-1)
    with pytest.raises(TypeError, match="Dropout expects an array input, got list"):
        nn.Dropout(0.5)([1.0, 2.0])


def test_dropout_repr_and_no_mask_named_cache():
    drop = nn.Dropout(0.3, seed=0)
    drop(np.ones((2, 2)))
    assert repr(drop) == "Dropout(p=0.3)"
    assert not any("mask" in name for name in vars(drop))
