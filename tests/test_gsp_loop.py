"""§4.3 as loops: the iterative GSP (corrected) and the AGSP / GSAP prune-retrain sweeps."""

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.data.datasets import load_digits
from nnprune.models import mlp
from nnprune.pipeline import gsap_sweep, gsp_iterative_prune, saliency_sweep
from nnprune.train import fit


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm], y[perm]
    return (X[:1000], y[:1000]), (X[1000:], y[1000:])


def _trained(train, sizes=(64, 32, 10), epochs=5):
    model = mlp(sizes, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=epochs, progress=False)
    return model


def test_first_step_prunes_the_lowest_mean_abs_gradient_computed_by_hand(digits):
    train, _ = digits
    model = _trained(train, sizes=(64, 10))  # softmax regression: gradient in closed form
    X, y = train
    W, b = model[0].weight.data.astype(np.float64), model[0].bias.data.astype(np.float64)
    total = np.zeros_like(W)
    for s in range(0, len(y), 100):
        xb, yb = X[s : s + 100].astype(np.float64), y[s : s + 100]
        z = xb @ W.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1.0
        total += np.abs(p.T @ xb / len(yb))  # |dJ/dW| of the mean cross-entropy
    scores = total / 10
    k = round(0.3 * W.size)
    expected = np.ones(W.size, bool)
    expected[np.argsort(scores.ravel(), kind="stable")[:k]] = False
    gsp_iterative_prune(
        model, nn.CrossEntropyLoss(), train, 0.3, 1, score_batch_size=100, retrain_epochs=0
    )
    agree = (model[0].weight.mask.ravel() == expected).mean()
    assert agree > 0.995, agree  # float32 forward: near-ties may swap


def test_iterative_steps_follow_the_schedule_and_masks_only_grow(digits):
    train, test = digits
    model = _trained(train)
    res = gsp_iterative_prune(
        model, nn.CrossEntropyLoss(), train, 0.9, 3, val=test, retrain_epochs=1, lr=0.01
    )
    assert res.targets == pytest.approx([1 - 0.1 ** (t / 3) for t in (1, 2, 3)])
    assert res.sparsities == pytest.approx(res.targets, abs=1e-3)
    assert res.accuracies[-1] > 0.5
    # a further step re-scores at the pruned weights and only adds to the masks
    old = {n: p.mask.copy() for n, p in model.named_parameters() if p.mask is not None}
    gsp_iterative_prune(model, nn.CrossEntropyLoss(), train, 0.95, 1, retrain_epochs=0)
    for n, p in model.named_parameters():
        if n in old:
            assert not np.any(p.mask & ~old[n])  # nothing pruned comes back
            assert np.all(p.data[~p.mask] == 0)


def test_agsp_beats_random_at_high_sparsity_and_model_is_unchanged(digits):
    train, test = digits
    model = _trained(train)
    before = [p.data.copy() for p in model.parameters()]
    rows = {}
    for crit in ("agsp", "random"):
        rows[crit] = saliency_sweep(
            model,
            nn.CrossEntropyLoss(),
            train,
            test,
            [0.5, 0.9],
            criterion=crit,
            retrain_epochs=1,
        )
    assert [r["sparsity"] for r in rows["agsp"]] == pytest.approx([0.5, 0.9], abs=1e-3)
    assert rows["agsp"][1]["acc_pruned"] > rows["random"][1]["acc_pruned"]
    for b, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(b, p.data)


def test_gsap_sweep_removes_units_physically(digits):
    train, test = digits
    model = _trained(train)
    rows = gsap_sweep(model, nn.CrossEntropyLoss(), train, test, "0", [0.25, 0.5], retrain_epochs=1)
    dense = model.num_parameters()
    assert dense > rows[0]["params"] > rows[1]["params"]
    assert rows[1]["params"] == dense - 16 * (64 + 1 + 10)
    assert model[0].weight.shape == (32, 64)
    assert all(r["acc"] > 0.5 for r in rows)


def test_errors(digits):
    train, test = digits
    model = mlp((64, 8, 10), seed=0)
    with pytest.raises(ValueError, match="criterion must be one of"):
        gsp_iterative_prune(model, nn.CrossEntropyLoss(), train, 0.5, 2, criterion="min")
    with pytest.raises(ValueError, match="steps must be"):
        gsp_iterative_prune(model, nn.CrossEntropyLoss(), train, 0.5, 0)
    with pytest.raises(ValueError, match="sparsities must list"):
        saliency_sweep(model, nn.CrossEntropyLoss(), train, test, [])
    with pytest.raises(ValueError, match="criterion must be one of"):
        gsap_sweep(model, nn.CrossEntropyLoss(), train, test, "0", [0.5], criterion="agsp")
