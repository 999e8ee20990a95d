"""§8.2: layers, units and weights pruned in one run; a cross-domain run on shifted digits."""

import copy

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.data.datasets import load_digits
from nnprune.models import mlp
from nnprune.pipeline import (
    cross_domain_prune,
    domain_shift,
    drop_layer,
    droppable_layers,
    layer_drop_scores,
    multi_granularity_prune,
)
from nnprune.train import fit


@pytest.fixture(scope="module")
def splits():
    X, y = load_digits()
    p = np.random.default_rng(0).permutation(len(y))
    X, y = X[p], y[p]
    return (X[:1100], y[:1100]), (X[1100:1400], y[1100:1400]), (X[1400:], y[1400:])


def _trained(train, sizes):
    m = mlp(sizes, seed=0)
    fit(
        m,
        nn.CrossEntropyLoss(),
        optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        train,
        epochs=10,
        progress=False,
    )
    return m


def test_drop_layer_is_the_chain_without_that_block():
    m = mlp((4, 4, 4, 3), seed=0).double()
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert droppable_layers(m) == [0, 2]
    expected = m[4](np.maximum(m[0](x), 0))  # Linear0 -> ReLU -> Linear4
    rec = drop_layer(m, 2)
    assert len(m) == 3 and rec.params_before - rec.params_after == 20
    np.testing.assert_allclose(m.forward(x), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="index must be a hidden square Linear"):
        drop_layer(m, 2)


def test_layer_drop_scores_are_measured_loss_increases(splits):
    train, val, _ = splits
    m = _trained(train, (64, 32, 32, 10))
    scores = layer_drop_scores(m, nn.CrossEntropyLoss(), val)
    trial = copy.deepcopy(m)
    drop_layer(trial, 2)
    base = float(nn.CrossEntropyLoss().forward(m.eval()(val[0]), val[1]))
    after = float(nn.CrossEntropyLoss().forward(trial.eval()(val[0]), val[1]))
    assert list(scores) == [2] and scores[2] == pytest.approx(after - base, rel=1e-5)


def test_multi_granularity_run_shrinks_at_each_stage(splits):
    train, val, test = splits
    m = _trained(train, (64, 32, 32, 32, 10))
    rows = multi_granularity_prune(
        m,
        nn.CrossEntropyLoss(),
        train,
        val,
        test,
        n_layers=1,
        unit_fraction=0.25,
        sparsity=0.6,
        retrain_epochs=2,
    )
    assert [r["stage"] for r in rows] == ["dense", "layers", "units", "weights"]
    params = [r["params"] for r in rows]
    assert params[0] - params[1] == 32 * 32 + 32  # one square hidden layer dropped
    assert params[1] > params[2] == params[3]
    assert rows[2]["removed"] == [("0", 8), ("2", 8)]
    assert rows[3]["weight_nonzeros"] == round(0.4 * rows[3]["weights"])
    assert rows[3]["accuracy"] > 0.8


def test_domain_shift_and_cross_domain_rows(splits):
    train, _, test = splits
    X = train[0][:3]
    np.testing.assert_allclose(domain_shift(X, "invert"), 1 - X)
    img = X.reshape(3, 8, 8)
    np.testing.assert_array_equal(domain_shift(X, "flip").reshape(3, 8, 8), img[:, :, ::-1])
    np.testing.assert_array_equal(
        domain_shift(domain_shift(X, "rotate"), "rotate").reshape(3, 8, 8), img[:, ::-1, ::-1]
    )
    m = _trained(train, (64, 32, 10))
    before = [p.data.copy() for p in m.parameters()]
    shifted = (domain_shift(train[0], "flip"), train[1])
    rows = cross_domain_prune(
        m,
        nn.CrossEntropyLoss(),
        train,
        shifted,
        (domain_shift(test[0], "flip"), test[1]),
        0.8,
        finetune_epochs=2,
        lr=0.05,
    )
    assert [r["run"] for r in rows][1:] == [
        "pruned on source, fine-tuned on target",
        "pruned on target, fine-tuned on target",
    ]
    assert rows[1]["sparsity"] == pytest.approx(0.8, abs=1e-3) == rows[2]["sparsity"]
    assert rows[1]["accuracy"] > rows[0]["accuracy"]  # fine-tuning on the target helps
    for b, p in zip(before, m.parameters(), strict=True):
        np.testing.assert_array_equal(b, p.data)


def test_errors(splits):
    train, val, test = splits
    m = mlp((64, 16, 10), seed=0)
    with pytest.raises(ValueError, match="n_layers must be at most 0"):
        multi_granularity_prune(m, nn.CrossEntropyLoss(), train, val, test, n_layers=1)
    with pytest.raises(ValueError, match="kind must be one of"):
        domain_shift(train[0], "blur")
    with pytest.raises(ValueError, match="X must hold images of 8x8"):
        domain_shift(np.zeros((2, 10)), "flip")
