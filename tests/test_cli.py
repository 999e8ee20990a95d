"""The ``nnprune`` console script: compare, train, info, and clean one-line errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnprune import io, nn
from nnprune.cli import main
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.train import evaluate


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: nnprune" in out and "compare" in out and "train" in out and "info" in out


def test_compare_help_lists_its_options(capsys):
    assert main(["compare", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--config",
        "--methods",
        "--sparsities",
        "--seeds",
        "--workers",
        "--scheduler",
        "--out",
        "--quick",
        "--no-progress",
    ):
        assert option in out


def test_compare_quick_writes_results(tmp_path, capsys):
    assert main(["compare", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "global_magnitude" in out and "one seed" in out
    assert "± " not in out  # one seed: no spread to show
    for name in ("results.csv", "summary.csv", "results.json", "accuracy_vs_sparsity.png"):
        assert (tmp_path / name).is_file()
        assert str(tmp_path / name) in out


def test_compare_options_override_the_config(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[compare]\nmethods = ["layer_magnitude"]\nseeds = [5]\n')
    code = main(
        [
            "compare",
            "--config",
            str(config),
            "--quick",
            "--methods",
            "random",
            "--sparsities",
            "0.8",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    lines = (tmp_path / "o" / "results.csv").read_text().splitlines()
    assert lines[0].startswith("method,target_sparsity,achieved_sparsity,seed,accuracy")
    assert [ln.split(",")[:2] for ln in lines[1:]] == [["dense", "0.0"], ["random", "0.8"]]
    assert lines[2].split(",")[3] == "5"  # the seed from the file survives


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--methods", "nope"], r"unknown method 'nope'; valid methods: random, "),
        (["compare", "--sparsities", "0.5,1.0"], r"sparsity must be in \[0, 1\), got 1.0"),
        (["compare", "--seeds", "x"], r"--seeds must be a comma-separated list of ints"),
        (["compare", "--workers", "0"], r"workers must be an integer >= 1, got 0"),
        (["compare", "--config", "no/such.toml"], r"config file not found: no/such.toml"),
        (["train", "--epochs", "0"], r"--epochs must be a positive integer, got 0"),
        (["train", "--model", "rnn"], r"model 'rnn' is neither a built-in architecture"),
        (["bogus"], r"invalid choice: 'bogus'"),
    ],
)
def test_errors_are_one_clean_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnprune: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_train_prints_accuracy_and_saves(tmp_path, capsys):
    path = tmp_path / "mlp.npz"
    assert main(["train", "--epochs", "1", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    match = re.search(r"test accuracy (\d+\.\d+)%", out)
    assert match, out
    printed = float(match.group(1)) / 100
    assert printed > 0.3  # one epoch is far above chance (10 classes)
    model = mlp((64, 300, 100, 10), seed=123)  # other weights, overwritten by load
    io.load(model, path)
    _, acc = evaluate(model, nn.CrossEntropyLoss(), digits_splits(0).test)
    assert np.isclose(acc, printed, atol=5e-5)


def test_info_lists_version_backends_and_methods(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nnprune 0.") and "backends: numpy" in out
    for name in ("random", "global_magnitude", "layer_magnitude"):
        assert f"  {name} " in out
