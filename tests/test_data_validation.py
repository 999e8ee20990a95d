"""Bad data is refused with one line naming the input (issue: trust, data validation)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from nnprune.cli import main
from nnprune.data.audio import read_wav
from nnprune.data.cifar import read_cifar_binary
from nnprune.data.sources import load_dataset


def _npz(path, **over):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.standard_normal((12, 4)).astype(np.float32),
        "y_train": np.arange(12) % 3,
        "x_test": rng.standard_normal((6, 4)).astype(np.float32),
        "y_test": np.arange(6) % 3,
    }
    arrays.update(over)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_complex_features_refused(tmp_path):
    x = np.ones((12, 4), np.complex64)
    with pytest.raises(ValueError, match=r"x_train holds complex numbers"):
        load_dataset(_npz(tmp_path / "d.npz", x_train=x))


@pytest.mark.parametrize(("part", "value"), [("x_train", np.inf), ("x_test", np.nan)])
def test_non_finite_features_name_split_and_count(tmp_path, part, value):
    x = np.zeros((12 if part == "x_train" else 6, 4), np.float32)
    x[1, 2] = x[3, 0] = value
    with pytest.raises(ValueError, match=rf"{part} holds 2 NaN or infinite value\(s\) of"):
        load_dataset(_npz(tmp_path / "d.npz", **{part: x}))


def test_label_gaps_are_named_and_num_classes_declares_them(tmp_path):
    y = np.arange(12) % 3
    y[0] = 1000
    path = _npz(tmp_path / "d.npz", y_train=y)
    with pytest.raises(ValueError, match=r"no sample of class 3, 4, 5.*\(997 classes\)"):
        load_dataset(path)
    y = np.array([0, 1, 3] * 4)
    path = _npz(tmp_path / "g.npz", y_train=y, y_test=np.array([0, 1, 3] * 2))
    with pytest.raises(ValueError, match=r"no sample of class 2 \(largest label 3\)"):
        load_dataset(path)
    assert load_dataset(path, num_classes=5).num_classes == 5
    with pytest.raises(ValueError, match=r"y_train has label 3, but num_classes is 3"):
        load_dataset(path, num_classes=3)


def test_float_labels_must_be_whole(tmp_path):
    y = (np.arange(12) % 3).astype(np.float64)
    y[4] = 1.7
    with pytest.raises(ValueError, match=r"whole-number class labels; 1 are not \(first: 1.7"):
        load_dataset(_npz(tmp_path / "d.npz", y_train=y))


def test_zero_samples_refused(tmp_path):
    path = _npz(tmp_path / "d.npz", x_train=np.zeros((0, 4), np.float32), y_train=np.zeros(0))
    with pytest.raises(ValueError, match=r"x_train has 0 samples"):
        load_dataset(path)
    csv = tmp_path / "h.csv"
    csv.write_text("a,b,label\n")
    with pytest.raises(ValueError, match=r"has a header but no data rows"):
        load_dataset(csv)


def test_npz_size_guard_applies_to_data(tmp_path):
    path = _npz(tmp_path / "d.npz")
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 4), np.float32))
    header["shape"] = (10**12, 16)
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as zf:
        with np.load(path) as f:
            for k in ("y_train", "x_test", "y_test"):
                with zf.open(f"{k}.npy", "w") as fh:
                    np.lib.format.write_array(fh, f[k])
        with zf.open("x_train.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            fh.write(b"\0" * 32)
    with pytest.raises(ValueError, match=r"'x_train' declares shape \(1000000000000, 16\)"):
        load_dataset(tmp_path / "h.npz")


def test_cifar100_binary_refused(tmp_path):
    rng = np.random.default_rng(0)
    for n in (5, 3073):  # 3073 records of 3074 bytes is also a whole number of 3073-byte ones
        records = rng.integers(0, 256, (n, 3074), dtype=np.uint8)
        records[:, 0] = rng.integers(0, 20, n)
        records[:, 1] = rng.integers(0, 100, n)
        (tmp_path / "train.bin").write_bytes(records.tobytes())
        with pytest.raises(ValueError, match=r"looks like a CIFAR-100 binary file"):
            read_cifar_binary(tmp_path / "train.bin")


def test_wav_with_odd_16bit_data_refused(tmp_path):
    import scipy.io.wavfile

    path = tmp_path / "a.wav"
    scipy.io.wavfile.write(path, 8000, np.arange(10, dtype=np.int16))
    raw = bytearray(path.read_bytes())
    pos = raw.index(b"data")
    raw[pos + 4 : pos + 8] = (21).to_bytes(4, "little")
    path.write_bytes(bytes(raw) + b"\0")
    with pytest.raises(ValueError, match=r"not a whole number of 2-byte sample frames"):
        read_wav(path)


def test_cli_errors_are_one_line(tmp_path, capsys):
    y = np.arange(12) % 3
    y[0] = 1000
    path = _npz(tmp_path / "d.npz", y_train=y)
    assert main(["train", "--data", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--num-classes" in err
    assert main(["train", "--data", str(path), "--epochs", "1", "--num-classes", "1001"]) == 0
    assert main(["evaluate", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder, not a model file" in err


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch CIFAR_MARKER",))


def test_refused_cifar_pickle_is_one_cli_line(tmp_path, capsys, monkeypatch):
    import pickle

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "cifar" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({"data": _Payload(), "labels": [0]}))
    assert main(["train", "--data", str(tmp_path / "cifar"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err and "cifar-10-batches-bin" in err
    assert not (tmp_path / "CIFAR_MARKER").exists()


def test_csv_with_inf_names_the_count_before_standardising(tmp_path):
    rows = ["a,b,label"] + [f"{i},{i % 5},{i % 2}" for i in range(20)]
    rows[3] = "inf,1,0"
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"CSV features hold 1 NaN or infinite value\(s\) of 40"):
        load_dataset(tmp_path / "d.csv")


def test_npz_that_would_not_fit_in_memory_is_refused(tmp_path, monkeypatch):
    from nnprune.data import sources

    x = np.zeros((12, 10000), np.uint8)  # 120 kB as read, 480 kB as float32
    path = _npz(tmp_path / "d.npz", x_train=x, x_test=np.zeros((6, 10000), np.uint8))
    monkeypatch.setattr(sources, "_memory_bytes", lambda: 1_000_000)
    with pytest.raises(ValueError, match=r"needs 0.0 GiB of memory .*more than half"):
        load_dataset(path)
    monkeypatch.setattr(sources, "_memory_bytes", lambda: 10**9)
    assert load_dataset(path).input_shape == (10000,)
