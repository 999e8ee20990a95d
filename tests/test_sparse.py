"""Tests for nnprune.sparse: formats, byte accounting, .npz round trips, sparse layers.

Byte counts are checked against sums of the component arrays written out in
the test; round trips against the original dense arrays; sparse layers against
a dense NumPy product (and PyTorch in float64 when it is installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnprune import backend, nn, sparse
from nnprune.models import small_cnn

FORMATS = ["csr", "csc", "coo", "bsr"]


def _pruned(shape: tuple[int, ...], sparsity: float, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < sparsity] = 0.0
    return w


def _pruned_model(rng: np.random.Generator) -> nn.Module:
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, seed=0),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 10, seed=1),
        nn.ReLU(),
        nn.Linear(10, 3, seed=2),
    )
    conv, lin = model[0], model[4]
    conv.weight.mask = rng.random(conv.weight.shape) > 0.6
    lin.weight.mask = rng.random(lin.weight.shape) > 0.8
    # A kept weight that is exactly zero: its mask is no longer "data != 0".
    kept = np.argwhere(lin.weight.mask)[0]
    w = lin.weight.data.copy()
    w[tuple(kept)] = 0.0
    lin.weight.data = w
    model[1].running_mean = rng.standard_normal(4).astype(np.float32)
    return model


# --------------------------------------------------------------- formats and bytes
@pytest.mark.parametrize("fmt", FORMATS)
def test_to_sparse_round_trip_exact(fmt, rng):
    w = _pruned((12, 16), 0.7, rng)
    m = sparse.to_sparse(w, fmt, blocksize=(4, 4) if fmt == "bsr" else None)
    assert m.format == fmt and m.dtype == np.float32
    np.testing.assert_array_equal(m.toarray(), w)
    if fmt != "bsr":
        assert m.nnz == np.count_nonzero(w)


def test_to_sparse_conv_weight_and_parameter(rng):
    w = _pruned((5, 3, 2, 2), 0.5, rng)
    m = sparse.to_sparse(nn.Parameter(w), "csr")
    assert m.shape == (5, 12)
    np.testing.assert_array_equal(m.toarray(), w.reshape(5, 12))


def test_sparse_nbytes_matches_component_sums(rng):
    w = _pruned((30, 50), 0.9, rng)
    nnz = int(np.count_nonzero(w))
    csr = sparse.to_sparse(w, "csr")
    assert sparse.sparse_nbytes(csr) == 4 * nnz + 4 * nnz + 4 * 31  # f32 data, i32 idx, ptr
    csc = sparse.to_sparse(w, "csc")
    assert sparse.sparse_nbytes(csc) == 8 * nnz + 4 * 51
    coo = sparse.to_sparse(w, "coo")
    assert sparse.sparse_nbytes(coo) == 4 * nnz + 2 * 4 * nnz
    bsr = sparse.to_sparse(w, "bsr", blocksize=(5, 10))
    blocks = sum(
        np.any(w[i : i + 5, j : j + 10] != 0) for i in range(0, 30, 5) for j in range(0, 50, 10)
    )
    assert sparse.sparse_nbytes(bsr) == 4 * 50 * blocks + 4 * blocks + 4 * (30 // 5 + 1)
    assert sparse.dense_nbytes(w) == 30 * 50 * 4
    assert sparse.dense_nbytes(w.astype(np.float64)) == 30 * 50 * 8


def test_smallest_index_dtype():
    assert sparse.smallest_index_dtype(255) == np.uint8
    assert sparse.smallest_index_dtype(256) == np.uint16
    assert sparse.smallest_index_dtype(70_000) == np.uint32


def test_format_errors(rng):
    w = _pruned((6, 8), 0.5, rng)
    with pytest.raises(ValueError, match="format must be one of"):
        sparse.to_sparse(w, "dia")
    with pytest.raises(ValueError, match=r"blocksize \(4, 4\) must divide the matrix shape"):
        sparse.to_sparse(w, "bsr", blocksize=(4, 4))
    with pytest.raises(ValueError, match="blocksize must be a pair of positive ints"):
        sparse.to_sparse(w, "bsr", blocksize=(0, 2))
    with pytest.raises(ValueError, match="blocksize is only used with format='bsr'"):
        sparse.to_sparse(w, "csr", blocksize=(2, 2))
    with pytest.raises(TypeError, match="must be a csr, csc, coo or bsr"):
        sparse.sparse_nbytes(w)
    with pytest.raises(ValueError, match="format must be one of"):
        sparse.export_model(nn.Sequential(nn.Linear(2, 2, seed=0)), "lil")


def test_export_model_kinds(rng):
    model = _pruned_model(rng)
    out = sparse.export_model(model, "csc")
    assert out["0.weight"].format == "csc" and out["0.weight"].shape == (4, 18)
    assert isinstance(out["0.bias"], np.ndarray)
    np.testing.assert_array_equal(out["1.running_mean"], model[1].running_mean)
    np.testing.assert_array_equal(out["4.weight"].toarray(), model[4].weight.data)


# ------------------------------------------------------------------ save / load
@pytest.mark.parametrize("fmt", FORMATS)
def test_save_load_round_trip_with_masks(fmt, rng, tmp_path):
    model = _pruned_model(rng)
    path = tmp_path / "model.npz"
    sparse.save_sparse(model, path, format=fmt, blocksize=(1, 2) if fmt == "bsr" else None)
    state = sparse.load_sparse(path)
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    assert "4.weight_mask" in state and "0.weight_mask" in state and "6.weight_mask" not in state
    for key, value in expected.items():
        assert state[key].dtype == value.dtype, key
        np.testing.assert_array_equal(state[key], value, err_msg=key)

    fresh = _pruned_model(np.random.default_rng(99))
    fresh[4].weight.mask = None
    fresh.load_state_dict(state)
    for (name, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert (p.mask is None) == (q.mask is None), name
        if p.mask is not None:
            np.testing.assert_array_equal(p.mask, q.mask, err_msg=name)


def test_saved_file_is_compact_and_pickle_free(rng, tmp_path):
    model = nn.Sequential(nn.Linear(200, 100, seed=0))
    model[0].weight.mask = rng.random((100, 200)) > 0.95
    path = tmp_path / "m.npz"
    sparse.save_sparse(model, path)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(f["__meta__"].tobytes())
        assert f["sparse/0.weight/indices"].dtype == np.uint8  # columns < 200
        assert f["sparse/0.weight/indptr"].dtype == np.uint16  # pointers <= nnz ~ 1000
        assert "dense/0.bias" in f.files
    assert meta["format"] == "nnprune-sparse" and meta["sparse_format"] == "csr"
    assert meta["entries"]["0.weight"]["shape"] == [100, 200]
    assert os.path.getsize(path) < 100 * 200 * 4 / 4


def test_save_is_atomic(rng, tmp_path, monkeypatch):
    model = _pruned_model(rng)
    path = tmp_path / "model.npz"
    sparse.save_sparse(model, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        sparse.save_sparse(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_load_errors(rng, tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        sparse.load_sparse(garbage)

    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="no '__meta__' entry"):
        sparse.load_sparse(foreign)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __meta__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="entry '__meta__' is an object array.*never unpickled"):
        sparse.load_sparse(pickled)

    single = tmp_path / "single.npy"
    np.save(single, np.arange(3))
    with pytest.raises(ValueError, match="single .npy array"):
        sparse.load_sparse(single)

    with pytest.raises(FileNotFoundError):
        sparse.load_sparse(tmp_path / "missing.npz")

    # A good file with one array corrupted: indices out of range.
    model = nn.Sequential(nn.Linear(6, 4, seed=0))
    good = tmp_path / "good.npz"
    sparse.save_sparse(model, good)
    with np.load(good, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["sparse/0.weight/indices"] = arrays["sparse/0.weight/indices"] + 50
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="entry '0.weight' is corrupt"):
        sparse.load_sparse(bad)

    del arrays["dense/0.bias"]
    arrays["sparse/0.weight/indices"] -= 50
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="entry '0.bias' is corrupt or incomplete"):
        sparse.load_sparse(bad)

    meta = json.loads(arrays["__meta__"].tobytes())
    meta["version"] = 99
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="unsupported file version 99"):
        sparse.load_sparse(bad)

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable .npz file|corrupt"):
        sparse.load_sparse(truncated)
    assert zipfile.is_zipfile(good)


# ------------------------------------------------------------------ sparse layers
@pytest.mark.parametrize("mode", ["dense", "sparse", "auto"])
def test_sparse_linear_matches_dense(mode, rng):
    linear = nn.Linear(40, 30, seed=0)
    linear.weight.data = _pruned((30, 40), 0.85, rng)
    layer = sparse.SparseLinear.from_linear(linear, mode=mode, batch_size=8, repeats=2)
    assert layer.mode_ in ("dense", "sparse")
    assert layer.mode_ == mode or mode == "auto"
    assert set(layer.timings_) == ({"dense", "sparse"} if mode == "auto" else set())
    x = rng.standard_normal((9, 40)).astype(np.float32)
    w64, b64 = linear.weight.data.astype(np.float64), linear.bias.data.astype(np.float64)
    np.testing.assert_allclose(layer(x), x.astype(np.float64) @ w64.T + b64, rtol=1e-5, atol=1e-5)
    x3 = rng.standard_normal((2, 5, 40)).astype(np.float32)
    np.testing.assert_allclose(layer(x3), linear(x3), rtol=1e-5, atol=1e-5)
    assert layer.nnz == np.count_nonzero(linear.weight.data)


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_sparse_conv_matches_dense(mode, rng):
    conv = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 1), seed=0)
    conv.weight.data = _pruned((5, 3, 3, 2), 0.8, rng)
    layer = sparse.SparseConv2d.from_conv(conv, mode=mode)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    # Independent reference: direct loops over output positions, float64.
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    w = conv.weight.data.astype(np.float64)
    oh, ow = (7 + 2 - 3) // 2 + 1, (6 + 2 - 2) // 1 + 1
    ref = np.empty((2, 5, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, 2 * i : 2 * i + 3, j : j + 2]  # (N, C, 3, 2)
            ref[:, :, i, j] = np.einsum("ncij,ocij->no", patch, w)
    ref += conv.bias.data[None, :, None, None]
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5)


def test_sparse_conv_auto_probe(rng):
    conv = small_cnn(seed=0)[0]
    layer = sparse.SparseConv2d.from_conv(conv, input_size=(8, 8), batch_size=2, repeats=2)
    assert layer.mode_ in ("dense", "sparse") and set(layer.timings_) == {"dense", "sparse"}
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(layer(x), conv(x), rtol=1e-5, atol=1e-5)


@pytest.mark.torch
def test_sparse_layers_match_torch_float64(rng):
    torch = pytest.importorskip("torch")
    conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, seed=0).double()
    conv.weight.data = _pruned((4, 2, 3, 3), 0.7, rng).astype(np.float64)
    layer = sparse.SparseConv2d.from_conv(conv, mode="sparse")
    x = rng.standard_normal((3, 2, 9, 9))
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(conv.weight.data),
        torch.from_numpy(conv.bias.data),
        stride=2,
        padding=1,
    )
    np.testing.assert_allclose(layer(x), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_sparse_layer_errors(rng):
    linear = nn.Linear(4, 3, seed=0)
    layer = sparse.SparseLinear.from_linear(linear, mode="sparse")
    with pytest.raises(NotImplementedError, match="inference-only"):
        layer.backward(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="mode must be one of"):
        sparse.SparseLinear.from_linear(linear, mode="fastest")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        sparse.SparseLinear.from_linear(linear, batch_size=0)
    with pytest.raises(TypeError, match="from_linear expects an nn.Linear"):
        sparse.SparseLinear.from_linear(nn.ReLU())
    with pytest.raises(TypeError, match="from_conv expects an nn.Conv2d"):
        sparse.SparseConv2d.from_conv(linear)
    with pytest.raises(ValueError, match="input_size"):
        sparse.SparseConv2d.from_conv(nn.Conv2d(1, 2, 3, seed=0))
    with pytest.raises(ValueError, match="expects 4 input features"):
        layer(np.zeros((2, 5), np.float32))


@pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a GPU")
@pytest.mark.cupy
def test_sparse_linear_cupy_matches_numpy(rng):
    cp = backend.get_backend("cupy")
    linear = nn.Linear(64, 32, seed=0)
    linear.weight.data = _pruned((32, 64), 0.9, rng)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    expected = linear(x)
    linear.to("cupy")
    for mode in ("dense", "sparse", "auto"):
        layer = sparse.SparseLinear.from_linear(linear, mode=mode, repeats=2)
        out = layer(cp.asarray(x))
        assert backend.is_cupy_array(out)
        np.testing.assert_allclose(cp.asnumpy(out), expected, rtol=1e-4, atol=1e-4)


def test_bench_sparse_quick_runs(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sparse.py"
    spec = importlib.util.spec_from_file_location("bench_sparse", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "Break-even sparsity" in out and "Check: SparseLinear (auto) was" in out
    if (os.cpu_count() or 1) >= 2:
        assert "Both cores, 95% sparsity" in out
    assert "940,800" in out  # dense bytes of the 300x784 float32 weight: 300 * 784 * 4


def test_load_rejects_truncated_mask(rng, tmp_path):
    model = _pruned_model(rng)
    path = tmp_path / "model.npz"
    sparse.save_sparse(model, path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    assert "mask/4.weight" in arrays  # the kept zero forces an explicit mask
    arrays["mask/4.weight"] = arrays["mask/4.weight"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="entry '4.weight' is corrupt.*mask has"):
        sparse.load_sparse(path)


def test_sparse_linear_chain_passes_a_transposed_view_and_leaves_input_alone(rng):
    first, second = nn.Linear(40, 30, seed=0), nn.Linear(30, 7, seed=1)
    first.weight.data = _pruned((30, 40), 0.9, rng)
    second.weight.data = _pruned((7, 30), 0.9, rng)
    a = sparse.SparseLinear.from_linear(first, mode="sparse")
    b = sparse.SparseLinear.from_linear(second, mode="sparse")
    x = rng.standard_normal((16, 40)).astype(np.float32)
    before = x.copy()
    h = a(x)
    assert h.flags.f_contiguous and not h.flags.c_contiguous  # (N, out) as a view of (out, N)
    np.testing.assert_allclose(b(h), second(first(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x, before)
