"""The §5.1 pipeline: decide, retrain, prune_retrain, and the GradualPruning callback."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.data import digits_splits
from nnprune.data.loader import Splits
from nnprune.models import mlp
from nnprune.pipeline import (
    GradualPruning,
    PolynomialDecay,
    decide,
    iterative_sparsities,
    prunable_names,
    prune_retrain,
    retrain,
)
from nnprune.train import fit

SIZES = (64, 24, 16, 10)


@pytest.fixture(scope="module")
def splits():
    full = digits_splits(0)
    return Splits((full.train[0][:300], full.train[1][:300]), full.val, full.test)


def weights(model):
    return {n: p.data.copy() for n, p in model.named_parameters()}


def pruned(model, name):
    p = dict(model.named_parameters())[name]
    return 0 if p.mask is None else int((~p.mask).sum())


# ------------------------------------------------------------------ decide
@pytest.mark.parametrize("sparsity", [0.0, 0.37, 0.9, 0.999])
def test_decide_global_prunes_exact_count_of_smallest(sparsity):
    model = mlp(SIZES, seed=0)
    before = np.concatenate([model.get_submodule(n[:-7]).weight.data.ravel()
                             for n in prunable_names(model)])  # fmt: skip
    decide(model, sparsity, "magnitude", "global")
    names = prunable_names(model)
    total = sum(dict(model.named_parameters())[n].size for n in names)
    assert sum(pruned(model, n) for n in names) == round(sparsity * total)
    masks = np.concatenate([dict(model.named_parameters())[n].mask.ravel() for n in names])
    k = round(sparsity * total)
    expected = np.ones(total, dtype=bool)
    expected[np.argsort(np.abs(before), kind="stable")[:k]] = False  # brute force
    np.testing.assert_array_equal(masks, expected)


def test_decide_layer_scope_exact_count_per_layer():
    model = mlp(SIZES, seed=1)
    original = weights(model)
    decide(model, 0.6, "magnitude", "layer")
    for name in prunable_names(model):
        p = dict(model.named_parameters())[name]
        assert pruned(model, name) == round(0.6 * p.size)
        a = np.abs(original[name])
        assert a[~p.mask].max() <= a[p.mask].min()
        assert np.all(p.data[~p.mask] == 0)


def test_decide_grows_masks_and_random_is_seeded():
    model = mlp(SIZES, seed=2)
    decide(model, 0.3, "random", "global", seed=5)
    first = {n: dict(model.named_parameters())[n].mask.copy() for n in prunable_names(model)}
    decide(model, 0.7, "random", "global", seed=5)
    total = sum(m.size for m in first.values())
    assert sum(pruned(model, n) for n in first) == round(0.7 * total)
    for n, m in first.items():
        assert not np.any(dict(model.named_parameters())[n].mask & ~m)  # pruned stay pruned
    again = mlp(SIZES, seed=2)
    decide(again, 0.3, "random", "global", seed=5)
    for n, m in first.items():
        np.testing.assert_array_equal(dict(again.named_parameters())[n].mask, m)


def test_decide_ranks_by_given_scores_and_excludes_output_layer():
    model = mlp(SIZES, seed=3)
    names = prunable_names(model)[:-1]
    gen = np.random.default_rng(0)
    scores = {n: gen.normal(size=dict(model.named_parameters())[n].shape) for n in names}
    decide(model, 0.5, "magnitude", "global", names, scores=scores)
    assert dict(model.named_parameters())[prunable_names(model)[-1]].mask is None
    flat = np.concatenate([np.abs(scores[n]).ravel() for n in names])
    masks = np.concatenate([dict(model.named_parameters())[n].mask.ravel() for n in names])
    assert (~masks).sum() == round(0.5 * flat.size)
    assert flat[~masks].max() <= flat[masks].min()


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, "0.5", True])
def test_decide_rejects_sparsity_outside_unit_interval(bad):
    model = mlp(SIZES, seed=0)
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got"):
        decide(model, bad)
    assert not any(p.mask is not None for p in model.parameters())


def test_decide_errors_name_the_argument():
    model = mlp(SIZES, seed=0)
    with pytest.raises(ValueError, match=r"criterion must be one of \['magnitude', 'random'\]"):
        decide(model, 0.5, "taylor")
    with pytest.raises(ValueError, match=r"scope must be one of \['global', 'layer'\]"):
        decide(model, 0.5, scope="net")
    with pytest.raises(ValueError, match=r"unknown layer names \['9'\]; prunable weights are"):
        decide(model, 0.5, layers=["0", "9"])
    decide(model, 0.5)
    with pytest.raises(ValueError, match="below the current sparsity"):
        decide(model, 0.2)


# ----------------------------------------------------------------- retrain
def test_retrain_freezes_layers_and_restores_requires_grad(splits):
    model = mlp(SIZES, seed=0)
    before = weights(model)
    retrain(model, splits, 1, 0.05, freeze=["0"], seed=0)
    after = weights(model)
    for n in ("0.weight", "0.bias"):
        np.testing.assert_array_equal(after[n], before[n])
    for n in ("2.weight", "4.weight", "4.bias"):
        assert not np.array_equal(after[n], before[n])
    assert all(p.requires_grad for p in model.parameters())


def test_retrain_only_given_layers_keeps_masks(splits):
    model = mlp(SIZES, seed=0)
    decide(model, 0.5)
    before = weights(model)
    retrain(model, splits, 1, 0.05, layers=["4"], seed=0)
    after = weights(model)
    assert not np.array_equal(after["4.weight"], before["4.weight"])
    for n in ("0.weight", "0.bias", "2.weight", "2.bias"):
        np.testing.assert_array_equal(after[n], before[n])
    w = model.get_submodule("4").weight
    assert np.all(w.data[~w.mask] == 0)
    model.get_submodule("0").weight.requires_grad = False  # a user's own freeze is kept
    retrain(model, splits, 1, 0.05, seed=0)
    assert model.get_submodule("0").weight.requires_grad is False


def test_retrain_errors(splits):
    model = mlp(SIZES, seed=0)
    with pytest.raises(ValueError, match="freeze pattern 'fc' matches no parameter"):
        retrain(model, splits, 1, 0.05, freeze=["fc"])
    with pytest.raises(ValueError, match=r"unknown layer names \['7'\]"):
        retrain(model, splits, 1, 0.05, layers=["7"])
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -1"):
        retrain(model, splits, -1, 0.05)
    assert all(p.requires_grad for p in model.parameters())


# ----------------------------------------------------------- prune_retrain
@pytest.mark.parametrize("rounds", [1, 3])
def test_prune_retrain_rounds_follow_iterative_sparsities(splits, rounds):
    model = mlp(SIZES, seed=0)
    retrain(model, splits, 2, 0.05, seed=0)
    total = sum(p.size for p in model.parameters() if p.prunable)
    steps = []
    result = prune_retrain(model, splits, sparsity=0.8, rounds=rounds, retrain_epochs=1,
                           log=lambda step, msg: steps.append(step))  # fmt: skip
    expected = [1 - 0.2 ** (r / rounds) for r in range(1, rounds + 1)]
    assert [r.target_sparsity for r in result.rounds] == pytest.approx(expected)
    assert iterative_sparsities(0.8, rounds) == pytest.approx(expected)
    for r, target in zip(result.rounds, expected, strict=True):
        assert r.sparsity == round(target * total) / total
        assert len(r.history) == 1
    for p in model.parameters():
        if p.mask is not None:
            assert np.all(p.data[~p.mask] == 0)
    assert steps[0] == "initialise" and {"decide", "retrain", "evaluate"} <= set(steps)


def test_prune_retrain_calls_importance_hook_each_round(splits):
    model = mlp(SIZES, seed=0)
    names = prunable_names(model)
    original = np.concatenate([weights(model)[n].ravel() for n in names])
    calls = []

    def reversed_magnitude(m, s):
        calls.append(1)
        return {n: 1.0 / (np.abs(p.data) + 1e-3) for n, p in m.named_parameters() if p.prunable}

    prune_retrain(model, splits, sparsity=0.5, rounds=2, retrain_epochs=0,
                  criterion=reversed_magnitude)  # fmt: skip
    assert len(calls) == 2
    masks = np.concatenate([dict(model.named_parameters())[n].mask.ravel() for n in names])
    assert (~masks).sum() == round(0.5 * masks.size)
    # the hook ranks large weights as unimportant: those are the ones pruned
    assert np.abs(original[masks]).max() <= np.abs(original[~masks]).min()


def test_prune_retrain_errors(splits):
    model = mlp(SIZES, seed=0)
    with pytest.raises(ValueError, match="rounds must be an integer >= 1, got 0"):
        prune_retrain(model, splits, sparsity=0.5, rounds=0)
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.2"):
        prune_retrain(model, splits, sparsity=1.2)
    with pytest.raises(ValueError, match=r"criterion must be one of \['magnitude', 'random'\]"):
        prune_retrain(model, splits, sparsity=0.5, criterion="grad")
    with pytest.raises(ValueError, match=r"unknown layer names \['x'\]"):
        prune_retrain(model, splits, sparsity=0.5, layers=["x"])
    with pytest.raises(ValueError, match="lr_factor must be a positive number"):
        prune_retrain(model, splits, sparsity=0.5, lr_factor=0)
    assert not any(p.mask is not None for p in model.parameters())


# ---------------------------------------------------------- GradualPruning
def test_gradual_pruning_hits_schedule_and_masks_stay(splits):
    model = mlp(SIZES, seed=0)
    names = prunable_names(model)
    total = sum(dict(model.named_parameters())[n].size for n in names)
    schedule = PolynomialDecay(0.0, 0.8, begin_step=2, end_step=12, frequency=5)
    cb = GradualPruning(schedule)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, splits.train, epochs=4, batch_size=64,
        callbacks=[cb], progress=False)  # 5 batches per epoch: steps 0..19  # fmt: skip
    assert [h[0] for h in cb.history_] == [2, 7, 12]
    for step, target, achieved in cb.history_:
        p = (step - 2) / 10
        assert target == pytest.approx(0.8 + (0.0 - 0.8) * (1 - p) ** 3)
        assert achieved == round(target * total) / total
    assert sum(pruned(model, n) for n in names) == round(0.8 * total)
    for n in names:
        w = dict(model.named_parameters())[n]
        assert np.all(w.data[~w.mask] == 0)


def test_gradual_pruning_layer_scope_and_errors():
    model = mlp(SIZES, seed=0)
    cb = GradualPruning(lambda step: (True, 0.5), layers=["0", "2"], scope="layer")
    cb.on_step_end(0, model)
    assert pruned(model, "0.weight") == round(0.5 * 64 * 24)
    assert pruned(model, "2.weight") == round(0.5 * 24 * 16)
    assert pruned(model, "4.weight") == 0
    with pytest.raises(TypeError, match="schedule must be callable"):
        GradualPruning(0.5)
    with pytest.raises(ValueError, match="scope must be one of"):
        GradualPruning(lambda s: (True, 0.5), scope="unit")
    with pytest.raises(ValueError, match=r"schedule sparsity must be in \[0, 1\), got 1.0"):
        GradualPruning(lambda s: (True, 1.0)).on_step_end(0, model)
