"""Conv1d: gradient checks, the definition written out, PyTorch parity, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck

CASES = [
    # (kernel_size, stride, padding, bias)
    (3, 1, 0, True),
    (3, 2, 1, True),
    (2, 1, 2, False),
    (1, 1, 0, True),
    ((4,), (3,), (1,), True),
]


def brute_conv1d(x, weight, bias, stride, padding):  # noqa: ANN001, ANN201
    """The definition, one weighted sum per output position (slow, obvious)."""
    n, _, length = x.shape
    c_out, _, k = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    l_out = (length + 2 * padding - k) // stride + 1
    y = np.zeros((n, c_out, l_out))
    for p in range(l_out):
        window = xp[:, :, p * stride : p * stride + k]  # (N, C, k)
        y[:, :, p] = np.einsum("nck,ock->no", window, weight)
    return y if bias is None else y + bias[None, :, None]


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CASES)
def test_gradcheck(rng, kernel, stride, padding, bias, masked) -> None:
    layer = nn.Conv1d(3, 4, kernel, stride, padding, bias=bias, seed=0).double()
    if masked:
        layer.weight.mask = rng.random(layer.weight.shape) > 0.4
    gradcheck(layer, rng.normal(size=(2, 3, 7)))


@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CASES)
def test_forward_is_the_definition(rng, kernel, stride, padding, bias) -> None:
    layer = nn.Conv1d(3, 5, kernel, stride, padding, bias=bias, seed=0).double()
    x = rng.normal(size=(2, 3, 9))
    b = None if layer.bias is None else layer.bias.data
    want = brute_conv1d(x, layer.weight.data, b, layer.stride[0], layer.padding[0])
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12, atol=1e-13)


def test_attributes_and_init() -> None:
    layer = nn.Conv1d(3, 8, 5, stride=2, padding=1, seed=3)
    assert layer.kernel_size == (5,) and layer.stride == (2,) and layer.padding == (1,)
    assert layer.weight.shape == (8, 3, 5) and layer.weight.prunable
    assert layer.weight.dtype == np.float32 and not layer.bias.prunable
    bound = 1.0 / np.sqrt(3 * 5)  # PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.all(np.abs(layer.weight.data) <= bound) and np.all(np.abs(layer.bias.data) <= bound)
    np.testing.assert_array_equal(layer.weight.data, nn.Conv1d(3, 8, 5, seed=3).weight.data)
    assert layer.output_shape((4, 3, 20)) == (4, 8, 9)


@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CASES)
def test_matches_torch(rng, kernel, stride, padding, bias) -> None:
    torch = pytest.importorskip("torch")
    layer = nn.Conv1d(3, 4, kernel, stride, padding, bias=bias, seed=0).double()
    layer.weight.mask = rng.random(layer.weight.shape) > 0.3
    x = rng.normal(size=(2, 3, 8))
    y = layer.forward(x)
    dout = rng.normal(size=y.shape)
    dx = layer.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.data, requires_grad=True)
    bt = None if layer.bias is None else torch.tensor(layer.bias.data, requires_grad=True)
    yt = torch.nn.functional.conv1d(xt, wt, bt, layer.stride, layer.padding)
    yt.backward(torch.tensor(dout))
    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y, yt.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), **close)
    if bt is not None:
        np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), **close)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 4, 3), "in_channels must be a positive integer, got 0"),
        ((3, 4, 0), r"kernel_size must be an int >= 1 or a 1-tuple of one, got 0"),
        ((3, 4, (3, 3)), r"kernel_size must be an int >= 1 or a 1-tuple of one, got \(3, 3\)"),
        ((3, 4, 3, 0), "stride must be an int >= 1"),
        ((3, 4, 3, 1, -1), "padding must be an int >= 0"),
    ],
)
def test_constructor_errors(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        nn.Conv1d(*args)


def test_input_errors(rng) -> None:
    layer = nn.Conv1d(3, 4, 5, seed=0)
    with pytest.raises(ValueError, match="Conv1d expects a 3-D input, got shape"):
        layer.forward(rng.normal(size=(2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"Conv1d expects 3 input channels \(axis 1\)"):
        layer.forward(rng.normal(size=(2, 2, 9)))
    with pytest.raises(ValueError, match=r"shorter than kernel_size \(5,\)"):
        layer.forward(rng.normal(size=(2, 3, 4)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 4, 5)))
    layer.forward(rng.normal(size=(2, 3, 9)))
    with pytest.raises(ValueError, match=r"expects dout of shape \(2, 4, 5\)"):
        layer.backward(np.zeros((2, 4, 6)))
