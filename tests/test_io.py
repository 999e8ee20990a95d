"""Saving and loading models: masks and buffers survive, bad files fail clearly."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nnprune import io, models, nn, prune


def pruned_mlp(seed=0):
    model = nn.Sequential(nn.Linear(6, 5, seed=seed), nn.ReLU(), nn.Linear(5, 3, seed=seed + 1))
    mask = np.random.default_rng(seed).random((5, 6)) > 0.5
    model[0].weight.mask = mask
    return model


def assert_same_state(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_round_trip_keeps_weights_masks_and_metadata(tmp_path):
    model = pruned_mlp(0)
    path = io.save(model, tmp_path / "m.npz", metadata={"accuracy": 0.93, "note": "dense+mask"})
    other = pruned_mlp(7)
    other[0].weight.mask = None
    other[2].weight.mask = np.ones((3, 5), bool)  # a mask the file does not have
    header = io.load(other, path)
    assert header["metadata"] == {"accuracy": 0.93, "note": "dense+mask"}
    assert header["class"] == "Sequential" and header["format"] == "nnprune"
    np.testing.assert_array_equal(other[0].weight.mask, model[0].weight.mask)
    assert other[2].weight.mask is None
    assert np.all(other[0].weight.data[~other[0].weight.mask] == 0)
    assert_same_state(other.state_dict(), model.state_dict())
    state, header2 = io.load_state(path)
    assert "0.weight_mask" in state and state["0.weight_mask"].dtype == np.bool_
    assert header2 == header


def test_round_trip_batchnorm_buffers(tmp_path):
    if not hasattr(nn, "BatchNorm1d"):
        pytest.skip("nnprune.nn.BatchNorm1d is not available")
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.BatchNorm1d(3))
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    model.train().forward(x)  # updates the running statistics
    buffers = dict(model.named_buffers())
    assert any(np.any(b != 0) for b in buffers.values() if b is not None)
    io.save(model, tmp_path / "bn.npz", compress=True)
    fresh = nn.Sequential(nn.Linear(4, 3, seed=1), nn.BatchNorm1d(3))
    io.load(fresh, tmp_path / "bn.npz")
    assert_same_state(fresh.state_dict(), model.state_dict())
    for name, b in fresh.named_buffers():
        if b is not None:
            np.testing.assert_array_equal(b, buffers[name])


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    model = pruned_mlp()
    io.save(model, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]
    before = (tmp_path / "m.npz").read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        io.save(pruned_mlp(3), tmp_path / "m.npz")
    with pytest.raises(OSError, match="disk full"):
        io.save(model, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == ["m.npz"]  # no temp file, no partial new.npz
    assert (tmp_path / "m.npz").read_bytes() == before  # the old file is intact


def test_save_errors(tmp_path):
    model = pruned_mlp()
    with pytest.raises(FileNotFoundError, match="folder .*nowhere.* does not exist"):
        io.save(model, tmp_path / "nowhere" / "m.npz")
    with pytest.raises(ValueError, match="metadata must be JSON-serialisable"):
        io.save(model, tmp_path / "m.npz", metadata={"array": np.zeros(2)})
    with pytest.raises(TypeError, match="metadata must be a dict or None, got list"):
        io.save(model, tmp_path / "m.npz", metadata=[1])
    assert os.listdir(tmp_path) == []


def _npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


def _header(version=1):
    h = {"format": "nnprune", "format_version": version, "class": "Sequential", "metadata": {}}
    return np.array(json.dumps(h))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: p, FileNotFoundError, r"no such model file: .*bad\.npz"),
        (lambda p: p.write_bytes(b"not a zip at all"), ValueError, "truncated or corrupt"),
        (lambda p: _npz(p, a=np.zeros(3)), ValueError, r"has no '__nnprune__' metadata entry"),
        (
            lambda p: _npz(p, __nnprune__=np.array("{oops")),
            ValueError,
            "is not nnprune metadata",
        ),
        (
            lambda p: _npz(p, __nnprune__=_header(99)),
            ValueError,
            "format version 99; this nnprune reads version 2",
        ),
        (
            lambda p: _npz(p, __nnprune__=_header(), w=np.array([{"x": 1}], dtype=object)),
            ValueError,
            r"entry 'w' is an object array",
        ),
        (lambda p: _npy(p, np.zeros(3)), ValueError, "single .npy array"),
    ],
)
def test_load_state_bad_files(tmp_path, make, error, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(error, match=message):
        io.load_state(path)


def test_truncated_file_is_reported_and_model_unchanged(tmp_path):
    io.save(pruned_mlp(0), tmp_path / "m.npz")
    raw = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(raw[: len(raw) // 2])
    model = pruned_mlp(5)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"'.*m\.npz' is not a readable \.npz file"):
        io.load(model, tmp_path / "m.npz")
    assert_same_state(model.state_dict(), before)


def test_corrupt_member_is_reported(tmp_path):
    io.save(pruned_mlp(0), tmp_path / "m.npz")
    raw = bytearray((tmp_path / "m.npz").read_bytes())
    start = raw.index(b"\x93NUMPY") + 200  # inside the first array's data
    raw[start : start + 8] = b"\xff" * 8
    (tmp_path / "m.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        io.load_state(tmp_path / "m.npz")


def _mismatch(tmp_path, edit):
    state = pruned_mlp(0).state_dict()
    edit(state)
    return _npz(tmp_path / "m.npz", __nnprune__=_header(), **state)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.update({"0.weight": np.zeros((5, 7), np.float32)}),
            r"entry '0.weight' has shape \(5, 7\), expected \(5, 6\)",
        ),
        (
            lambda s: s.update({"2.bias": np.zeros(3, np.int64)}),
            r"entry '2.bias' has dtype int64, expected float32",
        ),
        (
            lambda s: s.update({"0.weight_mask": np.ones((5, 6), np.uint8)}),
            r"entry '0.weight_mask' must be a bool array",
        ),
        (lambda s: s.pop("2.weight"), r"missing keys \['2.weight'\]"),
        (
            lambda s: s.update({"3.weight": np.zeros(2, np.float32)}),
            r"unexpected keys \['3.weight'\]",
        ),
    ],
)
def test_mismatch_names_the_entry_and_leaves_model_unchanged(tmp_path, edit, message):
    path = _mismatch(tmp_path, edit)
    model = pruned_mlp(5)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message) as info:
        io.load(model, path)
    assert "m.npz" in str(info.value)
    assert_same_state(model.state_dict(), before)
    np.testing.assert_array_equal(model[0].weight.mask, before["0.weight_mask"])


def _lenet_pruned(sparsity, batchnorm=False):
    model = models.mlp((784, 300, 100, 10), batchnorm=batchnorm, seed=0)
    for _, module, attr, _ in model.prunable_parameters():
        prune.l1_unstructured(module, attr, amount=sparsity)
    return model


def test_pruned_checkpoint_is_at_most_5_percent_above_dense(tmp_path):
    dense = io.save(models.mlp((784, 300, 100, 10), seed=0), tmp_path / "dense.npz")
    model = _lenet_pruned(0.9)
    pruned = io.save(model, tmp_path / "pruned.npz")
    assert all(p.mask is not None for _, _, _, p in model.prunable_parameters())
    ratio = pruned.stat().st_size / dense.stat().st_size
    assert ratio <= 1.05, ratio  # bool masks (format 1) made it 1.25


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_masks_round_trip_exactly(tmp_path, dtype):
    model = _lenet_pruned(0.9, batchnorm=True)
    model.train().forward(np.random.default_rng(1).standard_normal((8, 784)))  # BN statistics
    if dtype == np.float64:
        model.double()
    # A kept weight that happens to be zero: the mask, not the zeros, must come back.
    _, module, attr, p = next(iter(model.prunable_parameters()))
    kept = np.flatnonzero(p.mask)[0]
    w = p.data.copy()
    w.reshape(-1)[kept] = 0.0
    p.data = w
    path = io.save(model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as files:
        assert "0.weight_mask" not in files.files
        assert files["0.weight_mask.packbits"].dtype == np.uint8
    fresh = models.mlp((784, 300, 100, 10), batchnorm=True, seed=5)
    if dtype == np.float64:
        fresh.double()
    io.load(fresh, path)
    assert_same_state(fresh.state_dict(), model.state_dict())
    assert fresh[0].weight.mask.reshape(-1)[kept]


def test_format_1_files_with_bool_masks_still_load(tmp_path):
    model = pruned_mlp(0)
    state = model.state_dict()
    assert state["0.weight_mask"].dtype == np.bool_
    path = _npz(tmp_path / "v1.npz", __nnprune__=_header(1), **state)
    fresh = pruned_mlp(5)
    io.load(fresh, path)
    assert_same_state(fresh.state_dict(), state)


@pytest.mark.parametrize(
    ("packed", "message"),
    [
        (np.zeros(3, np.uint8), r"packed mask '0.weight_mask.packbits' is uint8 \(3,\), expected"),
        (np.zeros(4, np.int16), r"is int16 \(4,\), expected uint8 \(4,\)"),
    ],
)
def test_corrupt_packed_mask_is_reported(tmp_path, packed, message):
    state = pruned_mlp(0).state_dict()
    state.pop("0.weight_mask")
    state["0.weight_mask.packbits"] = packed
    path = _npz(tmp_path / "m.npz", __nnprune__=_header(2), **state)
    with pytest.raises(ValueError, match=message):
        io.load_state(path)


def test_packed_mask_without_its_parameter_is_reported(tmp_path):
    path = _npz(
        tmp_path / "m.npz", __nnprune__=_header(2), **{"x_mask.packbits": np.zeros(1, np.uint8)}
    )
    with pytest.raises(ValueError, match="has no parameter to belong to"):
        io.load_state(path)
