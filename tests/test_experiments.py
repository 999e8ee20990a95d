"""The comparison harness (book §3.3): config, registry, exact targets, runner, outputs."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnprune import prune
from nnprune.experiments import (
    available_methods,
    compare,
    get_method,
    load_config,
    make_config,
    quick_config,
    register,
    run_grid,
    summarize,
)
from nnprune.experiments import methods as methods_module
from nnprune.experiments.compare import format_summary
from nnprune.experiments.methods_channels import SHRINKS
from nnprune.experiments.runner import TIMING_FIELDS
from nnprune.models import mlp

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "compare.toml"
N_WEIGHTS = 64 * 300 + 300 * 100 + 100 * 10  # prunable weights of the digits MLP


# -------------------------------------------------------------------- config
def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_example_file():
    cfg = make_config()
    assert cfg.methods == available_methods()
    assert {"random", "global_magnitude", "layer_magnitude"} <= set(cfg.methods)
    assert cfg.sparsities == (0.5, 0.75, 0.9, 0.95, 0.98) and cfg.seeds == (0, 1, 2)
    example = load_config(EXAMPLE)
    assert example.methods[0] == "random" and example.method_settings["admm"]["rho"] == 0.1
    assert make_config(example.to_dict()) == example


def test_toml_overrides_defaults(tmp_path):
    path = _toml(
        tmp_path,
        '[compare]\nmethods = ["random"]\nsparsities = [0.9]\nlr = 0.1\n[methods.admm]\nrho = 1\n',
    )
    cfg = load_config(path)
    assert cfg.methods == ("random",) and cfg.sparsities == (0.9,) and cfg.lr == 0.1
    assert cfg.method_settings["admm"]["rho"] == 1.0  # an int where a float is expected
    assert cfg.settings("admm")["method"]["iterations"] == get_method("admm").defaults["iterations"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[compare]\nsparsity = [0.5]\n", r"unknown key 'compare.sparsity'; valid keys: methods"),
        ("[bogus]\nx = 1\n", r"unknown section \[bogus\]"),
        ('[compare]\nmethods = ["nope"]\n', r"unknown method 'nope'; valid methods: random, "),
        (
            "[compare]\nsparsities = [0.5, 1.5]\n",
            r"sparsities\[1\]: sparsity must be in \[0, 1\), got 1.5",
        ),
        ("[compare]\nsparsities = [-0.1]\n", r"sparsity must be in \[0, 1\), got -0.1"),
        ("[compare]\nsparsities = [1.0]\n", r"sparsity must be in \[0, 1\)"),
        ("[compare]\nseeds = []\n", r"compare.seeds must not be empty"),
        ("[compare]\nmethods = []\n", r"compare.methods must not be empty"),
        ('[compare]\nseeds = ["0"]\n', r"compare.seeds\[0\] must be an integer >= 0, got '0'"),
        ("[compare]\nseeds = 0\n", r"compare.seeds must be a list, got 0"),
        ("[compare]\nseeds = [0, 0]\n", r"compare.seeds has duplicates"),
        ("[compare]\ntrain_epochs = 0\n", r"compare.train_epochs must be an integer >= 1, got 0"),
        ("[compare]\nretrain_epochs = 1.5\n", r"compare.retrain_epochs must be an integer"),
        ("[compare]\nlr = -1\n", r"compare.lr must be > 0, got -1"),
        ('[compare]\nlr = "fast"\n', r"compare.lr must be a finite real number, got 'fast'"),
        ('[compare]\nmodel = "vgg"\n', r"compare.model must be one of \['mlp', 'cnn'.*'vgg'"),
        ('[compare]\ndataset = "nope"\n', r"compare.dataset: 'nope' is neither a built-in"),
        ("[compare]\nworkers = 0\n", r"compare.workers must be an integer >= 1, got 0"),
        ("[methods.nope]\nx = 1\n", r"unknown method \[methods.nope\]; valid methods: random"),
        ("[methods.admm]\nlam = 1\n", r"unknown key 'methods.admm.lam'; valid keys: rho"),
        (
            '[methods.admm]\nrho = "big"\n',
            r"methods.admm.rho must be a finite real number, got 'big'",
        ),
        ("[methods.admm]\nscope = 3\n", r"methods.admm.scope must be str, got 3"),
        ("[compare\n", r"invalid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_config(_toml(tmp_path, text))


def test_config_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


def test_quick_config_is_small_and_keeps_methods():
    cfg = quick_config(make_config({"compare": {"methods": ["random", "snip"]}}))
    assert cfg.methods == ("random", "snip")
    assert len(cfg.sparsities) * len(cfg.seeds) <= 2 and cfg.train_epochs <= 5


# ------------------------------------------------------------------ registry
def test_unknown_method_lists_valid_ones():
    with pytest.raises(
        ValueError, match=r"unknown method 'nope'; valid methods: .*global_magnitude"
    ):
        get_method("nope")


def test_register_rejects_bad_name():
    with pytest.raises(ValueError, match="method name must be an identifier, got 'a b'"):
        register("a b")


@pytest.fixture
def keep_only_tmp_method():
    yield
    methods_module._REGISTRY.pop("tmp_method", None)


def test_registered_method_runs_with_its_settings(keep_only_tmp_method):
    seen = {}

    @register("tmp_method", defaults={"alpha": 0.25})
    def tmp_method(ctx):
        seen["alpha"] = ctx.method_settings["alpha"]
        prune.to_sparsity(ctx.model, ctx.sparsity)
        return {"note": "ok"}

    cfg = make_config(
        {
            "compare": {
                "methods": ["tmp_method"],
                "sparsities": [0.5],
                "seeds": [3],
                "train_epochs": 1,
                "retrain_epochs": 0,
            },
            "methods": {"tmp_method": {"alpha": 0.75}},
        }
    )
    dense, row = run_grid(cfg, workers=1, progress=False)
    assert seen == {"alpha": 0.75}
    assert row["info"] == {"note": "ok"} and row["seed"] == 3
    # retrain_epochs = 0 and no ctx.retrain(): accuracy "before" is the final one
    assert row["accuracy_before_retrain"] == row["accuracy"]


# --------------------------------------------------- exact-target pruning
@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.77, 0.951])
def test_to_sparsity_hits_the_exact_count(scope, sparsity):
    model = mlp((7, 13, 5, 3), seed=1)
    weights = [p for *_, p in model.prunable_parameters()]
    n = sum(p.size for p in weights)
    prune.to_sparsity(model, sparsity, scope=scope)
    zeros = [int((p.data == 0).sum()) for p in weights]
    if scope == "global":
        assert sum(zeros) == round(sparsity * n)
    else:
        assert zeros == [round(sparsity * p.size) for p in weights]


def test_global_magnitude_keeps_the_largest_weights():
    model = mlp((7, 13, 5, 3), seed=2)
    weights = [p for *_, p in model.prunable_parameters()]
    before = np.concatenate([np.abs(p.data).ravel() for p in weights])
    prune.to_sparsity(model, 0.6, scope="global")
    after = np.concatenate([p.data.ravel() for p in weights])
    k = round(0.6 * before.size)
    threshold = np.sort(before)[k]  # brute force: the k smallest go
    np.testing.assert_array_equal(after != 0, before >= threshold)


def test_layer_magnitude_prunes_each_layer_by_the_same_fraction():
    model = mlp((20, 30, 10), seed=3)
    prune.to_sparsity(model, 0.5, scope="layer")
    for *_, p in model.prunable_parameters():
        assert int((p.data == 0).sum()) == p.size // 2


# ----------------------------------------------------------- the quick grid
@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return compare(quick=True, out=out, workers=1, progress=False), out


def test_every_method_reaches_the_target_within_one_weight(quick):
    result, _ = quick
    grid = [r for r in result.rows if r["method"] != "dense"]
    assert {r["method"] for r in grid} == set(available_methods())
    assert len(grid) == len(available_methods()) * 2
    control = [r for r in grid if r["method"] == "dense_retrain"]
    dense = next(r for r in result.rows if r["method"] == "dense")
    for r in control:  # the equal-budget control: trained further, never pruned
        assert r["achieved_sparsity"] == 0 and r["nonzeros"] == r["params"] == dense["params"]
        assert r["accuracy_before_retrain"] == pytest.approx(dense["accuracy"])
    for r in (r for r in grid if r["method"] != "dense_retrain"):
        gap = (r["achieved_sparsity"] - r["target_sparsity"]) * N_WEIGHTS
        assert r["params_original"] == dense["params"]
        assert math.isclose(r["compression_ratio"], r["params_original"] / r["nonzeros"])
        if r["method"] in SHRINKS:  # dead units removed after the exact masking: maybe more
            assert gap >= -1 and r["params"] <= dense["params"], r["method"]
            continue
        assert abs(gap) <= 1, (r["method"], r["target_sparsity"], r["achieved_sparsity"])
        assert r["nonzeros"] == r["params"] - round(r["achieved_sparsity"] * N_WEIGHTS)
        assert r["flops_nz"] < r["flops"] and 0 <= r["accuracy"] <= 1


def test_random_is_worse_than_global_magnitude_at_90(quick):
    result, _ = quick
    acc = {(r["method"], r["target_sparsity"]): r["accuracy"] for r in result.rows}
    assert acc[("random", 0.9)] < acc[("global_magnitude", 0.9)] - 0.1


def test_outputs_are_written_and_parse(quick):
    result, out = quick
    with open(result.paths["csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.rows)
    assert float(rows[1]["accuracy"]) == pytest.approx(result.rows[1]["accuracy"])
    data = json.loads(result.paths["json"].read_text())
    assert data["nnprune_version"] and data["config"]["compare"]["seeds"] == [0]
    assert len(data["rows"]) == len(result.rows) and len(data["summary"]) == len(result.summary)
    assert result.paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # atomic writes
    for r in result.rows:
        assert r["latency_ms"] > 0 and r["latency_csr_ms"] > 0 and "state_dict" not in r


def test_printed_summary_fits_100_columns_and_compares_with_dense(quick):
    result, _ = quick
    text = format_summary(result.summary, result.config)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Test-split accuracy" in text and "vs dense (pt)" in text
    dense = next(s for s in result.summary if s["method"] == "dense")
    row = next(s for s in result.summary if s["method"] == "global_magnitude")
    points = 100 * (row["accuracy_mean"] - dense["accuracy_mean"])
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("global_magnitude"))
    assert f"{points:+.2f}" in line


def test_summary_is_mean_and_sample_std_over_seeds():
    rows = [
        {"method": "m", "target_sparsity": 0.5, "accuracy": a, "compression_ratio": c}
        for a, c in [(0.5, 2.0), (0.7, 4.0), (0.9, 6.0)]
    ]
    rows.append({"method": "m", "target_sparsity": 0.9, "accuracy": 0.3, "compression_ratio": 9})
    first, second = summarize(rows)
    assert first["accuracy_mean"] == pytest.approx(0.7)
    assert first["accuracy_std"] == pytest.approx(math.sqrt((0.04 + 0 + 0.04) / 2))
    assert first["compression_ratio"] == pytest.approx(4.0) and first["seeds"] == 3
    assert second["accuracy_std"] == 0.0 and second["seeds"] == 1


# -------------------------------------------------------------- parallelism
def test_inline_and_two_workers_give_identical_rows():
    cfg = make_config(
        {
            "compare": {
                "methods": ["random", "taylor", "snip", "admm"],
                "sparsities": [0.9],
                "seeds": [0, 1],
                "train_epochs": 2,
                "retrain_epochs": 1,
            }
        }
    )
    inline = run_grid(cfg, workers=1, progress=False)
    parallel = run_grid(cfg, workers=2, progress=False)
    assert len(inline) == len(parallel) == 2 + 8
    for a, b in zip(inline, parallel, strict=True):
        for key in a:
            if key in TIMING_FIELDS:
                continue
            if key == "state_dict":
                assert a[key].keys() == b[key].keys()
                for name in a[key]:
                    np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=name)
            else:
                assert a[key] == b[key], (a["method"], key)


def test_bad_workers_are_refused():
    with pytest.raises(ValueError, match="workers must be a positive integer, got -1"):
        run_grid(quick_config(make_config({"compare": {"methods": ["random"]}})), workers=-1)


@pytest.mark.skipif(importlib.util.find_spec("dask") is not None, reason="dask is installed")
def test_scheduler_without_dask_says_how_to_install():
    cfg = quick_config(make_config({"compare": {"methods": ["random"]}}))
    with pytest.raises(ImportError, match=r"pip install 'nnprune\[distributed\]'"):
        run_grid(cfg, scheduler="tcp://127.0.0.1:8786", progress=False)


def test_dask_gives_the_same_rows():
    distributed = pytest.importorskip("dask.distributed")
    cfg = make_config(
        {
            "compare": {
                "methods": ["random", "global_magnitude"],
                "sparsities": [0.9],
                "seeds": [0],
                "train_epochs": 2,
                "retrain_epochs": 1,
            }
        }
    )
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        on_dask = run_grid(cfg, scheduler=cluster.scheduler_address, progress=False)
    inline = run_grid(cfg, workers=1, progress=False)
    for a, b in zip(inline, on_dask, strict=True):
        assert a["accuracy"] == b["accuracy"] and a["nonzeros"] == b["nonzeros"]
