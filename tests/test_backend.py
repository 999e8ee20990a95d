"""Backends: NumPy always; CuPy only with a GPU (agreement tests skip otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

import nnprune
from nnprune import backend, nn

GPU = backend.cupy_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and an NVIDIA GPU")


def test_get_xp_on_numpy():
    assert backend.get_xp(np.zeros(2)) is np
    assert backend.get_xp(np.zeros(2), [1, 2], None) is np
    assert backend.get_xp() is np
    assert backend.backend_of(np.zeros(1)) == "numpy"
    assert not backend.is_cupy_array(np.zeros(1))


@pytest.mark.parametrize(
    "alias, name",
    [
        ("numpy", "numpy"),
        ("CPU", "numpy"),
        ("np", "numpy"),
        ("cupy", "cupy"),
        ("cuda", "cupy"),
        ("GPU", "cupy"),
    ],
)
def test_normalize_backend_aliases(alias, name):
    assert backend.normalize_backend(alias) == name


def test_normalize_backend_error():
    with pytest.raises(ValueError, match=r"backend must be one of \[.*'cuda'.*\], got 'tpu'"):
        backend.normalize_backend("tpu")
    with pytest.raises(ValueError, match="got 'tpu'"):
        backend.to_backend(np.zeros(1), "tpu")
    with pytest.raises(ValueError, match="got 'tpu'"):
        nn.Linear(2, 2).to("tpu")


def test_to_backend_numpy_round_trip():
    x = np.arange(3.0)
    assert backend.to_backend(x, "cpu") is x
    assert backend.to_backend(None, "numpy") is None
    np.testing.assert_array_equal(backend.to_numpy([1, 2]), [1, 2])
    assert backend.get_backend("numpy") is np


@pytest.mark.skipif(GPU, reason="a GPU is present, so moving to CuPy succeeds")
def test_cupy_unavailable_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"backend 'cupy' needs CuPy and an NVIDIA GPU"):
        backend.to_backend(np.zeros(2), "cupy")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        backend.get_backend("cuda")
    layer = nn.Linear(3, 2, seed=0)
    layer.weight.mask = np.ones((3 * 2,), bool).reshape(2, 3)
    before = layer.state_dict()
    with pytest.raises(RuntimeError, match="needs CuPy"):
        layer.to("cupy")
    assert layer.backend == "numpy"
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_module_to_numpy_is_a_no_op_on_numpy():
    layer = nn.Linear(3, 2, seed=0)
    w = layer.weight.data.copy()
    assert layer.to("cpu") is layer
    np.testing.assert_array_equal(layer.weight.data, w)
    assert layer.backend == "numpy"


# ------------------------------------------------------------ NumPy vs CuPy
def _run(model, loss_fn, x, target, xp_name):
    model = model.to(xp_name)
    x = backend.to_backend(x, xp_name)
    target = backend.to_backend(target, xp_name)
    model.zero_grad()
    y = model(x)
    loss = loss_fn(y, target)
    dx = model.backward(loss_fn.backward())
    grads = [backend.to_numpy(p.grad).copy() for p in model.parameters()]
    return backend.to_numpy(y), loss, backend.to_numpy(dx), grads


def _model(seed):
    return nn.Sequential(nn.Linear(6, 5, seed=seed), nn.ReLU(), nn.Linear(5, 4, seed=seed + 1))


@pytest.mark.cupy
@needs_gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_and_cupy_agree(dtype, rng):
    x = rng.normal(size=(8, 6)).astype(dtype)
    target = rng.integers(0, 4, size=8)
    cpu_model, gpu_model = _model(3).to(dtype=dtype), _model(3).to(dtype=dtype)
    for m in (cpu_model, gpu_model):
        m[0].weight.mask = np.arange(30).reshape(5, 6) % 4 != 0
    ref = _run(cpu_model, nn.CrossEntropyLoss(), x, target, "numpy")
    out = _run(gpu_model, nn.CrossEntropyLoss(), x, target, "cupy")
    assert gpu_model.backend == "cupy"
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out[0], ref[0], rtol=tol, atol=tol)
    assert out[1] == pytest.approx(ref[1], rel=tol)
    np.testing.assert_allclose(out[2], ref[2], rtol=tol, atol=tol)
    for g_gpu, g_cpu in zip(out[3], ref[3], strict=True):
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=tol, atol=tol)
    # masks survive the move and come back
    gpu_model.to("numpy")
    np.testing.assert_array_equal(gpu_model[0].weight.mask, cpu_model[0].weight.mask)
    assert isinstance(gpu_model[0].weight.data, np.ndarray)


@pytest.mark.cupy
@needs_gpu
def test_cupy_batchnorm_dropout_agree(rng):
    x = rng.normal(size=(6, 3, 4, 4))
    dout = rng.normal(size=x.shape)
    results = []
    for name in ("numpy", "cupy"):
        model = nn.Sequential(nn.BatchNorm2d(3), nn.Dropout(0.3, seed=5)).double().to(name)
        y = model(backend.to_backend(x, name))
        dx = model.backward(backend.to_backend(dout, name))
        results.append(
            (backend.to_numpy(y), backend.to_numpy(dx), backend.to_numpy(model[0].running_var))
        )
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_nnprune_exports_backend():
    assert nnprune.backend is backend
