"""A practitioner's CNN through train -> prune --method channels -> evaluate -> compare, and the
vocabulary, latency and checkpoint-data promises those commands make."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest

from nnprune import io, nn
from nnprune.cli import main

BUILDER = textwrap.dedent(
    '''
    from nnprune import nn


    def build(input_shape, num_classes, seed=0, widths=(8, 16)):
        c, h, w = input_shape
        layers = []
        for i, out in enumerate(widths):
            layers += [nn.Conv2d(c, out, 3, padding=1, seed=seed + i), nn.BatchNorm2d(out),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c, h, w = out, h // 2, w // 2
        return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.2),
                             nn.Linear(c * h * w, num_classes, seed=seed + 9))
    '''
)
# A checkpoint of a builder of your own is loaded only when the builder is named again.
BUILDER_PATH = "practice_vgg:build"
TRUST = ["--model", BUILDER_PATH]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder holding the builder module ``practice_vgg`` (imported from the cwd)."""
    folder = tmp_path_factory.mktemp("work")
    (folder / "practice_vgg.py").write_text(BUILDER)
    return folder


@pytest.fixture(scope="module")
def trained(workdir):
    mp = pytest.MonkeyPatch()
    mp.chdir(workdir)
    mp.syspath_prepend(str(workdir))
    ckpt = workdir / "m.npz"
    code = main(["train", "--model", "practice_vgg:build", "--epochs", "2", "--quiet",
                 "--save", str(ckpt)])  # fmt: skip
    assert code == 0
    yield ckpt
    mp.undo()
    sys.modules.pop("practice_vgg", None)


@pytest.fixture()
def in_workdir(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(workdir))


def test_checkpoint_records_data_and_builder_file(trained, workdir):
    meta = io.load_state(trained)[1]["metadata"]
    assert meta["data"] == "digits" and meta["label_column"] == "label"
    assert meta["builder_file"] == str((workdir / "practice_vgg.py").resolve())


