"""CIFAR-10 readers: binary and python batches, restricted unpickling, errors."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from nnprune.data.cifar import (
    ForbiddenPickleError,
    RestrictedUnpickler,
    load_cifar10,
    read_cifar_binary,
    read_cifar_python,
)

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _batch(seed: int, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    return gen.integers(0, 256, size=(n, 3072), dtype=np.uint8), gen.integers(0, 10, size=n)


def _write_bin(path, data: np.ndarray, labels: np.ndarray) -> None:
    # Built record by record with bytes(), independently of the reader's reshape.
    path.write_bytes(
        b"".join(bytes([int(lab)]) + row.tobytes() for row, lab in zip(data, labels, strict=True))
    )


def _write_py(path, data: np.ndarray, labels: np.ndarray, **extra) -> None:
    batch = {b"batch_label": b"test batch", b"labels": [int(v) for v in labels], b"data": data}
    batch.update(extra)
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def _expected_image(row: np.ndarray) -> np.ndarray:
    # Pixel (c, i, j) sits at byte c*1024 + i*32 + j of the row.
    img = np.empty((3, 32, 32), dtype=np.float32)
    for c in range(3):
        for i in range(32):
            img[c, i] = row[c * 1024 + i * 32 : c * 1024 + i * 32 + 32] / 255.0
    return img


@pytest.mark.parametrize("fmt", ["bin", "py"])
def test_load_both_formats_train_and_test(tmp_path, fmt):
    write, suffix = (_write_bin, ".bin") if fmt == "bin" else (_write_py, "")
    batches = [_batch(i) for i in range(6)]
    for stem, (d, lab) in zip([*TRAIN, "test_batch"], batches, strict=True):
        write(tmp_path / (stem + suffix), d, lab)
    X, y = load_cifar10(tmp_path, train=True)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.shape == (20, 3, 32, 32) and y.shape == (20,)
    data = np.concatenate([b[0] for b in batches[:5]])
    labels = np.concatenate([b[1] for b in batches[:5]])
    np.testing.assert_array_equal(y, labels)
    for k in (0, 7, 19):
        np.testing.assert_allclose(X[k], _expected_image(data[k]), rtol=0, atol=1e-7)
    Xt, yt = load_cifar10(tmp_path, train=False)
    np.testing.assert_array_equal(yt, batches[5][1])
    np.testing.assert_allclose(Xt[2], _expected_image(batches[5][0][2]), atol=1e-7)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_binary_and_python_agree_and_subfolders_found(tmp_path):
    d, lab = _batch(3, n=5)
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-py").mkdir()
    _write_bin(tmp_path / "cifar-10-batches-bin" / "test_batch.bin", d, lab)
    _write_py(tmp_path / "cifar-10-batches-py" / "test_batch", d, lab)
    a = read_cifar_binary(tmp_path / "cifar-10-batches-bin" / "test_batch.bin")
    b = read_cifar_python(tmp_path / "cifar-10-batches-py" / "test_batch")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    X, y = load_cifar10(tmp_path, train=False)
    np.testing.assert_array_equal(y, lab)


def test_missing_files_list_names(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"looked for .*data_batch_1\.bin.*data_batch_5"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="root must be a folder"):
        load_cifar10(tmp_path / "nope")
    d, lab = _batch(0)
    _write_bin(tmp_path / "data_batch_1.bin", d, lab)
    with pytest.raises(FileNotFoundError, match=r"incomplete .*missing \['data_batch_2\.bin'"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_cifar_binary(tmp_path / "x.bin")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_cifar_python(tmp_path / "x")


def test_binary_truncated_empty_and_bad_label(tmp_path):
    d, lab = _batch(1, n=3)
    p = tmp_path / "test_batch.bin"
    _write_bin(p, d, lab)
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"truncated .* 2 whole 3073-byte records and 3063 bytes"):
        read_cifar_binary(p)
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        read_cifar_binary(p)
    _write_bin(p, d, np.array([1, 10, 2]))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.9, found 10"):
        read_cifar_binary(p)


def test_python_batch_validation(tmp_path):
    p = tmp_path / "test_batch"
    d, lab = _batch(2, n=3)
    with open(p, "wb") as f:
        pickle.dump({b"data": d}, f, protocol=2)
    with pytest.raises(ValueError, match=r"lacks the keys \['labels'\]"):
        read_cifar_python(p)
    _write_py(p, d.astype(np.float64), lab)
    with pytest.raises(ValueError, match=r"must be a uint8 array \(N, 3072\), got float64"):
        read_cifar_python(p)
    _write_py(p, d[:, :100], lab)
    with pytest.raises(ValueError, match="must have 3072 columns"):
        read_cifar_python(p)
    _write_py(p, d, lab[:2])
    with pytest.raises(ValueError, match=r"3 images but b'labels' has shape \(2,\)"):
        read_cifar_python(p)
    _write_py(p, d, np.array([0, -1, 3]))
    with pytest.raises(ValueError, match="found -1"):
        read_cifar_python(p)
    with open(p, "wb") as f:
        pickle.dump([1, 2], f, protocol=2)
    with pytest.raises(ValueError, match="should hold a dict, got list"):
        read_cifar_python(p)
    _write_py(p, d, lab)
    p.write_bytes(p.read_bytes()[:50])
    with pytest.raises(ValueError, match="truncated or not a valid pickle"):
        read_cifar_python(p)


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "data_batch_1"
    d, lab = _batch(0)
    with open(p, "wb") as f:
        pickle.dump({b"data": d, b"labels": _Evil(str(marker))}, f, protocol=2)
    with pytest.raises(ForbiddenPickleError, match=r"forbidden global (posix|os|nt)\.system"):
        read_cifar_python(p)
    assert not marker.exists()
    assert isinstance(ForbiddenPickleError("x"), pickle.UnpicklingError)


def test_restricted_unpickler_refuses_other_codecs_and_builtins():
    # _codecs.encode is allowed only as the latin1 str->bytes step of protocol 2.
    payload = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x04\x00\x00\x00zlibq\x00\x86R."
    with pytest.raises(ForbiddenPickleError, match="only latin1"):
        RestrictedUnpickler(io.BytesIO(payload)).load()
    evil = pickle.dumps(eval, protocol=2)
    with pytest.raises(
        ForbiddenPickleError, match=r"forbidden global (__builtin__|builtins)\.eval"
    ):
        RestrictedUnpickler(io.BytesIO(evil)).load()
