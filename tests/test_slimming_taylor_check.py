"""Network slimming and the predicted-vs-actual loss-change report, against direct computation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from nnprune import nn, optim, prune
from nnprune.gradcheck import numerical_gradient
from nnprune.models import mlp, small_cnn
from nnprune.saliency import (
    SlimmingPenalty,
    agsp_scores,
    slim_channels,
    taylor_report,
    weight_taylor_report,
    weight_taylor_sweep,
)


def _bn_mlp(seed: int = 0) -> nn.Sequential:
    return mlp((5, 6, 4, 3), batchnorm=True, seed=seed).double()


def _loss(model, loss_fn, X, y) -> float:
    model.eval()
    return float(loss_fn.forward(model.forward(X), y))


# ---------------------------------------------------------------- slimming
def test_penalty_gradient_is_lambda_sign_gamma() -> None:
    model = _bn_mlp()
    gammas = [np.array([0.5, -0.2, 0.0, 1.0, -3.0, 0.1]), np.array([-1.0, 2.0, -0.5, 0.3])]
    for bn, g in zip((model[1], model[4]), gammas, strict=True):
        bn.weight.data = g
        bn.weight.grad[...] = 0.25
    penalty = SlimmingPenalty(1e-2)
    penalty.add_grad(model)
    for bn, g in zip((model[1], model[4]), gammas, strict=True):
        np.testing.assert_allclose(bn.weight.grad, 0.25 + 1e-2 * np.sign(g))
    assert penalty.value(model) == pytest.approx(1e-2 * sum(np.abs(g).sum() for g in gammas))
    assert np.all(model[0].weight.grad == 0)  # only the BatchNorm scales


def test_penalty_callback_takes_the_decoupled_step() -> None:
    model = _bn_mlp()
    model[1].weight.data = np.array([0.5, -0.2, 0.0, 1.0, -3.0, 0.1])
    before = model[1].weight.data.copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    SlimmingPenalty(1e-2, optimizer=opt).on_step_end(0, model)
    np.testing.assert_allclose(model[1].weight.data, before - 0.1 * 1e-2 * np.sign(before))
    with pytest.raises(ValueError, match="needs the optimizer"):
        SlimmingPenalty(1e-2).on_step_end(0, model)
    with pytest.raises(ValueError, match="lam must be a finite real number >= 0"):
        SlimmingPenalty(-1.0)


def test_slim_channels_removes_globally_smallest_gamma_and_keeps_one_per_layer() -> None:
    model = _bn_mlp()
    g1 = np.array([0.9, 0.01, 0.5, 0.02, 0.8, 0.7])  # 6 channels
    g2 = np.array([0.03, -0.04, 0.05, 0.06])  # all small: would be emptied
    model[1].weight.data, model[4].weight.data = g1, g2
    # 10 channels, fraction 0.6 -> the 6 smallest |gamma|: 0.01, 0.02 (layer 1), all of layer 2
    records = slim_channels(model, 0.6)
    assert [r.removed for r in records] == [(1, 3), (0, 1, 2)]
    np.testing.assert_allclose(model[1].weight.data, [0.9, 0.5, 0.8, 0.7])
    np.testing.assert_allclose(model[4].weight.data, [0.06])  # its largest kept
    assert model[0].weight.shape == (4, 5) and model[3].weight.shape == (1, 4)
    assert model[6].weight.shape == (3, 1)


def test_slim_channels_conv_and_unchanged_on_error() -> None:
    model = small_cnn(1, 3, image_size=8, channels=(3, 4), batchnorm=True, seed=0).double()
    model[1].weight.data = np.array([0.1, 1.0, 0.9])
    model[5].weight.data = np.array([1.0, 0.05, 0.8, 0.7])
    n_params = model.num_parameters()
    with pytest.raises(ValueError, match="input_shape is needed"):
        slim_channels(model, 2 / 7)  # the second conv is followed by Flatten
    assert model.num_parameters() == n_params  # the first removal was not applied either
    records = slim_channels(model, 2 / 7, input_shape=(1, 8, 8))
    assert [r.removed for r in records] == [(0,), (1,)]
    model.eval()
    assert model.forward(np.ones((2, 1, 8, 8))).shape == (2, 3)


def test_slimming_errors() -> None:
    with pytest.raises(ValueError, match="needs a model with BatchNorm layers"):
        slim_channels(mlp((4, 3, 2)), 0.5)
    with pytest.raises(ValueError, match="needs a model with BatchNorm layers"):
        SlimmingPenalty(1e-4).add_grad(mlp((4, 3, 2)))
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\), got 1.0"):
        slim_channels(_bn_mlp(), 1.0)


# ----------------------------------------------------------- Taylor report
def _prepared() -> tuple[nn.Sequential, nn.Module, np.ndarray, np.ndarray]:
    model = _bn_mlp(seed=2)
    g = np.random.default_rng(7)
    model[1].running_mean, model[1].running_var = g.normal(size=6), g.random(6) + 0.5
    model[1].bias.data = g.normal(size=6)
    return model, nn.CrossEntropyLoss(), g.normal(size=(9, 5)), g.integers(0, 3, 9)


def test_taylor_report_units_against_direct_computation() -> None:
    model, loss_fn, X, y = _prepared()
    report = taylor_report(model, loss_fn, (X, y), "0")
    base = _loss(model, loss_fn, X, y)
    assert report.loss == pytest.approx(base, abs=1e-12)
    assert [r[0] for r in report.rows] == list(range(6))

    def scaled(j: int, alpha: float) -> float:  # unit j scaled at the next Linear's input
        x = X
        for k, layer in enumerate(model):
            x = layer.forward(x)
            if k == 2:
                x = x.copy()
                x[:, j] *= alpha
        return float(loss_fn.forward(x, y))

    for j, predicted, actual in report.rows:
        first_order = (scaled(j, 1 + 1e-6) - scaled(j, 1 - 1e-6)) / 2e-6  # sum z dJ/dz
        assert predicted == pytest.approx(-first_order, rel=1e-5, abs=1e-10)
        removed = copy.deepcopy(model)
        prune.mask_units(removed, "0", [j])
        assert actual == pytest.approx(_loss(removed, loss_fn, X, y) - base, abs=1e-12)
    pred, act = np.array([r[1] for r in report.rows]), np.array([r[2] for r in report.rows])
    assert report.pearson == pytest.approx(np.corrcoef(pred, act)[0, 1])
    assert report.spearman == pytest.approx(stats.spearmanr(pred, act)[0])
    sub = taylor_report(model, loss_fn, (X, y), model[3], units=[2, 0])
    assert [r[0] for r in sub.rows] == [2, 0]
    assert "Pearson" in str(report)


def test_weight_taylor_report_against_numerical_gradient() -> None:
    model, loss_fn, X, y = _prepared()
    w = model[3].weight.data.copy()
    model.eval()
    g = numerical_gradient(lambda: loss_fn.forward(model.forward(X), y), model[3].weight.data)
    base = _loss(model, loss_fn, X, y)
    report = weight_taylor_report(model, loss_fn, (X, y), "3.weight", indices=[0, 5, 17])
    for i, predicted, actual in report.rows:
        pos = np.unravel_index(i, w.shape)
        assert predicted == pytest.approx(-w[pos] * g[pos], rel=1e-6, abs=1e-12)
        model[3].weight.data[pos] = 0.0
        assert actual == pytest.approx(_loss(model, loss_fn, X, y) - base, abs=1e-12)
        model[3].weight.data[pos] = w[pos]
    np.testing.assert_array_equal(model[3].weight.data, w)


def test_weight_taylor_sweep_against_direct_removal() -> None:
    model, loss_fn, X, y = _prepared()
    scores = agsp_scores(model, loss_fn, (X, y))
    saved = {n: p.data.copy() for n, p in model.named_parameters()}
    report = weight_taylor_sweep(model, loss_fn, (X, y), scores, [0.1, 0.5])
    for (_, p), before in zip(model.named_parameters(), saved.values(), strict=True):
        np.testing.assert_array_equal(p.data, before)
    base = _loss(model, loss_fn, X, y)
    names = list(scores)
    flat = np.concatenate([scores[n].ravel() for n in names])
    for s, _, actual in report.rows:
        cut = np.sort(flat)[round(s * flat.size) - 1]  # no ties: scores are continuous
        pruned = copy.deepcopy(model)
        for n in names:
            mod = pruned.get_submodule(n.split(".")[0])
            mod.weight.data = np.where(scores[n] <= cut, 0.0, mod.weight.data)
        assert actual == pytest.approx(_loss(pruned, loss_fn, X, y) - base, abs=1e-12)


def test_taylor_report_errors() -> None:
    model, loss_fn, X, y = _prepared()
    with pytest.raises(ValueError, match=r"units must be distinct ints in \[0, 6\)"):
        taylor_report(model, loss_fn, (X, y), "0", units=[6])
    with pytest.raises(ValueError, match="layer 'x' is not in the model"):
        taylor_report(model, loss_fn, (X, y), "x")
    with pytest.raises(ValueError, match="'9.weight' is not a parameter"):
        weight_taylor_report(model, loss_fn, (X, y), "9.weight")
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        weight_taylor_sweep(model, loss_fn, (X, y), agsp_scores(model, loss_fn, (X, y)), [1.2])
