"""Conv2d, MaxPool2d, AvgPool2d and the im2col/col2im helpers."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.backend import cupy_available, to_backend, to_numpy
from nnprune.gradcheck import gradcheck
from nnprune.nn._im2col import col2im, im2col

CONV_CASES = [
    # (kernel_size, stride, padding, bias)
    (3, 1, 0, True),
    (3, 2, 1, True),
    (2, 1, 1, False),
    ((2, 3), (2, 1), (1, 0), True),
    (1, 1, 0, True),
]
POOL_CASES = [
    # (kernel_size, stride, padding): tiled fast path, floor-cropped fast path, general path
    (2, None, 0),
    (3, None, 0),
    (2, 1, 0),
    (3, 2, 1),
    ((2, 3), (1, 2), (1, 1)),
]


def distinct_input(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float64 values at least 0.1 apart, so no pooling window has a tie."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def brute_conv2d(x, weight, bias, stride, padding):  # noqa: ANN001, ANN201
    """The definition, one weighted sum per output position (slow, obvious)."""
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c_out, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = xp[:, :, p * sh : p * sh + kh, q * sw : q * sw + kw]  # (N, C, kH, kW)
            y[:, :, p, q] = np.einsum("nchw,ochw->no", patch, weight)
    return y if bias is None else y + bias[None, :, None, None]


# ---------------------------------------------------------------- im2col
@pytest.mark.parametrize("batch_last", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2)), ((3, 2), (3, 3), (1, 0))],
)
def test_col2im_is_the_adjoint_of_im2col(rng, kernel, stride, padding, batch_last) -> None:
    x = rng.normal(size=(2, 3, 7, 6))
    cols = im2col(x, kernel, stride, padding, batch_last=batch_last)
    c = rng.normal(size=cols.shape)
    lhs = float(np.sum(cols * c))
    dx = col2im(c, x.shape, kernel, stride, padding, batch_last=batch_last)
    assert dx.shape == x.shape
    assert lhs == pytest.approx(float(np.sum(x * dx)), rel=1e-12)


@pytest.mark.parametrize("batch_last", [False, True])
def test_im2col_columns_are_the_receptive_fields(rng, batch_last) -> None:
    x = rng.normal(size=(2, 3, 5, 6))
    cols = im2col(x, (2, 3), (2, 1), (1, 0), batch_last=batch_last)  # OH = 3, OW = 4
    assert cols.shape == (3 * 2 * 3, 2 * 3 * 4)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    for n, p, q in [(1, 2, 3), (0, 1, 2)]:
        column = (p * 4 + q) * 2 + n if batch_last else (n * 3 + p) * 4 + q
        want = xp[n, :, p * 2 : p * 2 + 2, q : q + 3].ravel()
        np.testing.assert_array_equal(cols[:, column], want)


# ---------------------------------------------------------------- Conv2d
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CONV_CASES)
def test_conv2d_gradcheck(rng, kernel, stride, padding, bias, masked) -> None:
    layer = nn.Conv2d(3, 4, kernel, stride, padding, bias=bias, seed=0).double()
    if masked:
        layer.weight.mask = rng.random(layer.weight.shape) > 0.5
        assert np.all(layer.weight.data[~layer.weight.mask] == 0)
    gradcheck(layer, rng.normal(size=(2, 3, 6, 5)))


@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CONV_CASES)
def test_conv2d_forward_matches_direct_sum(rng, kernel, stride, padding, bias) -> None:
    layer = nn.Conv2d(3, 4, kernel, stride, padding, bias=bias, seed=1).double()
    x = rng.normal(size=(2, 3, 6, 5))
    b = None if layer.bias is None else layer.bias.data
    expected = brute_conv2d(x, layer.weight.data, b, layer.stride, layer.padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_conv2d_attributes_and_default_init() -> None:
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1, seed=0)
    assert (layer.kernel_size, layer.stride, layer.padding) == ((3, 3), (2, 2), (1, 1))
    assert layer.weight.shape == (8, 3, 3, 3) and layer.weight.prunable
    assert layer.bias.shape == (8,) and not layer.bias.prunable
    assert layer.weight.dtype == np.float32
    bound = 1.0 / np.sqrt(3 * 3 * 3)  # PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kernel_size": 0}, r"kernel_size must be an int >= 1 or a pair of them, got 0"),
        ({"kernel_size": (3, -1)}, r"kernel_size must be .* got \(3, -1\)"),
        ({"kernel_size": 3, "stride": 0}, r"stride must be .* got 0"),
        ({"kernel_size": 3, "padding": -1}, r"padding must be an int >= 0 .* got -1"),
        ({"kernel_size": 3, "in_channels": 0}, r"in_channels must be a positive integer, got 0"),
    ],
)
def test_conv2d_bad_arguments(kwargs, message) -> None:
    args = {"in_channels": 3, "out_channels": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**args)


def test_conv2d_bad_inputs(rng) -> None:
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d expects 3 input channels \(axis 1\), got shape"):
        layer.forward(rng.normal(size=(2, 2, 8, 8)))
    with pytest.raises(ValueError, match=r"Conv2d expects a 4-D input, got shape \(3, 8, 8\)"):
        layer.forward(rng.normal(size=(3, 8, 8)))
    with pytest.raises(ValueError, match=r"smaller than kernel_size \(3, 3\)"):
        layer.forward(rng.normal(size=(1, 3, 2, 8)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Conv2d(3, 4, 3).backward(np.zeros((1, 4, 1, 1)))


# --------------------------------------------------------------- pooling
@pytest.mark.parametrize("pool", [nn.MaxPool2d, nn.AvgPool2d])
@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES)
def test_pool_gradcheck(rng, pool, kernel, stride, padding) -> None:
    gradcheck(pool(kernel, stride, padding), distinct_input(rng, (2, 3, 7, 8)))


@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES)
def test_pools_match_brute_force(rng, kernel, stride, padding) -> None:
    x = distinct_input(rng, (2, 3, 7, 8))
    maxpool, avgpool = nn.MaxPool2d(kernel, stride, padding), nn.AvgPool2d(kernel, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = maxpool.kernel_size, maxpool.stride, maxpool.padding
    neg = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    zero = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (7 + 2 * ph - kh) // sh + 1, (8 + 2 * pw - kw) // sw + 1
    want_max, want_avg = np.empty((2, 3, oh, ow)), np.empty((2, 3, oh, ow))
    for p in range(oh):
        for q in range(ow):
            rows, cols = slice(p * sh, p * sh + kh), slice(q * sw, q * sw + kw)
            want_max[:, :, p, q] = neg[:, :, rows, cols].max(axis=(2, 3))
            want_avg[:, :, p, q] = zero[:, :, rows, cols].sum(axis=(2, 3)) / (kh * kw)
    np.testing.assert_array_equal(maxpool.forward(x), want_max)
    np.testing.assert_allclose(avgpool.forward(x), want_avg, rtol=1e-13)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, 1, 1)])
def test_maxpool_routes_gradient_to_the_first_maximum(kernel, stride, padding) -> None:
    x = np.ones((1, 1, 4, 4))  # every window is one big tie
    pool = nn.MaxPool2d(kernel, stride, padding)
    y = pool.forward(x)
    dx = pool.backward(np.ones_like(y))
    assert dx.sum() == y.size  # one entry per window, not one per tied entry
    if stride is None:
        np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]] * 2)


@pytest.mark.parametrize(
    ("pool", "kwargs", "message"),
    [
        (nn.MaxPool2d, {"kernel_size": 0}, r"kernel_size must be an int >= 1 .* got 0"),
        (nn.AvgPool2d, {"kernel_size": 2, "stride": 0}, r"stride must be .* got 0"),
        (nn.MaxPool2d, {"kernel_size": 2, "padding": 2}, r"padding must be at most half"),
    ],
)
def test_pool_bad_arguments(pool, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        pool(**kwargs)


@pytest.mark.parametrize("pool", [nn.MaxPool2d, nn.AvgPool2d])
def test_pool_bad_inputs(rng, pool) -> None:
    with pytest.raises(ValueError, match=rf"{pool.__name__} expects a 4-D input, got shape"):
        pool(2).forward(rng.normal(size=(3, 8, 8)))
    with pytest.raises(ValueError, match="smaller than kernel_size"):
        pool(3).forward(rng.normal(size=(1, 1, 2, 8)))
    with pytest.raises(RuntimeError, match="before forward"):
        pool(2).backward(np.zeros((1, 1, 1, 1)))


# --------------------------------------------------------------- contract
@pytest.mark.parametrize(
    "layer",
    [nn.Conv2d(3, 4, 3, padding=1, seed=0), nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1),
     nn.AvgPool2d(2), nn.AvgPool2d(3, 1, 1)],
)  # fmt: skip
def test_backward_does_not_mutate_dout(rng, layer) -> None:
    y = layer.forward(distinct_input(rng, (2, 3, 6, 6)).astype(np.float32))
    dout = rng.normal(size=y.shape).astype(np.float32)
    before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, before)


def test_float32_stays_float32(rng) -> None:
    x = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    for layer in (nn.Conv2d(3, 4, 3, seed=0), nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1)):
        y = layer.forward(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32


# ---------------------------------------------------------------- PyTorch
@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride", "padding", "bias"), CONV_CASES)
def test_conv2d_matches_torch(rng, kernel, stride, padding, bias) -> None:
    torch = pytest.importorskip("torch")
    layer = nn.Conv2d(3, 4, kernel, stride, padding, bias=bias, seed=2).double()
    layer.weight.mask = rng.random(layer.weight.shape) > 0.3
    x = rng.normal(size=(2, 3, 7, 6))
    y = layer.forward(x)
    dout = rng.normal(size=y.shape)
    dx = layer.backward(dout)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.data, requires_grad=True)
    bt = None if layer.bias is None else torch.tensor(layer.bias.data, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, layer.stride, layer.padding)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_pools_match_torch(rng, kernel, stride, padding, ties) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    # With ties (rounded values) both must still pick the first maximum of each window.
    x = np.round(rng.normal(size=(2, 3, 7, 8))) if ties else distinct_input(rng, (2, 3, 7, 8))
    for ours, theirs in ((nn.MaxPool2d, F.max_pool2d), (nn.AvgPool2d, F.avg_pool2d)):
        pool = ours(kernel, stride, padding)
        y = pool.forward(x)
        dout = rng.normal(size=y.shape)
        dx = pool.backward(dout)
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt, pool.kernel_size, pool.stride, pool.padding)
        yt.backward(torch.tensor(dout))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_small_cnn_gradcheck(rng) -> None:
    # The layers hand each other arrays in the (C, H, W, N) memory order conv produces;
    # the chain, with Flatten and Linear after it, must still be exact.
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, stride=1, seed=1), nn.AvgPool2d(2, 1), nn.MaxPool2d(3, 1, 1),
        nn.Flatten(), nn.Linear(4, 3, seed=2),
    ).double()  # fmt: skip
    gradcheck(model, rng.normal(size=(3, 2, 6, 6)))


@pytest.mark.cupy
@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
def test_cupy_matches_numpy(rng) -> None:
    layers = [nn.Conv2d(3, 4, 3, 2, 1, seed=0), nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1),
              nn.AvgPool2d(2), nn.AvgPool2d(3, 1, 1)]  # fmt: skip
    x = distinct_input(rng, (2, 3, 8, 8)).astype(np.float32)
    for layer in layers:
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        grads = [p.grad.copy() for p in layer.parameters()]
        layer.zero_grad()
        layer.to("cupy")
        y_gpu = layer.forward(to_backend(x, "cupy"))
        dx_gpu = layer.backward(to_backend(np.ones_like(y), "cupy"))
        np.testing.assert_allclose(to_numpy(y_gpu), y, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(to_numpy(dx_gpu), dx, rtol=1e-5, atol=1e-6)
        for g, p in zip(grads, layer.parameters(), strict=True):
            np.testing.assert_allclose(to_numpy(p.grad), g, rtol=1e-5, atol=1e-5)
