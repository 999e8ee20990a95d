"""The chapter 4 adapters of the comparison harness, and the BatchNorm-only ``slimming``."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.experiments import (
    RunContext,
    available_methods,
    compare,
    get_method,
    make_config,
    quick_config,
)
from nnprune.experiments import methods as methods_module
from nnprune.experiments.runner import build_model, load_splits

CH4 = ("gsp", "taylor", "snip", "gsap", "ista", "reweighted_l1", "admm")
N_WEIGHTS = 64 * 300 + 300 * 100 + 100 * 10  # prunable weights of the digits MLP


def test_chapter4_methods_are_registered_after_the_baselines():
    names = available_methods()
    assert names[:4] == ("random", "global_magnitude", "layer_magnitude", "dense_retrain")
    assert names[4:] == CH4
    assert "slimming" not in names and available_methods(batchnorm=True)[-1] == "slimming"
    for name in (*CH4, "slimming"):
        assert get_method(name).fn.__module__ == "nnprune.experiments.methods_ch4"
    assert get_method("slimming").requires_batchnorm and not get_method("admm").requires_batchnorm
    assert set(methods_module._REGISTRY) == set(available_methods(batchnorm=True))


def test_batchnorm_config_defaults_to_every_method_and_builds_bn_models():
    cfg = make_config({"compare": {"batchnorm": True}})
    assert cfg.batchnorm and cfg.methods == available_methods(batchnorm=True)
    model = build_model(cfg, 0)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 2
    assert not make_config().batchnorm


@pytest.mark.parametrize(
    ("compare", "message"),
    [
        (
            {"methods": ["slimming"]},
            r"compare.methods: method 'slimming' needs a model with BatchNorm; "
            r"set compare.batchnorm = true",
        ),
        ({"batchnorm": 1}, r"compare.batchnorm must be true or false, got 1"),
        ({"methods": ["nope"]}, r"unknown method 'nope'; valid methods: .*slimming"),
    ],
)
def test_config_errors(compare, message):
    with pytest.raises(ValueError, match=message):
        make_config({"compare": compare})


def test_slimming_adapter_refuses_a_model_without_batchnorm():
    cfg = make_config({"compare": {"methods": ["random"]}})
    ctx = RunContext(
        model=build_model(cfg, 0),
        initial_state={},
        build=lambda: build_model(cfg, 0),
        splits=load_splits(cfg),
        sparsity=0.5,
        seed=0,
        settings={**cfg.settings("random"), "method": get_method("slimming").defaults},
        input_shape=(64,),
    )
    with pytest.raises(ValueError, match="method 'slimming' needs a model with BatchNorm"):
        get_method("slimming").fn(ctx)


@pytest.fixture(scope="module")
def slimmed(tmp_path_factory):
    cfg = quick_config(
        make_config({"compare": {"methods": ["slimming", "global_magnitude"], "batchnorm": True}})
    )
    out = tmp_path_factory.mktemp("slimming")
    return compare(cfg, out=out, workers=1, progress=False)


def test_slimming_quick_run_reaches_the_exact_target(slimmed):
    rows = [r for r in slimmed.rows if r["method"] == "slimming"]
    assert [r["target_sparsity"] for r in rows] == [0.5, 0.9]
    for r in rows:
        zeros = round(r["achieved_sparsity"] * N_WEIGHTS)
        assert zeros == round(r["target_sparsity"] * N_WEIGHTS), r
        info = r["info"]
        assert info["channels_masked"] > 0
        assert info["weights_from_channels"] + info["weights_from_magnitude"] == zeros
        assert 0 < info["weights_from_channels"] <= zeros
        assert r["latency_ms"] > 0 and r["latency_csr_ms"] > 0


def test_slimming_masks_whole_channels():
    cfg = quick_config(
        make_config({"compare": {"methods": ["slimming"], "batchnorm": True, "sparsities": [0.5]}})
    )
    from nnprune.experiments.runner import RunSpec, run_one, train_dense

    dense = train_dense(cfg, 0)
    spec = RunSpec("slimming", 0.5, 0)
    row = run_one(cfg, spec, dense, get_method("slimming").fn, cfg.settings("slimming"))
    model = build_model(cfg, 0)
    model.load_state_dict(row["state_dict"])
    weights = [m.weight.data for m in model.modules() if isinstance(m, nn.Linear)]
    # A masked channel j of hidden layer l: row j of weight l and column j of weight l+1 are 0.
    dead = sum(
        int(np.sum(~w.any(axis=1) & ~nxt.any(axis=0)))
        for w, nxt in zip(weights[:-1], weights[1:], strict=True)
    )
    assert dead >= row["info"]["channels_masked"] > 0
