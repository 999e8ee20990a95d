"""Gradient saliencies (GSP, AGSP, SNIP), unit saliency (GSAP) and OBD, against brute force."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.gradcheck import numerical_gradient
from nnprune.models import mlp, small_cnn
from nnprune.nn.parameter import masks_lifted
from nnprune.saliency import (
    agsp_scores,
    book_gsp_select,
    gsap_prune,
    gsap_scores,
    gsp_scores,
    hessian_diagonal,
    obd_scores,
    signed_gradients,
    snip,
    snip_scores,
)


def _data(n: int, d: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return g.normal(size=(n, d)), g.integers(0, classes, n)


def _tiny() -> nn.Sequential:
    model = mlp((4, 5, 3), seed=3).double()
    keep = np.ones((5, 4), bool)
    keep[1, 2] = False  # a pruned weight: its gradient must still be reported (dense contract)
    prune.custom_from_mask(model[0], "weight", keep)
    return model


def _numeric_grads(model, loss_fn, xb, yb) -> dict[str, np.ndarray]:
    model.eval()
    out = {}
    for name, p in model.named_parameters():
        if p.prunable:
            with masks_lifted([p]):  # the dense gradient, pruned entries included
                out[name] = numerical_gradient(lambda: loss_fn(model(xb), yb), p.data)
    model.train()
    return out


def test_gradient_scores_match_numerical_gradients() -> None:
    model, loss_fn = _tiny(), nn.CrossEntropyLoss()
    X, y = _data(10, 4, 3)
    batches = [(X[s : s + 4], y[s : s + 4]) for s in (0, 4, 8)]  # sizes 4, 4, 2
    grads = [_numeric_grads(model, loss_fn, xb, yb) for xb, yb in batches]
    weights = {n: p.data.copy() for n, p in model.named_parameters() if p.prunable}
    gsp = gsp_scores(model, loss_fn, (X, y), batch_size=4)
    agsp = agsp_scores(model, loss_fn, (X, y), batch_size=4)
    agsp2 = agsp_scores(model, loss_fn, (X, y), batch_size=4, squared=True)
    signed = signed_gradients(model, loss_fn, (X, y), batch_size=4)
    assert set(gsp) == {"0.weight", "2.weight"}
    for n, w in weights.items():
        np.testing.assert_allclose(gsp[n], np.mean([abs(g[n]) for g in grads], 0), atol=1e-9)
        np.testing.assert_allclose(agsp[n], np.mean([abs(w * g[n]) for g in grads], 0), atol=1e-9)
        np.testing.assert_allclose(
            agsp2[n], np.mean([(w * g[n]) ** 2 for g in grads], 0), atol=1e-9
        )
        np.testing.assert_allclose(signed[n], np.mean([g[n] for g in grads], 0), atol=1e-9)
    assert gsp["0.weight"][1, 2] > 0  # the pruned weight's dense gradient
    # n_batches caps the batches
    first = gsp_scores(model, loss_fn, (X, y), batch_size=4, n_batches=1)
    np.testing.assert_allclose(first["2.weight"], abs(grads[0]["2.weight"]), atol=1e-9)


def test_scoring_leaves_model_mode_and_grads() -> None:
    model, loss_fn = (
        mlp((4, 5, 3), batchnorm=True, dropout=0.5, seed=0).double(),
        nn.CrossEntropyLoss(),
    )
    model.train()
    for p in model.parameters():
        p.grad[...] = 7.0
    running = model[1].running_mean.copy()
    gsp_scores(model, loss_fn, _data(8, 4, 3))
    gsap_scores(model, loss_fn, _data(8, 4, 3), "0")
    assert all(m.training for m in model.modules())
    assert all(np.all(p.grad == 7.0) for p in model.parameters())
    np.testing.assert_array_equal(model[1].running_mean, running)


def test_agsp_is_abs_signed_gradient_times_weight_for_one_batch() -> None:
    model, loss_fn = _tiny(), nn.CrossEntropyLoss()
    data = _data(6, 4, 3, seed=5)
    signed = signed_gradients(model, loss_fn, data)
    agsp = agsp_scores(model, loss_fn, data)
    for n, p in model.named_parameters():
        if p.prunable:
            np.testing.assert_allclose(agsp[n], np.abs(signed[n] * p.data), rtol=1e-12)


def test_snip_scores_sum_to_one_and_keep_exact_top_kappa() -> None:
    model, loss_fn = mlp((6, 10, 4), seed=1).double(), nn.CrossEntropyLoss()
    batch = _data(12, 6, 4, seed=2)
    grads = _numeric_grads(model, loss_fn, *batch)
    raw = {n: np.abs(p.data * grads[n]) for n, p in model.named_parameters() if p.prunable}
    total = sum(r.sum() for r in raw.values())
    scores = snip_scores(model, loss_fn, batch)
    assert sum(s.sum() for s in scores.values()) == pytest.approx(1.0, abs=1e-12)
    for n in raw:
        np.testing.assert_allclose(scores[n], raw[n] / total, rtol=1e-6)
    snip(model, loss_fn, batch, sparsity=0.9)
    m = 6 * 10 + 10 * 4
    kept = sum(int(model[i].weight.mask.sum()) for i in (0, 2))
    assert kept == m - round(0.9 * m)
    flat = np.concatenate([raw["0.weight"].ravel(), raw["2.weight"].ravel()])
    mask = np.concatenate([model[0].weight.mask.ravel(), model[2].weight.mask.ravel()])
    assert flat[mask].min() > flat[~mask].max()  # the kept ones are the top kappa


def test_book_signed_minimum_picks_the_most_sensitive_weight() -> None:
    # J = mean_i (w_i - y_i)^2 over 3 one-hot samples: g_i = (2/3)(w_i - y_i) = (-5, 0.01, 5)
    layer = nn.Linear(3, 1, bias=False).double()
    layer.weight.data = np.ones((1, 3))
    model, loss_fn = nn.Sequential(layer), nn.MSELoss()
    target = np.array([1 + 7.5, 1 - 0.015, 1 - 7.5])[:, None]
    data = (np.eye(3), target)
    signed = signed_gradients(model, loss_fn, data)
    np.testing.assert_allclose(signed["0.weight"], [[-5.0, 0.01, 5.0]], atol=1e-12)
    assert book_gsp_select(signed, 1) == [("0.weight", 0)]  # |g| = 5: the most sensitive
    gsp = gsp_scores(model, loss_fn, data)
    prune.to_sparsity(model, 1 / 3, gsp)
    np.testing.assert_array_equal(layer.weight.mask, [[True, False, True]])

    def loss_without(i: int) -> float:
        w = np.ones(3)
        w[i] = 0.0
        return float(np.mean((w - target[:, 0]) ** 2))

    assert loss_without(0) - loss_without(1) > 1.0  # the book's choice hurts far more


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_to_sparsity_with_saliency_scores_exact_counts(scope: str) -> None:
    model = mlp((8, 6, 4), seed=0)
    g = np.random.default_rng(0)
    scores = {"0.weight": g.random((6, 8)), "2.weight": g.random((4, 6))}
    prune.to_sparsity(model, 0.25, scores, scope=scope)
    prune.to_sparsity(model, 0.5, scores, scope=scope)  # a second step: masks only grow
    m0, m2 = model[0].weight.mask, model[2].weight.mask
    if scope == "global":
        assert (~m0).sum() + (~m2).sum() == round(0.5 * 72)
        flat = np.concatenate([scores["0.weight"].ravel(), scores["2.weight"].ravel()])
        mask = np.concatenate([m0.ravel(), m2.ravel()])
        assert flat[mask].min() > flat[~mask].max()
    else:
        assert (~m0).sum() == 24 and (~m2).sum() == 12
        assert scores["0.weight"][m0].min() > scores["0.weight"][~m0].max()
    assert np.all(model[0].weight.data[~m0] == 0)


def test_to_sparsity_with_saliency_scores_errors() -> None:
    model = mlp((4, 3, 2), seed=0)
    good = {"0.weight": np.ones((3, 4))}
    one = ["0.weight"]
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.5"):
        prune.to_sparsity(model, 1.5, good, names=one)
    with pytest.raises(ValueError, match="scope must be one of"):
        prune.to_sparsity(model, 0.5, good, scope="row", names=one)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['9.weight'\]"):
        prune.to_sparsity(model, 0.5, {"9.weight": np.ones((3, 4))}, names=one)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['0.bias'\]"):
        prune.to_sparsity(model, 0.5, {**good, "0.bias": np.ones(3)}, names=one)
    with pytest.raises(ValueError, match=r"must have the parameter's shape \(3, 4\)"):
        prune.to_sparsity(model, 0.5, {"0.weight": np.ones((4, 3))}, names=one)
    prune.to_sparsity(model, 0.5, good, names=one)
    with pytest.raises(ValueError, match="below the current sparsity 0.5000"):
        prune.to_sparsity(model, 0.25, good, names=one)
    assert model[2].weight.mask is None
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        snip(model, nn.CrossEntropyLoss(), _data(4, 4, 2), 1.0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        gsp_scores(model, nn.CrossEntropyLoss(), _data(4, 4, 2), batch_size=0)
    with pytest.raises(ValueError, match="same number of samples"):
        gsp_scores(model, nn.CrossEntropyLoss(), (np.ones((4, 4)), np.zeros(3, int)))


# ---------------------------------------------------------------- GSAP (units)
def _scaled_loss(model, loss_fn, X, y, point, n, j, alpha) -> float:
    """Loss with unit j of sample n scaled by alpha at the output of layer ``point``."""
    model.eval()
    x = X
    for k, layer in enumerate(model):
        x = layer.forward(x)
        if k == point:
            x = x.copy()
            x[n, j] *= alpha
    return float(loss_fn.forward(x, y))


def _brute_terms(model, loss_fn, X, y, point, n_units, positions) -> np.ndarray:
    """t[n, j] = (1/P) dJ/d(alpha) at alpha = 1, by central differences."""
    t = np.zeros((X.shape[0], n_units))
    h = 1e-6
    for n in range(X.shape[0]):
        for j in range(n_units):
            up = _scaled_loss(model, loss_fn, X, y, point, n, j, 1 + h)
            down = _scaled_loss(model, loss_fn, X, y, point, n, j, 1 - h)
            t[n, j] = (up - down) / (2 * h) / positions
    return t


def _bn_mlp() -> nn.Sequential:
    model = mlp((5, 6, 4, 3), batchnorm=True, seed=4).double()
    g = np.random.default_rng(9)
    model[1].running_mean = g.normal(size=6)
    model[1].running_var = g.random(6) + 0.5
    model[1].bias.data = g.normal(size=6)
    return model


def test_gsap_scores_match_brute_force_on_mlp_with_batchnorm() -> None:
    model, loss_fn = _bn_mlp(), nn.CrossEntropyLoss()
    X, y = _data(8, 5, 3, seed=1)
    halves = [(X[:4], y[:4]), (X[4:], y[4:])]
    # the unit's output as the next Linear reads it: after BatchNorm (1) and ReLU (2)
    terms = [_brute_terms(model, loss_fn, xb, yb, 2, 6, 1) for xb, yb in halves]
    mean_abs = np.mean([np.abs(t).mean(0) for t in terms], 0)
    abs_mean = np.mean([np.abs(t.mean(0)) for t in terms], 0)
    got = gsap_scores(model, loss_fn, (X, y), "0", batch_size=4)
    np.testing.assert_allclose(got, mean_abs, rtol=1e-5, atol=1e-10)
    got = gsap_scores(model, loss_fn, (X, y), model[0], batch_size=4, reduction="abs_mean")
    np.testing.assert_allclose(got, abs_mean, rtol=1e-5, atol=1e-10)
    normed = gsap_scores(model, loss_fn, (X, y), "0", batch_size=4, normalize=True)
    np.testing.assert_allclose(normed, mean_abs / np.linalg.norm(mean_abs), rtol=1e-5)


def _cnn() -> nn.Sequential:
    return small_cnn(1, 3, image_size=4, channels=(3,), seed=2).double()


def test_gsap_scores_match_brute_force_on_conv_filters() -> None:
    model, loss_fn = _cnn(), nn.CrossEntropyLoss()
    g = np.random.default_rng(3)
    X, y = g.normal(size=(5, 1, 4, 4)), g.integers(0, 3, 5)
    # Conv(0) -> ReLU(1) -> MaxPool(2) -> Flatten: the Linear reads the 2x2 pooled maps
    t = _brute_terms(model, loss_fn, X, y, 2, 3, positions=4)
    got = gsap_scores(model, loss_fn, (X, y), "0", reduction="abs_mean")
    np.testing.assert_allclose(got, np.abs(t.mean(0)), rtol=1e-5, atol=1e-10)


def test_gsap_prune_removes_lowest_units_and_matches_masked_model() -> None:
    model, loss_fn = _cnn(), nn.CrossEntropyLoss()
    g = np.random.default_rng(4)
    X, y = g.normal(size=(6, 1, 4, 4)), g.integers(0, 3, 6)
    t = _brute_terms(model, loss_fn, X, y, 2, 3, positions=4)
    expected = np.sort(np.argsort(np.abs(t).mean(0))[:2])
    masked = copy.deepcopy(model)
    record = gsap_prune(model, loss_fn, (X, y), "0", 2, input_shape=(1, 4, 4))
    assert record.removed == tuple(int(j) for j in expected)
    assert model[0].weight.shape == (1, 1, 3, 3) and model[4].weight.shape == (3, 4)
    prune.mask_units(masked, "0", list(expected), input_shape=(1, 4, 4))
    model.eval()
    masked.eval()
    np.testing.assert_allclose(model.forward(X), masked.forward(X), atol=1e-12)


def test_gsap_errors() -> None:
    model, loss_fn, data = _bn_mlp(), nn.CrossEntropyLoss(), _data(4, 5, 3)
    with pytest.raises(ValueError, match="layer '7' is not in the model"):
        gsap_scores(model, loss_fn, data, "7")
    with pytest.raises(ValueError, match="layer '2' is a ReLU; only Linear and Conv2d"):
        gsap_scores(model, loss_fn, data, "2")
    with pytest.raises(ValueError, match="reduction must be one of"):
        gsap_scores(model, loss_fn, data, "0", reduction="max")
    with pytest.raises(ValueError, match="cannot remove units of layer '6'"):
        gsap_prune(model, loss_fn, data, "6", 1)

    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(5, 3)

    with pytest.raises(ValueError, match="needs an nn.Sequential model"):
        gsap_scores(Custom(), loss_fn, data, "fc")


# ---------------------------------------------------------------------- OBD
def test_obd_hessian_diagonal_matches_closed_form() -> None:
    # MSE of a Linear layer: d2J/dW_ok^2 = 2 / (N * out) * sum_n x_nk^2 (exact, quadratic loss)
    layer = nn.Linear(3, 2, seed=0).double()
    model, loss_fn = nn.Sequential(layer), nn.MSELoss()
    g = np.random.default_rng(0)
    X, Y = g.normal(size=(7, 3)), g.normal(size=(7, 2))
    expected = np.tile(2.0 / (7 * 2) * (X**2).sum(0), (2, 1))
    np.testing.assert_allclose(
        hessian_diagonal(model, loss_fn, (X, Y), "0.weight"), expected, rtol=1e-6
    )
    w = layer.weight.data.copy()
    np.testing.assert_allclose(
        obd_scores(model, loss_fn, (X, Y), "0.weight"), 0.5 * expected * w * w, rtol=1e-6
    )
    np.testing.assert_array_equal(layer.weight.data, w)
    with pytest.raises(ValueError, match="'0.kernel' is not a parameter"):
        obd_scores(model, loss_fn, (X, Y), "0.kernel")
    with pytest.raises(ValueError, match="eps must be a finite real number > 0"):
        hessian_diagonal(model, loss_fn, (X, Y), "0.weight", eps=0.0)


def test_to_sparsity_refuses_signed_scores():
    from nnprune import nn

    model = nn.Sequential(nn.Linear(4, 3, seed=0))
    signed = {"0.weight": np.linspace(-1.0, 1.0, 12).reshape(3, 4)}
    with pytest.raises(ValueError, match=r"must be non-negative importances .* minimum of -1"):
        prune.to_sparsity(model, 0.5, signed)
    assert model[0].weight.mask is None
