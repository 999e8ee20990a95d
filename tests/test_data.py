"""Data sets, the IDX reader, splits, standardisation and the batch iterator."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from nnprune import data

# ----------------------------------------------------------------- digits


def test_load_digits_shapes_range_and_labels():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    ref = sklearn_datasets.load_digits()
    np.testing.assert_allclose(X * 16, ref.data, atol=1e-5)
    np.testing.assert_array_equal(y, ref.target)
    images, y2 = data.load_digits(flatten=False)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images[:, 0] * 16, ref.images)
    np.testing.assert_array_equal(y2, y)


# -------------------------------------------------------------- synthetic


@pytest.mark.parametrize("make", [data.make_blobs, data.make_spirals])
def test_synthetic_sets_deterministic_per_seed(make):
    X1, y1 = make(n_samples=101, n_classes=4, seed=3)
    X2, y2 = make(n_samples=101, n_classes=4, seed=3)
    X3, _ = make(n_samples=101, n_classes=4, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert X1.dtype == np.float32 and y1.dtype == np.int64 and X1.shape[0] == 101
    counts = np.bincount(y1)
    assert counts.tolist() == [26, 25, 25, 25]


def test_blobs_cluster_spread_matches_cluster_std():
    X, y = data.make_blobs(n_samples=4000, n_classes=2, n_features=3, seed=0, cluster_std=0.5)
    assert X.shape == (4000, 3)
    for c in range(2):
        np.testing.assert_allclose(X[y == c].std(axis=0), 0.5, rtol=0.1)


def test_spirals_lie_in_unit_disc_and_follow_the_arm_formula():
    X, y = data.make_spirals(n_samples=300, n_classes=3, noise=0.0, seed=0)
    r = np.linalg.norm(X, axis=1)
    assert r.max() <= 1.0 + 1e-6
    # noise=0: the angle is exactly 4r + 2*pi*k/K (mod 2*pi)
    theta = np.arctan2(X[:, 0], X[:, 1])
    expected = 4 * r + 2 * np.pi * y / 3
    diff = np.angle(np.exp(1j * (theta - expected)))
    assert np.abs(diff[r > 1e-3]).max() < 1e-4


def test_synthetic_errors():
    with pytest.raises(ValueError, match="n_samples must be at least n_classes"):
        data.make_blobs(n_samples=2, n_classes=3)
    with pytest.raises(ValueError, match="noise must be a finite real number >= 0, got -1"):
        data.make_spirals(noise=-1)
    with pytest.raises(ValueError, match="n_classes must be a positive integer, got 0"):
        data.make_spirals(n_classes=0)
    with pytest.raises(ValueError, match="center_box"):
        data.make_blobs(center_box=(1, 1))


# -------------------------------------------------------------------- IDX

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
CODES.update({np.float32: 0x0D, np.float64: 0x0E})


def write_idx(path, array, code=None, gz=False):
    """An independent IDX writer: struct-packed header, big-endian payload."""
    array = np.asarray(array)
    code = CODES[array.dtype.type] if code is None else code
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = array.astype(array.dtype.newbyteorder(">")).tobytes()
    raw = header + payload
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, rng, dtype, gz):
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / ("a.idx" + (".gz" if gz else "")), arr, gz=gz)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_one_dimension(tmp_path):
    out = data.read_idx(write_idx(tmp_path / "l", np.arange(7, dtype=np.uint8)))
    np.testing.assert_array_equal(out, np.arange(7))


def _good(tmp_path):
    return write_idx(
        tmp_path / "x.idx", np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    ).read_bytes()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:3], r"too short to be an IDX file \(3 bytes\)"),
        (lambda b: b"\x89PNG" + b[4:], r"not an IDX file: magic number 0x89504E47"),
        (lambda b: b[:2] + b"\x0a" + b[3:], r"unsupported IDX data type code 0x0A"),
        (lambda b: b[:3] + b"\x00", r"declares 0 dimensions"),
        (
            lambda b: b[:10],
            r"truncated: its header needs 16 bytes for 3 dimensions, the file has 10",
        ),
        (
            lambda b: b[:-1],
            r"truncated: header \(2, 3, 4\) of int16 promises 48 data bytes, the file has 47",
        ),
        (lambda b: b + b"\x00\x00", r"2 unexpected bytes after the 48 data bytes"),
        (lambda b: gzip.compress(b)[:-9], r"corrupt or truncated gzip data"),
    ],
)
def test_read_idx_corrupt_files(tmp_path, mutate, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(mutate(_good(tmp_path)))
    with pytest.raises(ValueError, match=message) as info:
        data.read_idx(path)
    assert "bad.idx" in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="IDX file not found: .*nope"):
        data.read_idx(tmp_path / "nope")


def _mnist_folder(tmp_path, rng, n_train=12, n_test=5, gz=True):
    images = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz and prefix == "train" else ""
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", imgs, gz=bool(suffix))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=bool(suffix))
        images[prefix] = (imgs, labels)
    return images


@pytest.mark.parametrize("train", [True, False])
def test_load_mnist_from_a_folder(tmp_path, rng, train):
    written = _mnist_folder(tmp_path, rng)
    X, y = data.load_mnist(tmp_path, train=train)
    imgs, labels = written["train" if train else "t10k"]
    assert X.shape == (len(labels), 1, 28, 28) and X.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0] * 255, imgs, atol=1e-4)
    np.testing.assert_array_equal(y, labels)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_load_mnist_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="root must be a folder"):
        data.load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"looked for \['train-images-idx3-ubyte', "):
        data.load_mnist(tmp_path)
    _mnist_folder(tmp_path, rng, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images in .* but 4 labels in"):
        data.load_mnist(tmp_path, train=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.int32))
    with pytest.raises(ValueError, match=r"should hold uint8 labels \(N,\), got int32"):
        data.load_mnist(tmp_path, train=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 28 * 28), np.uint8))
    with pytest.raises(ValueError, match=r"should hold uint8 images \(N, H, W\)"):
        data.load_mnist(tmp_path, train=False)


# ----------------------------------------------------------------- splits


def test_split_is_stratified_disjoint_and_complete():
    y = np.repeat(np.arange(3), [40, 100, 60])
    X = np.arange(len(y), dtype=np.float32)[:, None]  # the sample's own index
    s = data.train_val_test_split(X, y, val_size=0.2, test_size=0.1, seed=1)
    ids = {name: part[0][:, 0].astype(int) for name, part in s._asdict().items()}
    all_ids = np.concatenate(list(ids.values()))
    assert sorted(all_ids) == list(range(len(y)))  # disjoint and complete
    for name, frac in (("val", 0.2), ("test", 0.1)):
        counts = np.bincount(y[ids[name]], minlength=3)
        np.testing.assert_array_equal(counts, np.round(np.array([40, 100, 60]) * frac))
        np.testing.assert_array_equal(getattr(s, name)[1], y[ids[name]])
    train, val, test = s
    assert len(train[1]) == 200 - 20 - 40


def test_split_deterministic_per_seed_and_unstratified_sizes():
    X, y = data.make_blobs(n_samples=200, seed=0)
    a = data.train_val_test_split(X, y, seed=5)
    b = data.train_val_test_split(X, y, seed=5)
    c = data.train_val_test_split(X, y, seed=6)
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa[0], pb[0])
        np.testing.assert_array_equal(pa[1], pb[1])
    assert not np.array_equal(a.train[0], c.train[0])
    u = data.train_val_test_split(X, y, val_size=0.25, test_size=0.25, stratify=False)
    assert [len(p[1]) for p in u] == [100, 50, 50]


def test_split_errors():
    X, y = np.zeros((10, 2)), np.zeros(10, np.int64)
    with pytest.raises(ValueError, match=r"val_size must be in \(0, 1\), got 0"):
        data.train_val_test_split(X, y, val_size=0)
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\), got 1.5"):
        data.train_val_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="val_size \\+ test_size must be below 1"):
        data.train_val_test_split(X, y, val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="same number of samples, got 10 and 9"):
        data.train_val_test_split(X, y[:9])
    with pytest.raises(ValueError, match="the val set would be empty with 3 samples"):
        data.train_val_test_split(X[:3], y[:3], val_size=0.1, test_size=0.4)


# ------------------------------------------------------------ Standardizer


def test_standardizer_uses_training_statistics_only(rng):
    train = rng.normal(3.0, 2.0, size=(500, 4)).astype(np.float32)
    train[:, 2] = 7.0  # constant feature
    test = rng.normal(0.0, 1.0, size=(50, 4)).astype(np.float32)
    st = data.Standardizer()
    z = st.fit_transform(train)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, [0, 1, 3]].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, [0, 1, 3]].std(axis=0), 1, atol=1e-4)
    np.testing.assert_array_equal(z[:, 2], 0)  # centred, not divided by ~0
    mu, sd = train.astype(np.float64).mean(0), train.astype(np.float64).std(0)
    sd[2] = 1.0
    np.testing.assert_allclose(st.transform(test), (test - mu) / sd, rtol=1e-5, atol=1e-5)


def test_standardizer_errors():
    st = data.Standardizer()
    with pytest.raises(RuntimeError, match="not fitted; call fit"):
        st.transform(np.zeros((2, 3)))
    st.fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(3,\), got X of shape"):
        st.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="eps must be a finite real number >= 0, got -1"):
        data.Standardizer(eps=-1)


# -------------------------------------------------------------- DataLoader


def test_dataloader_covers_every_sample_once_per_epoch():
    X = np.arange(23, dtype=np.float32)[:, None]
    loader = data.DataLoader(X, np.arange(23), batch_size=5, seed=0)
    assert len(loader) == 5
    epochs = []
    for _ in range(3):
        batches = list(loader)
        assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
        for xb, yb in batches:
            np.testing.assert_array_equal(xb[:, 0], yb)
        order = np.concatenate([yb for _, yb in batches])
        assert sorted(order) == list(range(23))
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch
    again = data.DataLoader(X, np.arange(23), batch_size=5, seed=0)
    for expected in epochs:
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in again]), expected)


def test_dataloader_drop_last_and_no_shuffle():
    loader = data.DataLoader(np.zeros((23, 2)), np.arange(23), batch_size=5, drop_last=True)
    assert len(loader) == 4 and [len(yb) for _, yb in loader] == [5] * 4
    plain = data.DataLoader(np.zeros((7, 2)), np.arange(7), batch_size=3, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in plain]), np.arange(7))


def test_dataloader_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        data.DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size=0)
    with pytest.raises(ValueError, match="same number of samples, got 4 and 3"):
        data.DataLoader(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="X and y must be arrays, got list"):
        data.DataLoader([1, 2], np.zeros(2))
