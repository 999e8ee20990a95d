"""§5.1 compensation: the next layer's bias absorbs the removed units' mean output."""

import copy

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.data.datasets import load_digits
from nnprune.models import mlp
from nnprune.prune import remove_units
from nnprune.prune.compensation import remove_units_compensated, unit_means
from nnprune.train import fit


def test_mean_output_unchanged_on_calibration_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    model = mlp((5, 8, 3), seed=0).double()
    outputs = model.forward(X)
    before = outputs.mean(axis=0)
    remove_units_compensated(model, "0", [1, 4, 6], X)
    assert model[0].weight.shape == (5, 5)
    np.testing.assert_allclose(model.forward(X).mean(axis=0), before, rtol=0, atol=1e-10)
    # per sample the outputs do change: only the mean is kept
    assert np.abs(model.forward(X) - outputs).max() > 1e-3


def test_consumer_mean_kept_in_a_deeper_net_with_batchnorm():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    model = mlp((4, 6, 5, 2), batchnorm=True, seed=0).double()
    model.eval()
    consumer_index = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)][1]
    head = nn.Sequential(*list(model)[: consumer_index + 1])
    before = head.forward(X).mean(axis=0)
    remove_units_compensated(model, "0", [0, 3], X)
    head = nn.Sequential(*list(model)[: consumer_index + 1])
    np.testing.assert_allclose(head.forward(X).mean(axis=0), before, rtol=0, atol=1e-10)


def test_conv_then_flatten_absorbs_the_mean_map():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 1, 6, 6))
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, seed=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3, seed=1),
    ).double()
    before = model.forward(X).mean(axis=0)
    means = unit_means(model, "0", X)
    assert means.shape == (4, 2, 2)
    remove_units_compensated(model, "0", [2], X)
    assert model[4].weight.shape == (3, 12)
    np.testing.assert_allclose(model.forward(X).mean(axis=0), before, rtol=0, atol=1e-10)


def test_beats_plain_removal_on_held_out_digits():
    X, y = load_digits()
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm].astype(np.float64), y[perm]
    tr, te = slice(0, 1200), slice(1200, None)
    model = mlp((64, 64, 10), seed=0).double()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, (X[tr], y[tr]), epochs=10, progress=False)
    # the 32 hidden units whose activation varies least over the training data
    units = np.sort(np.argsort(np.maximum(model[0].forward(X[tr]), 0).var(axis=0))[:32])
    plain, comp = copy.deepcopy(model), copy.deepcopy(model)
    remove_units(plain, "0", units)
    remove_units_compensated(comp, "0", units, X[tr])

    def loss(m):
        m.eval()
        return float(nn.CrossEntropyLoss().forward(m.forward(X[te]), y[te]))

    assert loss(comp) < loss(plain), (loss(comp), loss(plain))


def test_refusals_leave_the_model_unchanged():
    X = np.ones((4, 5))
    model = mlp((5, 8, 3), seed=0).double()
    with pytest.raises(ValueError, match="output layer"):
        remove_units_compensated(model, "2", [0], X)
    with pytest.raises(ValueError, match="calibration_x must be an array of samples"):
        remove_units_compensated(model, "0", [0], np.ones(5))
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.ReLU(), nn.Conv2d(2, 2, 3, seed=1))
    with pytest.raises(ValueError, match="compensation needs a Linear consumer"):
        remove_units_compensated(conv, "0", [0], np.ones((2, 1, 7, 7)))
    bias_before = model[2].bias.data.copy()
    with pytest.raises(ValueError):
        remove_units_compensated(model, "0", [99], X)
    np.testing.assert_array_equal(model[2].bias.data, bias_before)
    assert model[0].weight.shape == (8, 5)