def test_channels_cli_then_evaluate_and_compare_agree(trained, workdir, in_workdir, capsys):
    pruned = workdir / "p.npz"
    argv = ["prune", str(trained), "--method", "channels", "--sparsity", "0.5",
            "--criterion", "bn_scale", "--retrain-epochs", "1", "--save", str(pruned),
            *TRUST]  # fmt: skip
    assert main(argv) == 0  # no --data: the checkpoint's
    out = capsys.readouterr().out
    assert "--sparsity counts channels here, not weights" in out
    assert "  retraining epoch 1: loss " in out  # a line per retraining epoch (--quiet: none)
    model = io.load_model(pruned, model=BUILDER_PATH)
    assert (model[0].out_channels, model[4].out_channels, model[4].in_channels) == (4, 8, 4)
    assert main(["evaluate", str(pruned), "--json", *TRUST]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("parameters_original", "parameters", "nonzeros", "weight_sparsity", "sparsity",
                "compression", "bytes_dense", "bytes_sparse", "bytes_nonzeros_32bit",
                "latency_ms", "latency_iqr_ms", "threads"):  # fmt: skip
        assert key in result, key
    dense = io.load_model(trained, model=BUILDER_PATH)
    assert result["parameters_original"] == dense.num_parameters()
    assert result["parameters"] == model.num_parameters() < dense.num_parameters()
    ratio = result["parameters_original"] / result["nonzeros"]
    assert result["compression"] == pytest.approx(ratio)
    assert result["sparsity"] == result["weight_sparsity"] and result["threads"] == 1
    assert result["bytes_nonzeros_32bit"] == 4 * result["nonzeros"]
    (workdir / "c.toml").write_text(
        '[compare]\nmodel = "practice_vgg:build"\nmethods = ["channels"]\nsparsities = [0.5]\n'
        "seeds = [0]\ntrain_epochs = 1\nretrain_epochs = 0\nlatency_repeats = 2\n"
        '[methods.channels]\ncriterion = "bn_scale"\n'
    )
    argv = ["compare", "--config", "c.toml", "--out", "cmp", "--workers", "1", "--no-progress"]
    assert main(argv) == 0
    rows = json.loads((workdir / "cmp" / "results.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    row = next(r for r in rows if r["method"] == "channels")
    assert row["params"] == result["parameters"]
    assert row["params_original"] == dense.num_parameters()
    assert row["bytes_dense"] == result["bytes_dense"]
    assert row["compression_ratio"] == pytest.approx(result["compression"])
    assert main(["report", "cmp"]) == 0  # the builder reads model_args, not hidden/channels
    page = (workdir / "cmp" / "report.html").read_text()
    assert '<td class="l">model_args</td>' in page
    assert '<td class="l">hidden</td>' not in page and '<td class="l">batchnorm</td>' not in page


def test_builder_error_says_where_the_builder_was(trained, workdir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in (str(workdir), "")])
    monkeypatch.delitem(sys.modules, "practice_vgg", raising=False)
    importlib.invalidate_caches()
    assert main(["evaluate", str(trained), *TRUST]) == 2  # named again: imported, not found
    err = capsys.readouterr().err
    assert "cannot import module 'practice_vgg'" in err
    assert str(workdir / "practice_vgg.py") in err and "PYTHONPATH" in err


def test_prune_without_save_warns(trained, in_workdir, capsys):
    argv = ["prune", str(trained), "--method", "layer_magnitude", "--sparsity", "0.5",
            "--layer-sparsities", "10=0.2", "--retrain-epochs", "0", *TRUST]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "no --save given, the pruned model is not kept" in captured.err
    assert "weight sparsity" in captured.out and "original ->" in captured.out


def test_layer_sparsities_refused_for_other_methods(trained, in_workdir, capsys):
    argv = ["prune", str(trained), "--method", "random", "--sparsity", "0.5",
            "--layer-sparsities", "10=0.2", *TRUST]  # fmt: skip
    assert main(argv) == 2
    assert "--layer-sparsities is a setting of --method channels" in capsys.readouterr().err
    assert main(["prune", str(trained), "--method", "channels", "--sparsity", "0.5",
                 "--layer-sparsities", "10", *TRUST]) == 2  # fmt: skip
    assert "--layer-sparsities must look like name=F" in capsys.readouterr().err


def test_sensitivity_writes_the_dense_baseline(trained, workdir, in_workdir):
    out = workdir / "sens"
    argv = ["sensitivity", str(trained), "--sparsities", "0.5", "--out", str(out), *TRUST]
    assert main(argv) == 0
    lines = (out / "sensitivity.csv").read_text().splitlines()
    assert lines[1].startswith("(dense),0.0,")


def test_train_prints_a_line_per_epoch_unless_quiet(capsys):
    argv = ["train", "--model", "mlp", "--hidden", "8", "--epochs", "2"]
    assert main(argv) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  epoch ")]
    assert [ln.split(":")[0] for ln in lines] == ["  epoch 1/2", "  epoch 2/2"]
    assert all(" loss " in ln and " s" in ln and "acc" in ln for ln in lines)
    assert main([*argv, "--quiet", "--lr-schedule", "cosine", "--weight-decay", "1e-4"]) == 0
    assert "epoch 1/2" not in capsys.readouterr().out


def test_closed_pipe_exits_quietly(monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            raise OSError("no descriptor")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["exercises", "list"]) == 141
    assert "Broken pipe" not in capsys.readouterr().err


def test_measure_latency_pins_threads_and_reports_spread():
    from threadpoolctl import threadpool_info

    from nnprune.metrics import blas_threads, measure_latency

    model = nn.Sequential(nn.Linear(64, 64, seed=0), nn.ReLU(), nn.Linear(64, 10, seed=1))
    x = np.random.default_rng(0).standard_normal((32, 64))
    lat = measure_latency(model, x, repeats=9, warmup=1, threads=1)
    assert lat.threads == 1 and len(lat.times) == 9
    assert float(lat) == pytest.approx(float(np.median(lat.times)))
    q25, q75 = np.percentile(lat.times, [25, 75])
    assert lat.iqr == pytest.approx(q75 - q25) and lat.iqr >= 0
    with blas_threads(1):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    with pytest.raises(ValueError, match="threads must be a positive int"):
        measure_latency(model, x, threads=0)


def test_compare_config_retraining_rate_and_batchnorm_from_the_model(workdir, in_workdir):
    from nnprune.experiments import make_config
    from nnprune.experiments.runner import check_setup

    config = make_config({"compare": {"lr": 0.04}})
    assert config.settings("random")["retrain_lr"] == pytest.approx(0.004)
    config = make_config({"compare": {"retrain_lr": 0.01, "weight_decay": 1e-4}})
    assert config.settings("random")["retrain_lr"] == 0.01
    with pytest.raises(ValueError, match="compare.retrain_lr must be > 0, got 0"):
        make_config({"compare": {"retrain_lr": 0}})
    with pytest.raises(ValueError, match="compare.lr_schedule must be 'none', 'cosine' or"):
        make_config({"compare": {"lr_schedule": "linear"}})
    with pytest.raises(ValueError, match="set compare.batchnorm = true"):
        make_config({"compare": {"methods": ["slimming"]}})  # built-in mlp: the flag builds BN
    own = make_config({"compare": {"methods": ["slimming"], "model": "practice_vgg:build"}})
    check_setup(own)  # the builder's model has BatchNorm: no flag needed
    plain = make_config(
        {"compare": {"methods": ["slimming"], "model": "cnn", "batchnorm": True}}
    )
    check_setup(plain)


def test_lr_schedules_and_keep_best():
    from nnprune import optim
    from nnprune.commands import make_scheduler, train_model
    from nnprune.data.sources import load_dataset

    def rates(schedule, epochs=6):
        opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
        sched = make_scheduler(opt, schedule, epochs)
        out = []
        for _ in range(epochs):
            out.append(opt.param_groups[0]["lr"])
            if sched is not None:
                sched.step()
        return np.array(out)

    np.testing.assert_allclose(rates("none"), 0.1)
    np.testing.assert_allclose(rates("step"), [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    np.testing.assert_allclose(rates("cosine"), 0.05 * (1 + np.cos(np.pi * np.arange(6) / 6)))
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        make_scheduler(optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), "linear", 3)
    data = load_dataset("digits", 0).flattened()
    from nnprune.train import evaluate

    val_loss = {}
    for keep in (False, True):  # the same seed: keep_best ends on the best of the same epochs
        model = nn.Sequential(nn.Linear(64, 10, seed=0))
        train_model(model, data, epochs=4, lr=2.0, keep_best=keep)  # a rate that overshoots
        val_loss[keep] = evaluate(model, nn.CrossEntropyLoss(), data.splits.val)[0]
    assert val_loss[True] <= val_loss[False]
    with pytest.raises(ValueError, match="--weight-decay must be"):
        train_model(model, data, epochs=1, lr=0.1, weight_decay=-1.0)
