"""A model file is data: a builder recorded in a checkpoint runs only when the user names it."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from nnprune import io, models
from nnprune.architectures import build_architecture
from nnprune.cli import main

EVIL = """
from pathlib import Path
Path("EVIL_MARKER").write_text("ran")


def build(input_shape, num_classes, seed=0, command="x"):
    Path("EVIL_MARKER").write_text(command)
    raise RuntimeError("never reached in a safe load")
"""


def _checkpoint(path, model, args):
    """An mlp checkpoint whose header names ``model`` with ``args`` (as a hostile file would)."""
    net = models.mlp((4, 3, 2), seed=0)
    arch = {"model": "mlp", "args": {"hidden": [3]}, "input_shape": [4], "num_classes": 2}
    io.save_model(net, path, arch)
    state, header = io.load_state(path)
    header["metadata"]["architecture"].update(model=model, args=args)
    arrays = io._encode(state)
    arrays[io.METADATA_KEY] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    return path


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = f"evilmod_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(EVIL)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield tmp_path, name
    sys.modules.pop(name, None)


PAYLOADS = [
    ("os:system", {"command": "touch EVIL_MARKER"}),
    ("subprocess:call", {"args": ["touch", "EVIL_MARKER"]}),
    ("subprocess:check_output", {"args": "touch EVIL_MARKER", "shell": True}),
    ("builtins:exec", {"source": "open('EVIL_MARKER', 'w')"}),
]


@pytest.mark.parametrize(("model", "args"), PAYLOADS)
def test_stdlib_payloads_never_run(hostile, model, args):
    tmp, _ = hostile
    path = _checkpoint(tmp / "m.npz", model, args)
    for kwargs in ({}, {"trust_code": True}, {"model": model}):
        with pytest.raises(ValueError, match=r"names the builder|standard library"):
            io.load_checkpoint(path, **kwargs)
    for cmd in (
        ["evaluate", str(path), "--data", "digits"],
        ["export", str(path), "--format", "csr", "--out", str(tmp / "o.npz")],
        ["prune", str(path), "--method", "global_magnitude", "--sparsity", "0.5"],
        ["evaluate", str(path), "--model", model],
    ):
        assert main(cmd) == 2
    assert not (tmp / "EVIL_MARKER").exists()


def test_local_module_is_imported_only_when_named_again(hostile, capsys):
    tmp, name = hostile
    path = _checkpoint(tmp / "m.npz", f"{name}:build", {"command": "x"})
    with pytest.raises(io.UntrustedCodeError, match=rf"names the builder '{name}:build'.*--model"):
        io.load_checkpoint(path)
    assert main(["evaluate", str(path), "--data", "digits"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--model {name}:build" in err
    assert not (tmp / "EVIL_MARKER").exists() and name not in sys.modules
    with pytest.raises(ValueError, match="not 'other:build'"):
        io.load_checkpoint(path, model="other:build")
    assert not (tmp / "EVIL_MARKER").exists()
    # named again: the user chose to run it
    with pytest.raises(ValueError, match="RuntimeError"):
        io.load_checkpoint(path, model=f"{name}:build")
    assert (tmp / "EVIL_MARKER").exists()


def test_args_must_be_plain_and_in_the_signature(tmp_path):
    with pytest.raises(ValueError, match=r"'mlp' has no setting 'command'"):
        build_architecture("mlp", (4,), 2, 0, {"command": "ls"})
    with pytest.raises(ValueError, match=r"setting 'hidden' must be a number.*got dict"):
        build_architecture("mlp", (4,), 2, 0, {"hidden": {"a": 1}})
    path = _checkpoint(tmp_path / "m.npz", "mlp", {"hidden": [3], "evil": "x"})
    with pytest.raises(ValueError, match=r"cannot rebuild.*no setting 'evil'"):
        io.load_checkpoint(path)


def test_a_builtin_checkpoint_needs_no_trust(tmp_path):
    path = _checkpoint(tmp_path / "m.npz", "mlp", {"hidden": [3]})
    assert io.load_model(path)[0].weight.shape == (3, 4)


def test_huge_class_count_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"num_classes must be in .*, got 1000000000"):
        build_architecture("mlp", (4,), 10**9)
    with pytest.raises(ValueError, match="input_shape must be a list of positive integers"):
        build_architecture("mlp", (0,), 2)


def test_non_finite_weights_are_refused_at_load(tmp_path):
    net = models.mlp((4, 3, 2), seed=0)
    net[0].weight.data[...] = np.nan
    arch = {"model": "mlp", "args": {"hidden": [3]}, "input_shape": [4], "num_classes": 2}
    io.save_model(net, tmp_path / "m.npz", arch)
    with pytest.raises(ValueError, match=r"entry '0.weight' holds 12 NaN or infinite value"):
        io.load_checkpoint(tmp_path / "m.npz")


GOOD = """
import numpy as np
from nnprune import models, nn


def build(input_shape, num_classes, seed=0, hidden=8):
    net = models.mlp((int(np.prod(input_shape)), hidden, num_classes), seed=seed)
    return nn.Sequential(nn.Flatten(), *net)
"""


def test_a_users_builder_runs_when_named_again_on_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    name = f"goodmod_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(GOOD)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        assert main(["train", "--model", f"{name}:build", "--epochs", "1", "--save", "m.npz"]) == 0
        assert main(["evaluate", "m.npz", "--json"]) == 2
        assert f"--model {name}:build" in capsys.readouterr().err
        assert main(["evaluate", "m.npz", "--json", "--model", f"{name}:build"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] > 0.5
        assert io.load_model("m.npz", trust_code=True)[1].weight.shape == (8, 64)
    finally:
        sys.modules.pop(name, None)
