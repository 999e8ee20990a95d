"""prune.prune_channels: model-wide filter pruning, checked against per-layer removal by hand."""

import copy

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.models import small_cnn
from nnprune.models_resnet import small_resnet

SHAPE = (1, 8, 8)


def _cnn(seed=0):
    model = small_cnn(1, 10, 8, channels=(8, 16), batchnorm=True, seed=seed)
    rng = np.random.default_rng(seed)
    for m in model.modules():  # distinct BatchNorm scales and statistics
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = rng.uniform(-2, 2, m.weight.shape)
            m.running_mean = rng.standard_normal(m.num_features)
            m.running_var = rng.uniform(0.5, 2, m.num_features)
    return model.eval()


def _x(seed=1):
    return np.random.default_rng(seed).standard_normal((4, *SHAPE))


def _reference_scores(model, name, criterion):
    """The table of the module docstring, written out with NumPy on the original model."""
    layers = dict(model.named_modules())
    w = layers[name].weight.data.reshape(layers[name].weight.shape[0], -1)
    if criterion == "l1":
        return np.abs(w).sum(1)
    if criterion == "l2":
        return np.sqrt((w**2).sum(1))
    if criterion == "bn_scale":
        return np.abs(layers[str(int(name) + 1)].weight.data)
    # next_input: the next Conv2d's input channel j, or the Flatten columns j*HW..(j+1)*HW-1
    nxt = layers["4"].weight.data if name == "0" else layers["9"].weight.data
    if name == "0":
        return np.sqrt((nxt**2).sum(axis=(0, 2, 3)))
    return np.sqrt((nxt.reshape(10, 16, 4) ** 2).sum(axis=(0, 2)))


@pytest.mark.parametrize("criterion", ["l1", "l2", "bn_scale", "next_input"])
def test_same_as_per_layer_removal_by_hand(criterion):
    model, ref = _cnn(), _cnn()
    chosen = {
        name: np.sort(np.argsort(_reference_scores(ref, name, criterion), kind="stable")[:k])
        for name, k in (("0", 4), ("4", 8))
    }
    records = prune.prune_channels(model, 0.5, criterion, input_shape=SHAPE)
    for name, idx in chosen.items():  # scores are all taken before any removal
        prune.remove_units(ref, name, idx, SHAPE)
    assert [r.layer for r in records] == ["0", "4"]
    assert [r.removed for r in records] == [tuple(chosen["0"]), tuple(chosen["4"])]
    assert (model[0].out_channels, model[1].num_features, model[4].in_channels) == (4, 4, 4)
    assert (model[4].out_channels, model[9].in_features) == (8, 32)
    np.testing.assert_array_equal(model(_x()), ref(_x()))


@pytest.mark.parametrize("criterion", ["l1", "bn_scale", "next_input"])
def test_shrunk_equals_masked_and_differs_from_dense(criterion):
    dense = _cnn()
    shrunk, masked = copy.deepcopy(dense), copy.deepcopy(dense)
    prune.prune_channels(shrunk, 0.5, criterion, input_shape=SHAPE)
    prune.prune_channels(masked, 0.5, criterion, input_shape=SHAPE, physical=False)
    assert masked[0].out_channels == 8 and shrunk[0].out_channels == 4
    np.testing.assert_allclose(shrunk(_x()), masked(_x()), rtol=0, atol=1e-12)
    assert not np.allclose(shrunk(_x()), dense(_x()))


def test_residual_groups_are_coupled_and_exact():
    model = small_resnet(1, 10, widths=(4, 8), seed=0).eval()
    masked = copy.deepcopy(model)
    assert prune.channel_layers(model) == {"0.0": 4, "2": 8, "1.conv1": 4, "2.conv1": 8}
    prune.prune_channels(model, 0.5, "l2")
    prune.prune_channels(masked, 0.5, "l2", physical=False)
    assert prune.channel_layers(model) == {"0.0": 2, "2": 4, "1.conv1": 2, "2.conv1": 4}
    assert model[1].in_channels == model[1].out_channels == 2  # identity block: stream width
    np.testing.assert_allclose(model(_x()), masked(_x()), rtol=0, atol=1e-12)


def test_per_layer_dict_and_callable():
    model = _cnn()
    records = prune.prune_channels(
        model, {"4": 0.25}, lambda conv: -np.arange(conv.out_channels), input_shape=SHAPE
    )
    assert model[0].out_channels == 8 and model[4].out_channels == 12
    assert records[0].removed == (12, 13, 14, 15)  # the callable scored the last ones lowest


def test_every_layer_keeps_a_channel():
    model = _cnn()
    prune.prune_channels(model, 0.99, "l1", input_shape=SHAPE)
    assert model[0].out_channels == 1 and model[4].out_channels == 1


def test_refusals_leave_the_model_unchanged():
    model = _cnn()
    before = model.num_parameters()
    with pytest.raises(ValueError, match=r"amount for layer '0' must be a fraction in \[0, 1\)"):
        prune.prune_channels(model, 1.5, input_shape=SHAPE)
    with pytest.raises(ValueError, match=r"not prunable; use \['0', '4'\]"):
        prune.prune_channels(model, {"9": 0.5}, input_shape=SHAPE)
    with pytest.raises(ValueError, match="criterion must be one of"):
        prune.prune_channels(model, 0.5, "l3", input_shape=SHAPE)
    with pytest.raises(ValueError, match="input_shape is needed"):
        prune.prune_channels(model, 0.5)
    plain = small_cnn(1, 10, 8, channels=(8, 16), seed=0)
    with pytest.raises(ValueError, match="'bn_scale' needs a BatchNorm2d after layer '0'"):
        prune.prune_channels(plain, 0.5, "bn_scale", input_shape=SHAPE)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match="no convolution whose output channels"):
        prune.prune_channels(mlp, 0.5)
    assert model.num_parameters() == before and model[0].out_channels == 8


def test_to_sparsity_per_layer_dict():
    model = nn.Sequential(nn.Linear(10, 20, seed=0), nn.ReLU(), nn.Linear(20, 5, seed=1))
    w0 = model[0].weight.data.copy()
    prune.to_sparsity(model, {"0": 0.25, "2.weight": 0.5})
    assert np.count_nonzero(model[0].weight.data == 0) == 50
    assert np.count_nonzero(model[2].weight.data == 0) == 50
    # the 50 smallest |w| of layer 0 alone, not ranked against layer 2
    smallest = np.argsort(np.abs(w0).ravel(), kind="stable")[:50]
    assert not model[0].weight.data.ravel()[smallest].any()
    with pytest.raises(ValueError, match="sparsity names layer '7', which has no prunable"):
        prune.to_sparsity(model, {"7": 0.5})
    with pytest.raises(ValueError, match=r"sparsity\['0'\] must be in \[0, 1\)"):
        prune.to_sparsity(model, {"0": 1.5})
