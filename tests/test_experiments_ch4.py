"""The chapter 4 adapters of the comparison harness, and the BatchNorm-only ``slimming``."""

from __future__ import annotations

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
    # channels (CNNs only) is opt-in: registered, never in a default list
    assert get_method("channels").opt_in and "channels" not in available_methods(batchnorm=True)
    every = set(available_methods(batchnorm=True)) | {"channels"}
    assert set(methods_module._REGISTRY) == every == set(methods_module.registered_methods())


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
        k = round(r["target_sparsity"] * N_WEIGHTS)
        info = r["info"]
        assert info["channels_masked"] > 0
        assert info["weights_from_channels"] + info["weights_from_magnitude"] == k  # exact
        assert 0 < info["weights_from_channels"] <= k
        # then the dead units are removed (as `nnprune prune` does): the model is smaller, and
        # the weights zero or removed are at least the k the method pruned
        assert round(r["achieved_sparsity"] * N_WEIGHTS) >= k, r
        assert r["params"] < r["params_original"]
        assert r["latency_ms"] > 0 and r["latency_csr_ms"] > 0


def test_slimming_masks_whole_channels():
    cfg = quick_config(
        make_config({"compare": {"methods": ["slimming"], "batchnorm": True, "sparsities": [0.5]}})
    )
    from nnprune.experiments.runner import RunSpec, run_one, train_dense

    dense = train_dense(cfg, 0)
    spec = RunSpec("slimming", 0.5, 0)
    row = run_one(cfg, spec, dense, get_method("slimming").fn, cfg.settings("slimming"))
    from nnprune.experiments.runner import rebuild

    model = rebuild(cfg, 0, row["state_dict"])
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)][:-1]
    # the masked channels (their rows and the next layer's columns zero) were removed physically
    removed = sum(cfg.hidden) - sum(widths)
    assert removed >= row["info"]["channels_masked"] > 0
    assert row["params"] == model.num_parameters() < build_model(cfg, 0).num_parameters()
