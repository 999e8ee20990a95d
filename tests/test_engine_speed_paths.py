"""The engine's speed and memory paths agree with the plain formulas they replace.

* ``Conv2d`` unfolds its input band by band into a shared scratch array
  (``SCRATCH_BYTES``) and unfolds it again in backward; the plain computation is
  one whole im2col matrix, ``Y = W X``, ``dW = Delta X^T``, ``dx = col2im(W^T Delta)``.
* ``input_requires_grad = False`` skips the input gradient (PyTorch's
  ``x.requires_grad = False``) without changing any parameter gradient.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nnprune import nn, optim, train
from nnprune.gradcheck import GradcheckError, gradcheck
from nnprune.nn import conv as conv_module
from nnprune.nn._im2col import col2im, im2col, release_workspace, workspace


def _plain_conv(layer: nn.Conv2d, x: np.ndarray, dout: np.ndarray):  # noqa: ANN202
    """Forward and gradients from one whole im2col matrix (the textbook path)."""
    geometry = layer.kernel_size, layer.stride, layer.padding
    cols = im2col(x, *geometry, batch_last=True)  # (C*kH*kW, OH*OW*N)
    w2 = layer.weight.data.reshape(layer.out_channels, -1)
    n, c_out, oh, ow = dout.shape
    y = (w2 @ cols + layer.bias.data[:, None]).reshape(c_out, oh, ow, n).transpose(3, 0, 1, 2)
    d2 = dout.transpose(1, 2, 3, 0).reshape(c_out, -1)
    dw = (d2 @ cols.T).reshape(layer.weight.shape)
    dx = col2im(w2.T @ d2, x.shape, *geometry, batch_last=True)
    return y, dw, d2.sum(axis=1), dx


@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "stride", "padding", "scratch", "flipped"),
    [
        (3, 4, 3, 1, 1, 1, False),
        (3, 4, 3, 2, 1, 1, False),
        (3, 4, (3, 2), (2, 1), (0, 1), 700, False),
        (3, 4, 1, 1, 0, 10**9, False),
        (3, 4, 3, 1, 1, 10**9, False),
        (4, 3, 3, 1, 1, 1, True),
        (4, 4, 3, 1, 1, 10**9, True),
        (4, 3, (3, 2), 1, (0, 1), 700, True),
        (4, 2, 1, 1, 0, 10**9, True),
        (4, 3, 3, 1, 2, 1, True),
        (4, 3, 3, 1, 3, 1, False),  # padding > kernel - 1: col2im
        (4, 3, 3, 2, 1, 1, False),  # stride 2: col2im
    ],
)
def test_conv_bands_match_plain_im2col(
    monkeypatch, rng, c_in, c_out, kernel, stride, padding, scratch, flipped
):
    # scratch=1 forces one output row per band; 10**9 one band for the whole image.
    monkeypatch.setattr(conv_module, "SCRATCH_BYTES", scratch)
    layer = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, seed=0).double()
    assert layer._dx_by_flipped_kernel() is flipped
    x = rng.standard_normal((2, c_in, 9, 7))
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    y_ref, dw_ref, db_ref, dx_ref = _plain_conv(layer, x, dout)
    dx = layer.backward(dout)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, dw_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, db_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(2, 3, 2), (3, 2, 1)])
def test_conv_bands_gradcheck(monkeypatch, c_in, c_out, stride):
    monkeypatch.setattr(conv_module, "SCRATCH_BYTES", 1)
    layer = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, seed=0).double()
    x = np.random.default_rng(0).standard_normal((2, c_in, 6, 5))
    assert gradcheck(layer, x).ok
    layer.input_requires_grad = False
    with pytest.raises(GradcheckError, match="returned no input gradient"):
        gradcheck(layer, x)
    assert gradcheck(layer, x, check_input=False).ok


def test_conv_float32_bands_agree_with_one_band(monkeypatch, rng):
    x = rng.standard_normal((8, 3, 12, 12)).astype(np.float32)
    outs = []
    for scratch in (1, 10**9):
        monkeypatch.setattr(conv_module, "SCRATCH_BYTES", scratch)
        layer = nn.Conv2d(3, 5, 3, padding=1, seed=0)
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        outs.append((y, layer.weight.grad.copy(), dx))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_conv_keeps_input_not_columns():
    layer = nn.Conv2d(3, 4, 3, padding=1, seed=0)
    x = np.zeros((2, 3, 8, 8), np.float32)
    layer.forward(x)
    assert layer._x is x
    assert not any(isinstance(v, np.ndarray) and v.size > x.size for v in vars(layer).values())


def test_workspace_reused_and_released():
    a = workspace("test", (4, 5), np.float32, np)
    b = workspace("test", (2, 3), np.float32, np)
    assert np.shares_memory(a, b)  # the smaller request reuses the buffer
    c = workspace("test", (10, 10), np.float32, np)
    assert c.shape == (10, 10) and not np.shares_memory(a, c)  # grown
    release_workspace()
    assert not np.shares_memory(workspace("test", (2, 3), np.float32, np), c)
    release_workspace()


def test_im2col_out_and_rows(rng):
    x = rng.standard_normal((2, 3, 6, 5))
    geometry = (3, 3), (1, 1), (1, 1)
    full = im2col(x, *geometry, batch_last=True)
    out = np.empty_like(full)
    assert im2col(x, *geometry, batch_last=True, out=out) is out
    np.testing.assert_array_equal(out, full)
    ow, n = 5, 2
    band = im2col(x, *geometry, batch_last=True, rows=(2, 4))
    np.testing.assert_array_equal(band, full[:, 2 * ow * n : 4 * ow * n])
    with pytest.raises(ValueError, match="out must be a C-contiguous array of shape"):
        im2col(x, *geometry, batch_last=True, out=np.empty((3, 3)))
    with pytest.raises(ValueError, match="rows must satisfy"):
        im2col(x, *geometry, batch_last=True, rows=(4, 9))


@pytest.mark.parametrize("layer_cls", ["linear", "conv"])
def test_input_requires_grad_false_skips_dx_only(rng, layer_cls):
    def make() -> nn.Module:
        if layer_cls == "linear":
            return nn.Linear(6, 4, seed=0).double()
        return nn.Conv2d(2, 3, 3, padding=1, seed=0).double()

    x = rng.standard_normal((3, 6) if layer_cls == "linear" else (3, 2, 5, 5))
    ref, skip = make(), make()
    skip.input_requires_grad = False
    dout = rng.standard_normal(ref.forward(x).shape)
    skip.forward(x)
    assert ref.backward(dout) is not None
    assert skip.backward(dout) is None
    for p, q in zip(ref.parameters(), skip.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_sequential_flag_reaches_leading_layers_up_to_first_with_parameters(rng):
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 5, seed=0), nn.ReLU(), nn.Linear(5, 2, seed=1)
    )
    model.input_requires_grad = False
    assert [m.input_requires_grad for m in model] == [False, False, True, True]
    x = rng.standard_normal((4, 3, 4)).astype(np.float32)
    model.forward(x)
    assert model.backward(np.ones((4, 2), np.float32)) is None
    model.input_requires_grad = True
    assert all(m.input_requires_grad for m in model)
    model.forward(x)
    assert model.backward(np.ones((4, 2), np.float32)).shape == x.shape


def test_sequential_refuses_a_skipped_middle_layer(rng):
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.ReLU(), nn.Linear(3, 2, seed=1))
    model[2].input_requires_grad = False
    model.forward(rng.standard_normal((2, 4)).astype(np.float32))
    with pytest.raises(RuntimeError, match="returned no input gradient"):
        model.backward(np.ones((2, 2), np.float32))


def test_fit_skips_input_gradient_and_restores_the_flag(rng):
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.ReLU(), nn.Linear(3, 2, seed=1))
    seen = []
    backward = model[0].backward

    def spy(dout):  # noqa: ANN001, ANN202
        out = backward(dout)
        seen.append(out)
        return out

    model[0].backward = spy
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 2, 16)
    opt = optim.SGD(model.parameters(), lr=0.1)
    train.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, batch_size=8, progress=False)
    assert seen == [None, None]
    assert model.input_requires_grad and model[0].input_requires_grad


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_channel_rows_path_matches_plain_path(rng, affine, training):
    # (C, H, W, N) memory order (a Conv2d output) takes the fast path; C order the plain one.
    fast_x = rng.standard_normal((4, 5, 6, 3)).transpose(3, 0, 1, 2) * 3 + 1
    plain_x = np.ascontiguousarray(fast_x)
    dout_fast = rng.standard_normal((4, 5, 6, 3)).transpose(3, 0, 1, 2)
    dout_plain = np.ascontiguousarray(dout_fast)
    assert nn.BatchNorm2d._channel_rows(fast_x) is not None
    assert nn.BatchNorm2d._channel_rows(plain_x) is None
    results = []
    for x, dout in ((fast_x, dout_fast), (plain_x, dout_plain)):
        bn = nn.BatchNorm2d(4, affine=affine).double()
        if affine:
            bn.weight.data = rng.standard_normal(4) if not results else results[0][4]
        bn.train(training)
        bn.running_mean = np.arange(4.0)
        bn.running_var = np.arange(1.0, 5.0)
        y = bn.forward(x)
        dx = bn.backward(dout)
        grads = [p.grad.copy() for p in bn.parameters()]
        results.append(
            (y, dx, bn.running_mean, bn.running_var, bn.weight.data if affine else None, grads)
        )
    (y1, dx1, rm1, rv1, _, g1), (y2, dx2, rm2, rv2, _, g2) = results
    for a, b in [(y1, y2), (dx1, dx2), (rm1, rm2), (rv1, rv2), *zip(g1, g2, strict=True)]:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_batchnorm_channel_rows_path_gradcheck(rng):
    # After a Conv2d the BatchNorm input is in (C, H, W, N) order: the fast path runs.
    bn = nn.BatchNorm2d(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False, seed=0), bn).double()
    bn.weight.data = rng.standard_normal(3)
    x = rng.standard_normal((4, 2, 4, 4))
    assert nn.BatchNorm2d._channel_rows(model[0].forward(x)) is not None
    assert gradcheck(model, x).ok


@pytest.mark.slow
def test_bench_cifar_cnn_smoke(load_script, capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored after the test
    bench = load_script("benchmarks", "bench_cifar_cnn")
    threads = torch.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=None):  # restores the BLAS threads on exit
        args = ["--repeats", "1", "--rounds", "1", "--warmup", "0", "--no-memory", "--floor"]
        ratios = bench.main(args)
    torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert set(ratios) == {"training step", "training step, BatchNorm", "inference", "floor"}
    # The floor's no-ops are undone: the engine's own functions are back.
    assert nn.ReLU.forward.__module__ == "nnprune.nn.activation"
    assert nn.MaxPool2d.backward.__module__ == "nnprune.nn.pooling"
    assert conv_module.im2col is im2col
    assert all(r > 0 for r in ratios.values())
    assert "OPENBLAS_CORETYPE=" in out and "kernel=" in out
    assert out.count("PASS") + out.count("FAIL") == 3


@pytest.mark.parametrize("kernel", [2, 3])
def test_maxpool_eval_forward_then_backward_matches_training(rng, kernel):
    # Integer values: many ties, where the first maximum in row-major order wins.
    x = rng.integers(0, 3, size=(2, 3, 7, 6)).astype(float)
    dout = rng.standard_normal((2, 3, 7 // kernel, 6 // kernel))
    train_pool, eval_pool = nn.MaxPool2d(kernel), nn.MaxPool2d(kernel).eval()
    np.testing.assert_array_equal(eval_pool.forward(x), train_pool.forward(x))
    assert eval_pool._argmax is None  # not computed by an eval() forward
    np.testing.assert_array_equal(eval_pool.backward(dout), train_pool.backward(dout))
    assert train_pool.backward(dout).sum() == pytest.approx(dout.sum())  # one winner each


def test_relu_backward_is_the_plain_formula(rng):
    x = rng.integers(-2, 3, size=(4, 5)).astype(float)  # zeros included: 1[x > 0] is 0 there
    dout = rng.standard_normal(x.shape)
    relu = nn.ReLU()
    np.testing.assert_array_equal(relu.forward(x), x * (x > 0))
    np.testing.assert_array_equal(relu.backward(dout), dout * (x > 0))
