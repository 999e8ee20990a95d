"""APoZ (Hu et al. 2016, book §6.3): counted by hand on tiny networks; physical removal."""

import numpy as np
import pytest

from nnprune import nn
from nnprune.saliency import apoz_prune, apoz_scores


def _tiny():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 2, seed=1))
    model[0].weight.data[...] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    model[0].bias.data[...] = 0.0
    X = np.array([[1.0, 2.0], [-1.0, 3.0], [2.0, 1.0], [-3.0, -4.0]])
    return model, X


def test_apoz_counted_by_hand_linear():
    model, X = _tiny()
    # unit 0 = relu(x0): zero on rows 2, 4; unit 1 = relu(x1): row 4; unit 2 = relu(-x0-x1): 1-3
    np.testing.assert_array_equal(apoz_scores(model, X, "0"), [0.5, 0.25, 0.75])
    np.testing.assert_array_equal(apoz_scores(model, X, batch_size=3)["0"], [0.5, 0.25, 0.75])


def test_apoz_counted_by_hand_conv_averages_over_positions():
    conv = nn.Conv2d(1, 2, 1, seed=0)
    conv.weight.data[...] = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
    conv.bias.data[...] = 0.0
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(8, 2, seed=1))
    X = np.array([[[[1.0, -2.0], [0.0, 3.0]]], [[[-1.0, -1.0], [2.0, 5.0]]]])  # (2, 1, 2, 2)
    # channel 0 = relu(x): zero where x <= 0 (4 of 8); channel 1 = relu(-x): zero where x >= 0
    np.testing.assert_array_equal(apoz_scores(model, X, "0"), [4 / 8, 5 / 8])


def test_apoz_prune_removes_the_least_active_unit_physically():
    model, X = _tiny()
    records = apoz_prune(model, (X, np.zeros(4, dtype=np.int64)), 1)
    assert [r.removed for r in records] == [(2,)]
    assert model[0].weight.shape == (2, 2) and model[2].weight.shape == (2, 2)


def test_scoring_leaves_the_model_unchanged():
    model, X = _tiny()
    model.train()
    before = [p.data.copy() for p in model.parameters()]
    apoz_scores(model, X)
    assert model.training
    for b, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(b, p.data)


def test_errors():
    model, X = _tiny()
    with pytest.raises(ValueError, match="APoZ needs a ReLU after layer '2'"):
        apoz_scores(model, X, "2")
    with pytest.raises(ValueError, match="batch_size must be"):
        apoz_scores(model, X, batch_size=0)
    with pytest.raises(ValueError, match="data must be an array of samples"):
        apoz_scores(model, np.zeros((0, 2)))
