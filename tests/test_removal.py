"""Structured pruning with physical removal (nnprune.prune.removal, layer_removal).

The central check: a model whose units were removed computes, in float64, the
same outputs (to 1e-10) as a twin whose same units were only masked. Shapes
and parameter counts are checked against counts derived here from the layer
shapes, and the shrunk arrays against ``np.delete`` of the original ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck
from nnprune.prune._checks import amount_to_count
from nnprune.prune.importance import unit_scores
from nnprune.prune.layer_removal import fold_batchnorm, merge_linear, remove_layer
from nnprune.prune.removal import mask_units, prune_units, remove_units

TOL = 1e-10
CNN_INPUT = (2, 8, 8)


# --------------------------------------------------------------- models
def mlp(seed: int = 0) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(6, 8, seed=seed),
        nn.ReLU(),
        nn.Linear(8, 7, seed=seed + 1),
        nn.ReLU(),
        nn.Linear(7, 3, seed=seed + 2),
    ).double()


def mlp_bn(seed: int = 0) -> nn.Sequential:
    """Linear-BN-ReLU-Dropout-Linear-Tanh-Linear with non-zero beta and trained statistics."""
    model = nn.Sequential(
        nn.Linear(6, 8, seed=seed),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.3, seed=seed),
        nn.Linear(8, 5, seed=seed + 1),
        nn.Tanh(),
        nn.Linear(5, 3, seed=seed + 2),
    ).double()
    rng = np.random.default_rng(seed)
    bn = model[1]
    bn.weight.data = rng.uniform(0.5, 1.5, 8)
    bn.bias.data = rng.normal(size=8) + 1.0
    for _ in range(3):
        model(rng.normal(size=(16, 6)) * 2.0 + 0.5)
    return model.eval()


def cnn(seed: int = 0) -> nn.Sequential:
    """Conv-BN-ReLU-MaxPool-Conv-ReLU-Flatten-Linear, nested; input (2, 8, 8)."""
    model = nn.Sequential(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1, seed=seed),  # (4, 8, 8)
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (4, 4, 4)
            nn.Conv2d(4, 5, 3, seed=seed + 1),  # (5, 2, 2)
            nn.ReLU(),
        ),
        nn.Flatten(),
        nn.Linear(5 * 2 * 2, 3, seed=seed + 2),
    ).double()
    rng = np.random.default_rng(seed)
    bn = model[0][1]
    bn.weight.data = rng.uniform(0.5, 1.5, 4)
    bn.bias.data = rng.normal(size=4) + 0.5
    for _ in range(3):
        model(rng.normal(size=(6, *CNN_INPUT)) + 0.3)
    return model.eval()


def x_for(model: nn.Sequential, rng: np.random.Generator) -> np.ndarray:
    first = next(model.parameters())
    shape = CNN_INPUT if first.ndim == 4 else (6,)
    return rng.normal(size=(5, *shape))


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a
    )


# (builder, layer, consumer, units removed, input_shape, hw): each removed unit feeds
# hw input columns of the consumer; conv2 of `cnn` makes 5 maps of 2x2 (8x8, pad 1 ->
# 8x8, pool 2 -> 4x4, 3x3 unpadded -> 2x2) that Flatten turns into blocks of 4 columns.
CASES = [
    (mlp, "0", "2", [1, 5], None, 1),
    (mlp, "2", "4", [0, 3, 6], None, 1),
    (mlp_bn, "0", "4", [2, 3, 7], None, 1),
    (mlp_bn, "4", "6", [4], None, 1),
    (cnn, "0.0", "0.4", [0, 2], CNN_INPUT, 1),
    (cnn, "0.4", "2", [1, 4], CNN_INPUT, 4),
]


@pytest.mark.parametrize("build, layer, consumer, units, input_shape, hw", CASES)
def test_removed_equals_masked_and_arrays_shrink(build, layer, consumer, units, input_shape, hw):
    rng = np.random.default_rng(1)
    shrunk, masked, original = build(), build(), build()
    x = x_for(original, rng)
    y_orig = original(x)
    prod, cons = original.get_submodule(layer), original.get_submodule(consumer)
    cols = [c * hw + k for c in units for k in range(hw)]
    n_bias = 0 if prod.bias is None else len(units)
    fan_in = prod.weight.size // prod.weight.shape[0]
    per_column = cons.weight.size // cons.weight.shape[1]  # out (x kH x kW) per input column
    expected_drop = len(units) * fan_in + n_bias + len(cols) * per_column
    norms = [
        m
        for name, m in original.named_modules()
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) and m.num_features == prod.weight.shape[0]
    ]
    expected_drop += 2 * len(units) * len(norms)

    record = remove_units(shrunk, layer, units, input_shape=input_shape)
    mask_units(masked, layer, units, input_shape=input_shape)

    assert record.params_before - record.params_after == expected_drop
    assert original.num_parameters() - shrunk.num_parameters() == expected_drop
    assert masked.num_parameters() == original.num_parameters()
    assert record.removed == tuple(units)
    y_shrunk, y_masked = shrunk(x), masked(x)
    assert np.max(np.abs(y_shrunk - y_masked)) < TOL
    assert np.max(np.abs(y_shrunk - y_orig)) > 1e-6  # the removal did change the function

    new_prod, new_cons = shrunk.get_submodule(layer), shrunk.get_submodule(consumer)
    np.testing.assert_array_equal(new_prod.weight.data, np.delete(prod.weight.data, units, 0))
    np.testing.assert_array_equal(new_prod.bias.data, np.delete(prod.bias.data, units))
    np.testing.assert_array_equal(new_cons.weight.data, np.delete(cons.weight.data, cols, 1))
    for name, m in original.named_modules():
        if any(m is n for n in norms):
            new = shrunk.get_submodule(name)
            assert new.num_features == m.num_features - len(units)
            for attr in ("running_mean", "running_var"):
                np.testing.assert_array_equal(
                    getattr(new, attr), np.delete(getattr(m, attr), units)
                )
            np.testing.assert_array_equal(new.bias.data, np.delete(m.bias.data, units))
    out_attr = "out_features" if isinstance(prod, nn.Linear) else "out_channels"
    in_attr = "in_features" if isinstance(cons, nn.Linear) else "in_channels"
    assert getattr(new_prod, out_attr) == new_prod.weight.shape[0]
    assert getattr(new_cons, in_attr) == new_cons.weight.shape[1]


@pytest.mark.parametrize("build, layer, units", [(mlp_bn, "0", [1, 6]), (cnn, "0.4", [0, 3])])
def test_shrunk_model_round_trips_and_gradchecks(tmp_path, build, layer, units):
    model = build()
    remove_units(model, layer, units, input_shape=CNN_INPUT)
    x = x_for(model, np.random.default_rng(2))
    y = model(x)
    path = tmp_path / "shrunk.npz"
    np.savez(path, **model.state_dict())
    for p in model.parameters():
        p.data = p.data + 1.0
    with np.load(path, allow_pickle=False) as state:
        model.load_state_dict(dict(state))
    np.testing.assert_array_equal(model(x), y)
    gradcheck(model, x[:2])


def test_shrunk_cnn_trains_in_training_mode():
    model = cnn().train()
    remove_units(model, "0.0", [1], input_shape=CNN_INPUT)
    rng = np.random.default_rng(3)
    x, target = rng.normal(size=(8, *CNN_INPUT)), rng.integers(0, 3, 8)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(5):
        losses.append(loss_fn(model(x), target))
        model.zero_grad()
        model.backward(loss_fn.backward())
        for p in model.parameters():
            p.data = p.data - 0.1 * p.grad
    assert losses[-1] < losses[0]


def test_layer_given_as_module_object_in_nested_model():
    model = cnn()
    record = remove_units(model, model[0][4], [3], input_shape=CNN_INPUT)
    assert record.layer == "0.4" and record.affected == ("0.4", "2")
    assert model[0][4].out_channels == 4 and model[2].in_features == 4 * 4


def test_masks_already_on_parameters_survive():
    model = mlp()
    rng = np.random.default_rng(4)
    w0, w2 = model[0].weight, model[2].weight
    m0, m2 = rng.random(w0.shape) > 0.4, rng.random(w2.shape) > 0.4
    w0.mask, w2.mask = m0, m2
    remove_units(model, "0", [2, 4])
    np.testing.assert_array_equal(model[0].weight.mask, np.delete(m0, [2, 4], 0))
    np.testing.assert_array_equal(model[2].weight.mask, np.delete(m2, [2, 4], 1))
    for p in (model[0].weight, model[2].weight):
        assert p.mask.shape == p.shape == p.grad.shape
        assert np.all(p.data[~p.mask] == 0)
    assert model[4].weight.mask is None


def test_mask_units_keeps_existing_masks():
    model = mlp()
    old = np.random.default_rng(5).random(model[0].weight.shape) > 0.5
    model[0].weight.mask = old
    mask_units(model, "0", [3])
    expected = old.copy()
    expected[3] = False
    np.testing.assert_array_equal(model[0].weight.mask, expected)
    assert not model[2].weight.mask[:, 3].any() and model[2].weight.mask.sum() == 7 * 7


def test_dry_forward_leaves_model_state_alone():
    model = cnn().train()
    bn = model[0][1]
    stats = bn.running_mean.copy(), bn.running_var.copy()
    remove_units(model, "0.4", [2], input_shape=CNN_INPUT)
    assert all(m.training for m in model.modules())
    np.testing.assert_array_equal(bn.running_mean, stats[0])
    np.testing.assert_array_equal(bn.running_var, stats[1])


# ------------------------------------------------------------ criteria
@pytest.mark.parametrize("build, layer", [(mlp, "2"), (cnn, "0.0")])
@pytest.mark.parametrize("criterion", ["l1", "l2"])
def test_norm_criteria_remove_smallest_units(build, layer, criterion):
    model = build()
    w = model.get_submodule(layer).weight.data
    flat = w.reshape(w.shape[0], -1)
    norms = np.abs(flat).sum(1) if criterion == "l1" else np.linalg.norm(flat, axis=1)
    expected = tuple(sorted(np.argsort(norms)[:2].tolist()))
    record = prune_units(model, layer, 2, criterion, input_shape=CNN_INPUT)
    assert record.removed == expected


def test_random_criterion_is_seeded():
    picks = [prune_units(mlp(), "0", 3, "random", seed=s).removed for s in (7, 7, 8)]
    assert picks[0] == picks[1] != picks[2]
    reference = np.sort(np.argsort(np.random.default_rng(7).random(8))[:3])
    assert picks[0] == tuple(reference.tolist())


def test_callable_and_array_scores_and_fraction():
    by_callable = prune_units(mlp(), "0", 0.25, lambda m: -np.arange(m.out_features))
    assert by_callable.removed == (6, 7)  # round(0.25 * 8) = 2 highest indices
    scores = np.array([5, 1, 4, 1.5, 9, 2, 6, 3])
    assert prune_units(mlp(), "0", 3, scores).removed == (1, 3, 5)
    assert amount_to_count(0.5, 7) == 4  # round(3.5), as torch.nn.utils.prune rounds
    assert amount_to_count(3, 7) == 3


# ------------------------------------------------------- whole layers
@pytest.mark.parametrize("build", [mlp_bn, cnn])
def test_fold_batchnorm_is_exact(build):
    model = build()
    x = x_for(model, np.random.default_rng(6))
    y = model(x)
    bn_count = sum(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules())
    records = fold_batchnorm(model)
    assert len(records) == bn_count == 1
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules())
    bn_params = (
        2
        * [m for m in build().modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)][
            0
        ].num_features
    )
    assert records[0].params_before - records[0].params_after == bn_params
    assert np.max(np.abs(model(x) - y)) < TOL


def test_fold_batchnorm_adds_bias_and_keeps_mask():
    model = nn.Sequential(nn.Linear(4, 3, bias=False, seed=0), nn.BatchNorm1d(3)).double()
    rng = np.random.default_rng(7)
    model[1].bias.data = rng.normal(size=3)
    for _ in range(2):
        model(rng.normal(size=(10, 4)) + 1.0)
    model.eval()
    keep = np.array([[True, False, True, True]] * 3)
    model[0].weight.mask = keep
    x = rng.normal(size=(5, 4))
    y = model(x)
    fold_batchnorm(model)
    assert len(model) == 1 and model[0].bias is not None
    np.testing.assert_array_equal(model[0].weight.mask, keep)
    assert np.max(np.abs(model(x) - y)) < TOL


def test_merge_linear_is_exact_like_simplecnn_fc1_fc2():
    # Appendix C's fc1 -> fc2 with no non-linearity between, at a small size.
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6, seed=0), nn.Linear(6, 4, seed=1)).double()
    x = np.random.default_rng(8).normal(size=(5, 3, 2, 2))
    y = model(x)
    record = merge_linear(model, "1")
    assert len(model) == 2 and model[1].weight.shape == (4, 12)
    assert record.params_before == 12 * 6 + 6 + 6 * 4 + 4 and record.params_after == 12 * 4 + 4
    assert np.max(np.abs(model(x) - y)) < TOL


def test_remove_dropout_layer():
    model = mlp_bn()
    x = x_for(model, np.random.default_rng(9))
    y = model(x)
    remove_layer(model, 3)
    assert len(model) == 6 and not any(isinstance(m, nn.Dropout) for m in model)
    np.testing.assert_array_equal(model(x), y)


# ------------------------------------------------------------ refusals
class Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4, seed=0)

    def forward(self, x):
        return self.fc(x) + x


class SkipSequential(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + 1.0


REFUSALS = [
    (mlp, lambda m: remove_units(m, "4", [0]), "output layer"),
    (mlp, lambda m: remove_units(m, "0", range(8)), "cannot remove all 8 units"),
    (mlp, lambda m: remove_units(m, "0", [8]), r"indices must be in \[0, 8\)"),
    (mlp, lambda m: remove_units(m, "0", [1, 1]), "must not repeat"),
    (mlp, lambda m: remove_units(m, "0", [1.0]), "must be integers"),
    (mlp, lambda m: remove_units(m, "1", [0]), "only the output units of Linear and Conv2d"),
    (mlp, lambda m: remove_units(m, "9", [0]), "'9' is not a layer"),
    (mlp, lambda m: mask_units(m, "4", [0]), "output layer"),
    (mlp, lambda m: prune_units(m, "0", 9), r"amount=9 is larger than the number of units .*\(8\)"),
    (mlp, lambda m: prune_units(m, "0", 1.5), r"float in \[0, 1\] \(a fraction\), got 1.5"),
    (mlp, lambda m: prune_units(m, "0", 1.0), "cannot remove all 8 units"),
    (mlp, lambda m: prune_units(m, "0", 2, "taylor"), "criterion must be one of"),
    (mlp, lambda m: prune_units(m, "0", 2, np.ones(5)), r"shape \(8,\)"),
    (mlp, lambda m: prune_units(m, "0", 2, np.full(8, np.nan)), "finite"),
    (mlp, lambda m: remove_layer(m, 1), r"'1' \(ReLU\) cannot be removed exactly"),
    (mlp, lambda m: remove_layer(m, "0"), "use merge_linear"),
    (mlp, lambda m: merge_linear(m, "0"), r"followed by '1' \(ReLU\), not a Linear"),
    (mlp, lambda m: merge_linear(m, "4"), "the end of the model"),
    (mlp, lambda m: merge_linear(m, "1"), "'1' is a ReLU, not a Linear"),
    (mlp, lambda m: remove_units(m, nn.Linear(2, 2), [0]), "Linear object is not a layer"),
    (mlp_bn, lambda m: fold_batchnorm(m.train()), "call model.eval"),
    (cnn, lambda m: remove_units(m, "0.4", [0]), "input_shape is needed"),
    (cnn, lambda m: remove_units(m, "0.4", [0], input_shape=(2, 9)), "failed at layer '0.0'"),
    (
        lambda: nn.Sequential(nn.Linear(4, 4, seed=0), Custom(), nn.Linear(4, 2, seed=1)).double(),
        lambda m: remove_units(m, "0", [0]),
        r"followed by '1' \(Custom\)",
    ),
    (
        lambda: nn.Sequential(nn.Linear(8, 8, seed=0), nn.MaxPool2d(2), nn.Linear(4, 2, seed=1)),
        lambda m: remove_units(m, "0", [0]),
        r"followed by '1' \(MaxPool2d\)",
    ),
    (lambda: Custom().double(), lambda m: remove_units(m, "fc", [0]), "needs an nn.Sequential"),
    (
        lambda: SkipSequential(nn.Linear(4, 4, seed=0), nn.Linear(4, 4, seed=1)),
        lambda m: remove_units(m, "0", [0]),
        "needs an nn.Sequential",
    ),
]


@pytest.mark.parametrize("build, action, message", REFUSALS)
def test_refusals_leave_model_unchanged(build, action, message):
    model = build()
    before, text = model.state_dict(), repr(model)
    with pytest.raises(ValueError, match=message):
        action(model)
    assert same_state(before, model.state_dict())
    assert repr(model) == text


def test_shared_layer_refused():
    layer = nn.Linear(4, 4, seed=0)
    model = nn.Sequential(layer, nn.ReLU(), layer, nn.Linear(4, 2, seed=1))
    with pytest.raises(ValueError, match="same layer object twice"):
        remove_units(model, "0", [0])


def test_unit_scores_reads_masked_data():
    layer = nn.Linear(3, 2, seed=0).double()
    layer.weight.mask = np.array([[True, False, False], [True, True, True]])
    expected = np.abs(layer.weight.data).sum(axis=1)
    np.testing.assert_allclose(unit_scores(layer, "l1"), expected)
    assert expected[0] == abs(layer.weight.data[0, 0])


@pytest.mark.torch
def test_fold_batchnorm_matches_torch_fusion():
    torch = pytest.importorskip("torch")
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    model = cnn()
    conv, bn = model[0][0], model[0][1]
    as_t = [torch.from_numpy(np.array(a)) for a in (conv.weight.data, conv.bias.data)]
    stats = [torch.from_numpy(np.array(a)) for a in (bn.running_mean, bn.running_var)]
    gamma, beta = (torch.from_numpy(np.array(p.data)) for p in (bn.weight, bn.bias))
    w_ref, b_ref = fuse_conv_bn_weights(*as_t, *stats, bn.eps, gamma, beta)
    fold_batchnorm(model)
    np.testing.assert_allclose(model[0][0].weight.data, w_ref.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(model[0][0].bias.data, b_ref.detach().numpy(), rtol=0, atol=1e-12)


def test_structured_decisions_are_logged_with_the_units_and_criterion(tmp_path):
    import json

    from nnprune.prune import PruningLog

    model = nn.Sequential(
        nn.Linear(6, 8, seed=0),
        nn.ReLU(),
        nn.Linear(8, 5, seed=1),
        nn.ReLU(),
        nn.Linear(5, 3, seed=2),
    )
    norms = np.abs(model[0].weight.data).sum(axis=1)
    expected = sorted(np.argsort(norms, kind="stable")[:3].tolist())
    with PruningLog(model) as log:
        prune_units(model, "0", 3, criterion="l1")
        mask_units(model, "2", [4])
    first, second = log.records
    assert first["function"] == "prune_units" and first["criterion"] == "l1"
    assert first["layer"] == "0" and sorted(first["units"]) == expected
    assert first["total_units"] == 8
    assert first["max_pruned_score"] == pytest.approx(np.sort(norms)[2])
    assert first["params_before"] - first["params_after"] == 3 * 6 + 3 + 3 * 5
    assert second["function"] == "mask_units" and second["units"] == [4]
    log.to_json(tmp_path / "log.json")
    assert json.loads((tmp_path / "log.json").read_text())[0]["units"] == first["units"]
    assert "3 units" in log.summary()
