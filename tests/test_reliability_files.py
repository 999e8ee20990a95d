"""Hostile and broken files end in clear errors naming the file (issue: reliability).

Every case here was a raw MemoryError, a numpy/scipy/struct message without the file
name, silently wrong data, or a misleading hint before.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from nnprune import cli, nn, sparse
from nnprune import io as nio
from nnprune._atomic import atomic_write, remove_stale_temporaries, write_csv, write_json
from nnprune.data.audio import load_fsdd, log_mel_spectrogram, read_wav
from nnprune.data.cifar import ForbiddenPickleError, read_cifar_python
from nnprune.data.idx import load_mnist, read_idx
from nnprune.data.text import read_ag_news
from nnprune.prune.log import PruningLog

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------- CIFAR pickles
def _pickle_file(tmp_path: Path, raw: bytes) -> Path:
    path = tmp_path / "data_batch_1"
    path.write_bytes(raw)
    return path


_RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"


def test_reconstruct_without_build_gives_no_uninitialised_memory(tmp_path):
    # {b'data': _reconstruct(ndarray, (0,), b'b')} with no BUILD step, labels []
    raw = b"\x80\x02}(C\x04data" + _RECONSTRUCT + b"K\x00\x85C\x01b\x87RC\x06labels]u."
    with pytest.raises(ValueError, match=r"b'data' must be a uint8 array .*got uint8 \(0,\)"):
        read_cifar_python(_pickle_file(tmp_path, raw))


def test_reconstruct_of_a_huge_array_is_refused_before_allocating(tmp_path):
    # 60-odd bytes asking _reconstruct for 2**43 elements (8 TiB of int8)
    raw = b"\x80\x02" + _RECONSTRUCT + b"\x8a\x06\x00\x00\x00\x00\x00\x08\x85C\x01b\x87R."
    assert len(raw) < 80
    with pytest.raises(ForbiddenPickleError, match=r"only the empty \(0,\) array"):
        read_cifar_python(_pickle_file(tmp_path, raw))


def test_binbytes8_claiming_a_terabyte_is_refused(tmp_path):
    raw = b"\x80\x04\x8e" + (10**12).to_bytes(8, "little") + b"abc."
    with pytest.raises(ValueError, match="truncated or not a valid pickle .*1000000000000 bytes"):
        read_cifar_python(_pickle_file(tmp_path, raw))


def test_huge_memo_index_is_refused(tmp_path):
    raw = b"\x80\x02K\x01r\xff\xff\xff\xff."  # LONG_BINPUT 4294967295
    with pytest.raises(ValueError, match="LONG_BINPUT .* declares 4294967295"):
        read_cifar_python(_pickle_file(tmp_path, raw))


def test_build_with_fewer_bytes_than_declared_is_refused(tmp_path):
    data = np.zeros((2, 3072), np.uint8)
    raw = pickle.dumps({b"data": data, b"labels": [0, 1]}, protocol=2)
    # shrink the declared shape's 3072 -> 4096 (K\x00\x0c -> M\x00\x10 keeps the length)
    bad = raw.replace(b"M\x00\x0c", b"M\x00\x10", 1)
    assert bad != raw
    with pytest.raises(ValueError, match=r"declares shape \(2, 4096\).*holds 6144 bytes"):
        read_cifar_python(_pickle_file(tmp_path, bad))


def test_object_dtype_array_is_refused(tmp_path):
    raw = pickle.dumps({b"data": np.array([1, 2], dtype=object), b"labels": []}, protocol=2)
    with pytest.raises(ForbiddenPickleError, match=r"numpy.dtype\('O8'\)|numpy.dtype\('O'\)"):
        read_cifar_python(_pickle_file(tmp_path, raw))


def test_protocol_5_is_unsupported_not_tampered(tmp_path):
    raw = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=5)
    with pytest.raises(ValueError, match="unsupported pickle protocol 5") as info:
        read_cifar_python(_pickle_file(tmp_path, raw))
    assert "tamper" not in str(info.value)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_real_batches_still_load(tmp_path, protocol):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    raw = pickle.dumps({b"data": data, b"labels": [3, 7]}, protocol=protocol)
    images, labels = read_cifar_python(_pickle_file(tmp_path, raw))
    np.testing.assert_array_equal(images.reshape(2, 3072), data)
    assert type(images) is np.ndarray and labels.tolist() == [3, 7]


# ------------------------------------------------------------------------ IDX
def test_idx_size_does_not_wrap(tmp_path):
    path = tmp_path / "x-idx4-ubyte"
    path.write_bytes(b"\x00\x00\x08\x04" + (65536).to_bytes(4, "big") * 4)  # 2**64 bytes
    with pytest.raises(ValueError, match="promises 18446744073709551616 data bytes"):
        read_idx(path)


def test_idx_with_255_dimensions(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x00\x08\xff" + (1).to_bytes(4, "big") * 255 + b"\x00")
    with pytest.raises(ValueError, match="declares 255 dimensions, more than 32"):
        read_idx(path)


def _idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_labels_outside_0_9_are_refused(tmp_path):
    _idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 2, 2)))
    _idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 12, 3]))
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte.*labels must be in 0\.\.9, found 12"
    ):
        load_mnist(tmp_path, train=False)


# ------------------------------------------------------------------------ WAV
def _wav(path: Path, n: int = 500) -> bytes:
    scipy.io.wavfile.write(path, 8000, (np.arange(n) % 100).astype(np.int16))
    return path.read_bytes()


def test_wav_with_zero_channels(tmp_path):
    path = tmp_path / "a.wav"
    raw = bytearray(_wav(path))
    raw[22:24] = (0).to_bytes(2, "little")  # fmt: number of channels
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="a.wav': the fmt chunk declares 0 channels"):
        read_wav(path)


def test_wav_cut_inside_the_fmt_chunk(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(_wav(path)[:28])
    with pytest.raises(ValueError, match="a.wav' is truncated or corrupt: its fmt chunk"):
        read_wav(path)


def test_wav_with_a_truncated_data_chunk(tmp_path):
    path = tmp_path / "a.wav"
    raw = _wav(path, n=500)
    path.write_bytes(raw[: 44 + 20])  # 10 of the 500 samples
    with pytest.raises(ValueError, match="data chunk declares 1000 bytes, the file holds 20"):
        read_wav(path)


def test_recording_shorter_than_the_window_names_the_file(tmp_path):
    _wav(tmp_path / "3_ann_0.wav", n=100)
    with pytest.raises(ValueError, match=r"3_ann_0\.wav.*100 samples, fewer than one window"):
        load_fsdd(tmp_path, n_fft=256)
    with pytest.raises(ValueError, match="fewer than one window of n_fft = 256"):
        log_mel_spectrogram(np.zeros(100), 8000, n_fft=256)


def test_upper_case_wav_suffix_is_read(tmp_path):
    _wav(tmp_path / "3_ann_0.WAV", n=2000)
    _wav(tmp_path / "4_ann_0.wav", n=2000)
    data = load_fsdd(tmp_path)
    assert data.y.tolist() == [3, 4]


# -------------------------------------------------------------------- AG News
def test_ag_news_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes('\ufeff"3","Title","Body"\n"1","T2","B2"\n'.encode())
    texts, labels = read_ag_news(path)
    assert labels.tolist() == [2, 0] and texts[0] == "Title Body"


@pytest.mark.parametrize(
    "text",
    ['"1","a","b"\n"2","unterminated,b\n"3","c","d"\n', '"1","a","b"\n"2","x","unterminated\n'],
)
def test_ag_news_unterminated_quote(tmp_path, text):
    path = tmp_path / "train.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="malformed CSV in the row starting at line 2"):
        read_ag_news(path)


# ---------------------------------------------------------- sparse metadata
def _sparse_file(tmp_path: Path, edit) -> Path:
    model = nn.Sequential(nn.Linear(6, 4))
    good = tmp_path / "good.npz"
    sparse.save_sparse(model, good)
    with np.load(good, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    edit(meta["entries"], arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


def _set(key, value):
    def edit(entries, arrays):
        entries["0.weight"][key] = value

    return edit


def _float16(entries, arrays):
    entries["0.weight"]["dtype"] = "float16"
    arrays["sparse/0.weight/data"] = arrays["sparse/0.weight/data"].astype(np.float16)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("dtype", "object"), r"dtype must be one of .*got 'object'"),
        (_float16, r"dtype must be one of .*got 'float16'"),
        (_set("dtype", "float64"), r"values are float32, metadata says float64"),
        (_set("shape", [2, 12]), r"matrix_shape \[4, 6\] does not match shape \[2, 12\]"),
        (_set("mask", "inverted"), r"mask must be null, 'nonzero' or 'stored', got 'inverted'"),
        (_set("kind", "magic"), r"kind must be 'sparse' or 'dense'"),
    ],
)
def test_load_sparse_checks_its_metadata(tmp_path, edit, message):
    with pytest.raises(ValueError, match=rf"entry '0.weight' is corrupt.*{message}"):
        sparse.load_sparse(_sparse_file(tmp_path, edit))


# ------------------------------------------------- .npz members that lie
def _npz_declaring(path: Path, shape: tuple[int, ...]) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", header.getvalue())


def test_npz_member_declaring_a_terabyte(tmp_path):
    path = tmp_path / "m.npz"
    _npz_declaring(path, (10**12,))
    with pytest.raises(ValueError, match=r"entry 'w' declares shape \(1000000000000,\)"):
        nio.load_state(path)
    with pytest.raises(ValueError, match=r"entry 'w' declares shape \(1000000000000,\)"):
        sparse.load_sparse(path)


def test_random_bytes_as_a_checkpoint_do_not_suggest_allow_pickle(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(bytes(range(256)) * 4)
    for load in (nio.load_state, sparse.load_sparse):
        with pytest.raises(ValueError, match="never unpickled") as info:
            load(path)
        assert "allow_pickle" not in str(info.value)


# --------------------------------------------------------------- pruning log
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[{]", "is not a JSON pruning log"),
        (b"\xff\xfe[]", "is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{}", "does not hold a list of pruning records"),
    ],
)
def test_pruning_log_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "log.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"log\.json.*{message}"):
        PruningLog.from_json(path)


# --------------------------------------------------- saving: clear messages
def test_saving_onto_a_folder_names_the_target(tmp_path):
    target = tmp_path / "folder"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot save to .*folder': it is a folder") as e:
        nio.save(nn.Sequential(nn.Linear(2, 2)), target)
    assert ".tmp" not in str(e.value)


def test_unwritable_folder_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.1.abc.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match=r"cannot save to .*m\.npz'") as e:
        nio.save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m.npz")
    assert ".tmp" not in str(e.value)


def test_folder_without_write_permission_is_named(tmp_path, monkeypatch):
    from nnprune._atomic import check_writable_target

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match=r"folder .* is not writable"):
        check_writable_target(tmp_path / "m.npz")


def test_empty_path_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="path to save to must not be empty"):
        nio.save(nn.Sequential(nn.Linear(2, 2)), "")


# ------------------------------------------- temporaries of killed writers
def test_temporary_of_a_dead_writer_is_removed_by_the_next_save(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    stale = tmp_path / f".m.npz.{pid}.abcd1234.tmp"
    stale.write_bytes(b"x" * 1000)
    alive = tmp_path / f".m.npz.{os.getppid()}.efgh5678.tmp"  # a live writer's: kept
    alive.write_bytes(b"y")
    foreign = tmp_path / ".m.npz.notes.tmp"  # not ours: kept
    foreign.write_bytes(b"z")
    nio.save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m.npz")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["m.npz", alive.name, foreign.name])
    assert remove_stale_temporaries(tmp_path / "m.npz") == []


def test_killed_save_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    # A child process writes slowly through atomic_write and is SIGKILLed mid-write.
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from nnprune._atomic import atomic_write\n"
        "def slow(fh):\n"
        "    fh.write(b'n' * 100000); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
        f"atomic_write({str(target)!r}, slow, 'wb')\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        child.kill()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert target.read_bytes() == b"old"  # never half written
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].stat().st_size == 100000
    atomic_write(target, lambda fh: fh.write(b"new"), "wb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert target.read_bytes() == b"new"


def test_csv_and_json_writers_fsync(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    write_csv(tmp_path / "a.csv", [{"x": 1}])
    write_json(tmp_path / "a.json", {"x": 1})
    sparse.save_sparse(nn.Sequential(nn.Linear(2, 2)), tmp_path / "s.npz")
    assert len(synced) >= 3  # each file (and its folder) flushed to disk


# ------------------------------------------------------ CLI: one-line errors
@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (FloatingPointError("loss is nan at epoch 0"), 1, "numerical failure: loss is nan"),
        (MemoryError("Unable to allocate 7.45 TiB"), 1, "out of memory (Unable to allocate"),
        (BrokenProcessPool("a process terminated abruptly"), 1, "a worker process died"),
        (OSError(28, "No space left on device"), 1, "No space left on device"),
        (PermissionError(13, "Permission denied"), 1, "Permission denied"),
    ],
)
def test_cli_turns_runtime_errors_into_one_line(monkeypatch, capsys, error, code, text):
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "_info", lambda: fail(None))
    assert cli.main(["info"]) == code
    err = capsys.readouterr().err
    assert err.startswith("nnprune: error: ") and text in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cli_train_with_a_huge_learning_rate_is_one_line(capsys):
    assert cli.main(["train", "--epochs", "1", "--lr", "1e30"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("nnprune: error: numerical failure:")
    assert not any("Traceback" in line for line in err)


def test_cli_train_checks_save_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = cli.main(["train", "--epochs", "1", "--save", str(blocker / "m.npz")])
    captured = capsys.readouterr()
    assert code == 1 and "is a file, not a folder" in captured.err
    assert captured.err.count("\n") == 1
    assert "accuracy" not in captured.out  # nothing was trained
    target = tmp_path / "folder"
    target.mkdir()
    assert cli.main(["train", "--epochs", "1", "--save", str(target)]) == 1
    captured = capsys.readouterr()
    assert "it is a folder, not a file" in captured.err and "accuracy" not in captured.out


def test_cli_one_line_for_a_file_as_out(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    code = cli.main(["compare", "--quick", "--methods", "random", "--out", str(a_file)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("nnprune: error: output folder") and "is a file" in err


def test_dask_trust_is_documented():
    from nnprune.experiments import runner

    assert "only a cluster" in runner.__doc__ and "pickled" in runner.__doc__
    assert (
        "trust" in cli.build_parser()._subparsers._group_actions[0].choices["compare"].format_help()
    )


def test_struct_error_is_not_raised_by_any_wav(tmp_path):
    # every prefix of a valid file ends in ValueError naming the file, never struct.error
    path = tmp_path / "a.wav"
    raw = _wav(path, n=50)
    for cut in range(0, len(raw), 3):
        path.write_bytes(raw[:cut])
        try:
            read_wav(path)
        except ValueError as exc:
            assert "a.wav" in str(exc)
        except struct.error:
            pytest.fail(f"struct.error at cut {cut}")


# ----------------------------------------------------- seeded corruptions
def _corruptions(raw: bytes, seed: int, count: int):
    gen = np.random.default_rng(seed)
    for i in range(count):
        data = bytearray(raw)
        if i % 3 == 0:
            data = data[: int(gen.integers(0, len(data)))]
        elif i % 3 == 1:
            for pos in gen.integers(0, len(data), size=3):
                data[pos] ^= int(gen.integers(1, 256))
        else:
            pos = int(gen.integers(0, len(data)))
            data[pos : pos + 8] = b"\xff" * 8
        yield bytes(data)


@pytest.mark.parametrize("kind", ["checkpoint", "sparse"])
def test_corrupted_model_files_end_in_value_error(tmp_path, kind):
    model = nn.Sequential(nn.Linear(20, 16), nn.Linear(16, 4))
    good = tmp_path / "good.npz"
    if kind == "checkpoint":
        nio.save(model, good, compress=True)
        load = nio.load_state
    else:
        sparse.save_sparse(model, good)
        load = sparse.load_sparse
    bad = tmp_path / "bad.npz"
    for data in _corruptions(good.read_bytes(), seed=3, count=150):
        bad.write_bytes(data)
        try:
            load(bad)
        except ValueError as exc:
            assert "bad.npz" in str(exc)


def _good_file(tmp_path: Path, kind: str):
    if kind == "cifar":
        data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
        path = tmp_path / "data_batch_1"
        path.write_bytes(pickle.dumps({b"data": data, b"labels": [1, 2, 3]}, protocol=2))
        return path, read_cifar_python
    if kind == "idx":
        path = tmp_path / "x-idx3-ubyte"
        _idx(path, np.arange(2 * 5 * 5).reshape(2, 5, 5))
        return path, read_idx
    if kind == "wav":
        path = tmp_path / "a.wav"
        _wav(path, n=300)
        return path, read_wav
    if kind == "csv":
        path = tmp_path / "train.csv"
        path.write_text('"1","a title","a, body"\n"3","t","b ""q"" c"\n', encoding="utf-8")
        return path, read_ag_news
    path = tmp_path / "log.json"
    path.write_text(json.dumps([{"parameter": "0.weight", "amount": 0.5}]), encoding="utf-8")
    return path, PruningLog.from_json


@pytest.mark.parametrize("kind", ["cifar", "idx", "wav", "csv", "log"])
def test_corrupted_data_files_end_in_value_error_naming_them(tmp_path, kind):
    good, read = _good_file(tmp_path, kind)
    raw = good.read_bytes()
    for data in _corruptions(raw, seed=4, count=150):
        good.write_bytes(data)
        try:
            read(good)
        except (ValueError, ForbiddenPickleError) as exc:
            assert good.name in str(exc)
