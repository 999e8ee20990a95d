"""The whole workflow on your own data file: train, prune, evaluate, sensitivity, export, report."""

from __future__ import annotations

import base64
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from nnprune import io, metrics, models, nn, prune
from nnprune.cli import main
from nnprune.data import load_digits
from nnprune.experiments.workflow import prepare_data


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    """The 8x8 digits written in the keras mnist.npz layout (uint8 images, (N, H, W))."""
    X, y = load_digits(flatten=False)
    images = np.round(X[:, 0] * 255).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(y))
    images, y = images[order], y[order].astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x_train=images[:1400], y_train=y[:1400], x_test=images[1400:], y_test=y[1400:])
    return path


@pytest.fixture(scope="module")
def trained(digits_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "m.npz"
    code = main(["train", "--data", str(digits_npz), "--model", "mlp", "--hidden", "32",
                 "--epochs", "4", "--save", str(out)])  # fmt: skip
    assert code == 0
    return out


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnprune: error: ") and err.count("\n") == 1, err
    return err


def test_train_saves_a_self_describing_checkpoint(trained, digits_npz):
    model = io.load_model(trained)
    _, header = io.load_state(trained)
    arch = header["metadata"]["architecture"]
    assert arch["model"] == "mlp" and arch["input_shape"] == [64] and arch["num_classes"] == 10
    assert model[0].weight.shape == (32, 64)
    ds = prepare_data(digits_npz, "mlp")
    _, acc = __import__("nnprune.train", fromlist=["evaluate"]).evaluate(
        model, nn.CrossEntropyLoss(), ds.splits.test
    )
    assert acc == pytest.approx(header["metadata"]["test_accuracy"])


def test_prune_evaluate_json_export_report(trained, digits_npz, tmp_path, capsys):
    pruned = tmp_path / "p.npz"
    data = ["--data", str(digits_npz)]
    code = main(["prune", str(trained), "--method", "global_magnitude", "--sparsity", "0.9",
                 "--retrain-epochs", "1", *data, "--save", str(pruned)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "Sparsity" in out and "Total" in out  # the per-layer table
    model = io.load_model(pruned)
    assert metrics.model_sparsity(model) == pytest.approx(0.9, abs=1e-4)
    log = json.loads((tmp_path / "p.log.json").read_text())
    assert log["run"]["method"] == "global_magnitude"
    assert {r["parameter"] for r in log["records"]} == {"0.weight", "2.weight"}

    assert main(["evaluate", str(pruned), "--data", str(digits_npz), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    keys = {"accuracy", "sparsity", "parameters", "nonzeros", "flops", "bytes_dense",
            "bytes_sparse", "latency_ms", "parameters_original", "weight_sparsity",
            "compression", "bytes_nonzeros_32bit", "latency_iqr_ms", "latency_batch",
            "threads", "nonzero_weights"}  # fmt: skip
    assert set(result) == keys
    ds = prepare_data(digits_npz, "mlp")
    predicted = model.eval()(ds.splits.test[0]).argmax(axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == ds.splits.test[1]))
    assert 0 <= result["accuracy"] <= 1
    assert result["parameters"] == model.num_parameters()
    assert result["nonzeros"] == sum(int(np.count_nonzero(p.data)) for p in model.parameters())
    assert result["bytes_dense"] == 4 * model.num_parameters()
    assert result["bytes_sparse"] < result["bytes_dense"]

    assert main(["export", str(pruned), "--format", "csr", "--out", str(tmp_path / "c.npz")]) == 0
    from nnprune.sparse import load_sparse

    assert set(load_sparse(tmp_path / "c.npz")) >= {"0.weight", "2.weight"}
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Pruning log: p.log.json" in page


@pytest.mark.parametrize("method", ["gsap", "slimming"])
def test_structured_prune_shrinks_the_saved_model(method, tmp_path, capsys):
    dense = tmp_path / "m.npz"
    assert main(["train", "--model", "mlp", "--hidden", "24", "--batchnorm", "--epochs", "2",
                 "--save", str(dense)]) == 0  # fmt: skip
    out = tmp_path / "g.npz"
    assert main(["prune", str(dense), "--method", method, "--sparsity", "0.5",
                 "--retrain-epochs", "0", "--save", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "physically removed" in text
    small, big = io.load_model(out), io.load_model(dense)
    assert small[0].weight.shape[0] < 24 and small.num_parameters() < big.num_parameters()
    log = json.loads((tmp_path / "g.log.json").read_text())
    assert log["records"][-1]["function"] == "remove_dead_units"


def test_sensitivity_writes_csv_and_plot(trained, digits_npz, tmp_path):
    assert main(["sensitivity", str(trained), "--data", str(digits_npz), "--sparsities",
                 "0.5,0.9", "--out", str(tmp_path)]) == 0  # fmt: skip
    lines = (tmp_path / "sensitivity.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 1 + 2 * 2  # header, dense, 2 sparsities x 2 layers (64-32-10)
    assert lines[1].startswith("(dense),0.0,")
    assert (tmp_path / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("command", ["train", "prune", "evaluate", "sensitivity", "compare",
                                     "export", "report", "info"])  # fmt: skip
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "usage: nnprune " + command in capsys.readouterr().out


# ------------------------------------------------------------------ bad input
def test_bad_data_is_one_line(tmp_path, capsys, trained):
    err = _error(capsys, ["train", "--data", "nosuch", "--epochs", "1"])
    assert "data 'nosuch' is neither a built-in data set" in err
    np.savez(tmp_path / "k.npz", x_train=np.zeros((4, 2)), y_train=np.zeros(4))
    err = _error(capsys, ["train", "--data", str(tmp_path / "k.npz")])
    assert "missing x_test, y_test" in err
    np.savez(tmp_path / "l.npz", x_train=np.zeros((4, 2)), y_train=np.array([0, 1, 0, 1]),
             x_test=np.zeros((2, 2)), y_test=np.array([0, 5]))  # fmt: skip
    err = _error(capsys, ["train", "--data", str(tmp_path / "l.npz")])
    assert "y_test has label 5 outside [0, 2)" in err


def test_bad_model_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, ["train", "--model", "nomodule_xyz:build"])
    assert "cannot import module 'nomodule_xyz'" in err
    err = _error(capsys, ["train", "--model", "lenet5"])
    assert "lenet5' needs images of at least 12x12" in err
    err = _error(capsys, ["train", "--model", "mlp", "--model-args", "[1]"])
    assert "--model-args must be a JSON object" in err


def test_checkpoint_and_data_mismatch_is_one_line(capsys, trained, tmp_path):
    np.savez(tmp_path / "o.npz", x_train=np.zeros((20, 5), np.float32),
             y_train=np.arange(20) % 2, x_test=np.zeros((4, 5), np.float32),
             y_test=np.arange(4) % 2)  # fmt: skip
    err = _error(capsys, ["evaluate", str(trained), "--data", str(tmp_path / "o.npz")])
    assert "was built for input shape (64,) and 10 classes" in err
    err = _error(capsys, ["prune", str(trained), "--method", "nope", "--sparsity", "0.5"])
    assert "unknown method 'nope'" in err
    err = _error(capsys, ["prune", str(trained), "--method", "random", "--sparsity", "1.5"])
    assert "--sparsity must be in [0, 1), got 1.5" in err


# ----------------------------------------------------------------------- ONNX
def _random_bn(model):
    rng = np.random.default_rng(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean = rng.standard_normal(m.num_features).astype(np.float32)
            m.running_var = rng.uniform(0.5, 2, m.num_features).astype(np.float32)
            m.weight.data = rng.uniform(0.5, 1.5, m.num_features).astype(np.float32)
            m.bias.data = rng.standard_normal(m.num_features).astype(np.float32)
    return model.eval()


@pytest.mark.parametrize("kind", ["mlp_bn", "cnn_bn", "lenet5", "shrunk_cnn", "masked_mlp"])
def test_onnx_matches_nnprune(kind, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nnprune.export import export_onnx

    if kind == "mlp_bn":
        model, shape = models.mlp((20, 16, 8, 3), batchnorm=True, seed=0), (20,)
    elif kind == "cnn_bn":
        model, shape = models.small_cnn(2, 5, 8, channels=(4, 6), batchnorm=True, seed=0), (2, 8, 8)
    elif kind == "lenet5":
        model, shape = models.lenet5((1, 28, 28), 10, seed=0), (1, 28, 28)
    elif kind == "shrunk_cnn":
        model, shape = models.small_cnn(1, 4, 8, batchnorm=True, seed=0), (1, 8, 8)
        prune.remove_units(model, "0", [0, 3, 5], shape)
    else:
        model, shape = models.mlp((30, 12, 4), seed=0), (30,)
        prune.global_unstructured(
            [(model[0], "weight"), (model[2], "weight")], prune.L1Unstructured, amount=0.8
        )
    _random_bn(model)
    path = export_onnx(model, shape, tmp_path / "m.onnx")
    x = np.random.default_rng(1).standard_normal((7, *shape)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": x})
    np.testing.assert_allclose(y, model(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("shrunk", [False, True])
def test_onnx_resnet_matches_nnprune(shrunk, tmp_path):
    # BasicBlocks: both branches, the 1x1 downsample shortcut, Add and Relu, BatchNorms folded.
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nnprune.export import export_onnx
    from nnprune.models_resnet import small_resnet

    model = small_resnet(1, 10, widths=(4, 8), blocks_per_stage=2, seed=0)
    if shrunk:  # a coupled channel group and a block's inner filters removed
        prune.prune_coupled_channels(model, "0.0", [0, 3])
        prune.remove_block_inner(model, "1", [1])
        assert model[1].conv1.out_channels == 3 and model[0][0].out_channels == 2
    _random_bn(model)
    path = export_onnx(model, (1, 8, 8), tmp_path / "r.onnx")
    ops = [node.op_type for node in __import__("onnx").load(str(path)).graph.node]
    assert ops.count("Add") == 4 and "BatchNormalization" not in ops
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": x})
    np.testing.assert_allclose(y, model(x), rtol=0, atol=1e-5)


def test_onnx_refuses_unknown_layers(tmp_path):
    pytest.importorskip("onnx")
    from nnprune.export import export_onnx

    with pytest.raises(ValueError, match=r"does not handle layer '0' \(GRU\)"):
        export_onnx(nn.Sequential(nn.GRU(3, 4)), (5, 3), tmp_path / "g.onnx")


def test_onnx_without_the_extra_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    from nnprune.export import export_onnx

    with pytest.raises(ImportError, match=r"nnprune\[onnx\]"):
        export_onnx(models.mlp((4, 2)), (4,), tmp_path / "x.onnx")


def test_cli_export_onnx_agrees(trained, digits_npz, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    assert (
        main(["export", str(trained), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    )
    x = prepare_data(digits_npz, "mlp").splits.test[0][:16]
    with np.load(digits_npz) as f:  # the exported graph takes raw uint8 pixel values
        raw = f["x_test"][:16].reshape(16, -1).astype(np.float32)
    (y,) = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": raw})
    np.testing.assert_allclose(y, io.load_model(trained).eval()(x), rtol=0, atol=1e-5)


# ---------------------------------------------------------------------- torch
def test_torch_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    from nnprune.export import from_torch_state_dict, to_torch_state_dict

    model = models.mlp((6, 5, 3), batchnorm=True, seed=0)
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    _random_bn(model)
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).eval()
    tmodel.load_state_dict(to_torch_state_dict(model), strict=False)  # no num_batches_tracked
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(expected, model(x), rtol=0, atol=1e-5)
    # back from a torch model pruned by torch.nn.utils.prune: masks come back as masks
    import torch.nn.utils.prune as torch_prune

    torch_prune.l1_unstructured(tmodel[3], "weight", amount=0.4)
    fresh = models.mlp((6, 5, 3), batchnorm=True, seed=9)
    from_torch_state_dict(fresh, tmodel.state_dict())
    fresh.eval()
    assert fresh[3].weight.mask is not None and not fresh[3].weight.mask.all()
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fresh(x), expected, rtol=0, atol=1e-5)


# --------------------------------------------------------------------- report
class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("href", "src"):
            if key in attrs:
                self.links.append(attrs[key])


def test_compare_report_is_self_contained(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["compare", "--quick", "--methods", "random,global_magnitude", "--workers", "1",
                 "--out", str(out), "--no-progress", "--report"])  # fmt: skip
    assert code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    # config, method settings, summary, every run, versions
    assert parser.tags.get("table", 0) >= 5
    for heading in ("Configuration", "Summary", "Every run", "Figures", "Versions"):
        assert f"<h2>{heading}" in page
    pngs = sorted(out.glob("*.png"))
    assert len(parser.images) == len(pngs) >= 1
    for src, png in zip(sorted(parser.images), sorted(pngs), strict=True):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        del png
    assert not [link for link in parser.links if not link.startswith("data:")]
    assert "<script" not in page
    summary_rows = (out / "summary.csv").read_text().strip().splitlines()
    assert len(re.findall(r"<tr>", page.split("Every run")[0].split("Summary")[1])) == len(
        summary_rows
    )


def test_report_of_an_empty_folder_is_one_line(tmp_path, capsys):
    err = _error(capsys, ["report", str(tmp_path)])
    assert "holds no results" in err


# -------------------------------------------------------- compare, your model
def test_compare_on_a_file_with_a_user_model_in_two_workers(tmp_path, monkeypatch, digits_npz):
    name = "cmpmodels_h11"
    (tmp_path / f"{name}.py").write_text(
        "from nnprune import models, nn\n"
        "def build(input_shape, num_classes, seed=0):\n"
        "    return nn.Sequential(nn.Flatten(), *models.mlp((64, 16, num_classes), seed=seed))\n"
    )
    (tmp_path / "c.toml").write_text(
        f'[compare]\ndataset = "{digits_npz}"\nmodel = "{name}:build"\n'
        'methods = ["global_magnitude"]\nsparsities = [0.5]\nseeds = [0, 1]\n'
        "train_epochs = 1\nretrain_epochs = 1\nworkers = 2\nlatency_repeats = 1\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        assert main(["compare", "--config", "c.toml", "--out", "run", "--no-progress"]) == 0
    finally:
        sys.modules.pop(name, None)
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    rows = doc["rows"]
    assert {r["method"] for r in rows} == {"dense", "global_magnitude"}
    assert all(r["params"] == 64 * 16 + 16 + 16 * 10 + 10 for r in rows)


@pytest.mark.slow
def test_dask_worker_processes_import_the_user_model(tmp_path, monkeypatch, digits_npz):
    distributed = pytest.importorskip("dask.distributed")
    from nnprune.experiments import make_config, run_grid

    name = "daskmodels_h11"
    (tmp_path / f"{name}.py").write_text(
        "from nnprune import models, nn\n"
        "def build(input_shape, num_classes, seed=0):\n"
        "    return nn.Sequential(nn.Flatten(), *models.mlp((64, 8, num_classes), seed=seed))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    config = make_config(
        {
            "compare": {
                "dataset": str(digits_npz),
                "model": f"{name}:build",
                "methods": ["layer_magnitude"],
                "sparsities": [0.5],
                "seeds": [0],
                "train_epochs": 1,
                "retrain_epochs": 0,
            }
        }  # fmt: skip
    )
    try:
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            rows = run_grid(config, scheduler=cluster.scheduler_address, progress=False)
    finally:
        sys.modules.pop(name, None)
    assert [r["params"] for r in rows] == [64 * 8 + 8 + 8 * 10 + 10] * 2
