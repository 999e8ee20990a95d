"""Linear, activations and Flatten: gradient checks, PyTorch parity, stability, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck

ACTIVATIONS = [nn.ReLU, nn.Tanh, nn.Sigmoid, lambda: nn.LeakyReLU(0.2)]


def _away_from_kink(x: np.ndarray) -> np.ndarray:
    """Move entries off 0 so finite differences never straddle the ReLU kink."""
    return np.where(np.abs(x) < 1e-3, 0.5, x)


# --------------------------------------------------------------------- Linear
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_linear_gradcheck(shape, bias, masked, rng):
    layer = nn.Linear(5, 3, bias=bias, seed=0).double()
    if masked:
        layer.weight.mask = rng.random(layer.weight.shape) > 0.4
    report = gradcheck(layer, rng.normal(size=shape))
    assert set(report.errors) == {"input", "weight"} | ({"bias"} if bias else set())


def test_linear_masked_weight_gradient_is_dense(rng):
    """Backward returns the dense dL/dW, pruned entries included (gradient criteria need it)."""
    layer = nn.Linear(4, 3, seed=0).double()
    layer.weight.mask = np.eye(3, 4, dtype=bool)
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.weight.grad, dout.T @ x)
    np.testing.assert_array_equal(layer.weight.data[~np.eye(3, 4, dtype=bool)], 0.0)


def test_linear_formula_and_grad_accumulates(rng):
    layer = nn.Linear(4, 2, seed=3).double()
    w, b = layer.weight.data.copy(), layer.bias.data.copy()
    x, dout = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    np.testing.assert_allclose(layer(x), x @ w.T + b)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, dout @ w)
    layer.backward(dout)  # backward adds into .grad
    np.testing.assert_allclose(layer.weight.grad, 2 * dout.T @ x)
    np.testing.assert_allclose(layer.bias.grad, 2 * dout.sum(axis=0))


def test_linear_default_init_bounds():
    layer = nn.Linear(16, 8, seed=0)
    bound = 1 / np.sqrt(16)
    assert layer.weight.dtype == np.float32
    assert np.all(np.abs(layer.weight.data) <= bound)
    assert np.all(np.abs(layer.bias.data) <= bound)
    assert layer.weight.prunable and not layer.bias.prunable


def test_linear_errors():
    with pytest.raises(ValueError, match="in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="out_features must be a positive integer, got 2.5"):
        nn.Linear(3, 2.5)
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"Linear expects 3 input features \(last axis\)"):
        layer(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="Linear expects an input with at least 2 dimensions"):
        layer(np.zeros(3))
    with pytest.raises(TypeError, match="Linear expects an array input, got list"):
        layer([[1.0, 2.0, 3.0]])
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        nn.Linear(3, 2).backward(np.zeros((1, 2)))


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_gradcheck(make, rng):
    gradcheck(make(), _away_from_kink(rng.normal(size=(3, 4))))


def test_flatten_gradcheck_and_shapes(rng):
    x = rng.normal(size=(2, 3, 2, 2))
    flat = nn.Flatten()
    assert flat(x).shape == (2, 12)
    np.testing.assert_array_equal(flat(x), x.reshape(2, 12))
    gradcheck(flat, x)
    gradcheck(nn.Flatten(start_dim=2), x)
    assert nn.Flatten(start_dim=2)(x).shape == (2, 3, 4)


@pytest.mark.parametrize(
    "make", [*ACTIVATIONS, nn.Flatten, lambda: nn.Linear(4, 3, seed=0).double()]
)
def test_backward_does_not_mutate_dout(make, rng):
    layer = make()
    x = rng.normal(size=(3, 4))
    y = layer(x)
    dout = rng.normal(size=y.shape)
    keep = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, keep)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1e3, -750.0, -50.0, 0.0, 50.0, 750.0, 1e3])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = nn.Sigmoid()(x)
    assert np.all(np.isfinite(y))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[3] == 0.5
    np.testing.assert_allclose(y[2], np.exp(-50.0), rtol=1e-12)
    sig = nn.Sigmoid()
    sig(np.array([-1e3, 1e3]))
    np.testing.assert_array_equal(sig.backward(np.ones(2)), [0.0, 0.0])


def test_activations_on_float32_keep_dtype(rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    for make in ACTIVATIONS:
        layer = make()
        assert layer(x).dtype == np.float32
        assert layer.backward(np.ones_like(x)).dtype == np.float32


# ------------------------------------------------------------- PyTorch parity
@pytest.mark.torch
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
def test_linear_matches_torch(shape, rng):
    torch = pytest.importorskip("torch")
    ours = nn.Linear(5, 3, seed=1).double()
    ours.weight.mask = rng.random((3, 5)) > 0.3
    theirs = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x, dout = rng.normal(size=shape), rng.normal(size=(*shape[:-1], 3))
    y = ours(x)
    dx = ours.backward(dout)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.ReLU, "relu"),
        (nn.Tanh, "tanh"),
        (nn.Sigmoid, "sigmoid"),
        (lambda: nn.LeakyReLU(0.1), "leaky_relu"),
    ],
)
def test_activation_matches_torch(ours, theirs, rng):
    torch = pytest.importorskip("torch")
    fn = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.1),
    }[theirs]
    x = _away_from_kink(rng.normal(scale=3.0, size=(5, 6)))
    dout = rng.normal(size=x.shape)
    layer = ours()
    y = layer(x)
    dx = layer.backward(dout)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = fn(xt)
    yt.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-15)
