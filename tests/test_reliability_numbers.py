"""Non-finite and huge numbers in training (issue: reliability).

NaN in the features is reported as a data problem, not a learning-rate one; a loss
that grows a millionfold is stopped while still finite; a huge first loss warns; NaN
never reaches pruned entries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import io, nn, optim, prune
from nnprune.train import fit


def _data(n: int = 64, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(0)
    return (gen.standard_normal((n, 4)) * scale).astype(np.float64), gen.integers(0, 3, n)


def test_nan_in_the_features_is_reported_as_a_data_problem():
    X, y = _data()
    X[5, 2] = np.nan
    model = nn.Sequential(nn.Linear(4, 3))
    opt = optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(FloatingPointError, match="training data has NaN or infinite") as info:
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=64, progress=False)
    assert "learning rate" not in str(info.value)


def test_a_millionfold_loss_stops_training_while_still_finite():
    gen = np.random.default_rng(1)
    X = gen.standard_normal((32, 4))
    y = X @ np.array([[1.0], [2.0], [-1.0], [0.5]])
    model = nn.Sequential(nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=5.0)  # each step multiplies the error
    with pytest.raises(FloatingPointError, match=r"over 1e\+06 times the first loss") as info:
        fit(model, nn.MSELoss(), opt, (X, y), epochs=50, batch_size=32, progress=False)
    loss = float(str(info.value).split()[2])
    assert math.isfinite(loss) and loss < 1e30  # stopped long before overflow


def test_a_huge_first_loss_warns_about_the_data_scale():
    X, y = _data(scale=1e12)
    model = nn.Sequential(nn.Linear(4, 3))
    opt = optim.SGD(model.parameters(), lr=0.0)
    with pytest.warns(RuntimeWarning, match="first loss is .*check the scale of the data"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=64, progress=False)


def test_normal_training_is_not_disturbed():
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=5, progress=False)
    assert len(history.loss) == 5 and all(math.isfinite(v) for v in history.loss)


def test_a_step_with_nan_data_leaves_pruned_weights_zero():
    layer = nn.Linear(4, 3)
    prune.l1_unstructured(layer, "weight", amount=6)
    pruned = ~layer.weight.mask
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = np.full((2, 4), np.nan)
    with np.errstate(invalid="ignore"):
        out = layer.forward(x)
        layer.backward(np.ones_like(out))
        opt.step()
    assert np.all(layer.weight.data[pruned] == 0)


def test_a_loaded_file_with_nan_at_pruned_positions_loads_zero(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))
    prune.l1_unstructured(model[0], "weight", amount=6)
    io.save(model, tmp_path / "m.npz")
    state, header = io.load_state(tmp_path / "m.npz")
    state["0.weight"][~state["0.weight_mask"]] = np.nan  # written by another tool
    np.savez(tmp_path / "nan.npz", **state, __nnprune__=np.array(__import__("json").dumps(header)))
    fresh = nn.Sequential(nn.Linear(4, 3))
    io.load(fresh, tmp_path / "nan.npz")
    w = fresh[0].weight
    assert np.all(w.data[~w.mask] == 0) and np.isfinite(w.data).all()
