"""Sparsity-optimisation algorithms: ISTA, L1 subgradient, reweighted L1, ADMM, lambda path."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.algorithms import (
    ADMMState,
    ProximalStep,
    SoftThresholdStep,
    admm_prune,
    ista_train,
    lambda_path,
    reweighted_l1_train,
    subgradient_l1_train,
)
from nnprune.data import make_blobs, train_val_test_split
from nnprune.models import mlp
from nnprune.regularizers import L1, ReweightedL1, as_parameter_list

SIZES = (8, 24, 16, 4)


@pytest.fixture(scope="module")
def data():
    X, y = make_blobs(240, n_classes=4, n_features=8, seed=3, cluster_std=2.0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def splits(data):
    return train_val_test_split(*data, val_size=0.2, test_size=0.2, seed=0)


def soft(v: np.ndarray, tau) -> np.ndarray:
    """Soft-thresholding written out entry by entry (independent of the library)."""
    out = np.zeros_like(v)
    for idx, x in np.ndenumerate(v):
        t = tau[idx] if np.ndim(tau) else tau
        out[idx] = np.copysign(abs(x) - t, x) if abs(x) > t else 0.0
    return out


def weights(model):
    return [p.data.copy() for p in as_parameter_list(model)]


class Recorder:
    """Optimiser wrapper that snapshots the weights right after each plain SGD step."""

    def __init__(self, opt, params):
        self.opt, self.params, self.after_step = opt, params, []

    def step(self):
        self.opt.step()
        self.after_step.append([p.data.copy() for p in self.params])

    def __getattr__(self, name):
        return getattr(self.opt, name)


class Snap:
    def __init__(self, params):
        self.params, self.after_prox, self.at_epoch_end = params, [], []

    def on_step_end(self, step, model):
        self.after_prox.append([p.data.copy() for p in self.params])

    def on_epoch_end(self, epoch, history):
        self.at_epoch_end.append([p.data.copy() for p in self.params])


# ------------------------------------------------------------------ ISTA
def test_ista_every_step_is_sgd_then_soft_threshold(data):
    model = mlp(SIZES, seed=0)
    params = as_parameter_list(model)
    lr, lam = 0.1, 0.02
    rec = Recorder(optim.SGD(model.parameters(), lr=lr), params)
    snap = Snap(params)
    res = ista_train(
        model,
        nn.CrossEntropyLoss(),
        rec,
        data,
        lam=lam,
        epochs=2,
        batch_size=32,
        seed=0,
        callbacks=[snap],
        progress=False,
    )
    assert len(rec.after_step) == len(snap.after_prox) == 2 * 8
    for before, after in zip(rec.after_step, snap.after_prox, strict=True):
        for v, w in zip(before, after, strict=True):
            np.testing.assert_allclose(w, soft(v, lr * lam), rtol=0, atol=1e-7)
    zeros = sum(int((w == 0).sum()) for w in weights(model)) / sum(w.size for w in weights(model))
    assert res.zero_fraction == pytest.approx(zeros)
    assert res.zero_fraction > 0.05


def test_proximal_step_is_one_ista_step_by_hand(data):
    model = mlp(SIZES, seed=1).double()
    X, y = data[0][:32].astype(np.float64), data[1][:32]
    lr, lam = 0.05, 0.03
    opt = optim.SGD(model.parameters(), lr=lr)
    prox = ProximalStep(L1(lam), as_parameter_list(model), opt)
    w0 = weights(model)
    loss = nn.CrossEntropyLoss()
    model.zero_grad()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    grads = [p.grad.copy() for p in as_parameter_list(model)]
    opt.step()
    prox.on_step_end(0, model)
    for w, g, new in zip(w0, grads, weights(model), strict=True):
        np.testing.assert_allclose(new, soft(w - lr * g, lr * lam), atol=1e-12)


@pytest.mark.parametrize("per_entry", [False, True])
def test_soft_threshold_step_is_one_ista_step_by_hand(data, per_entry):
    model = mlp(SIZES, seed=1).double()
    X, y = data[0][:32].astype(np.float64), data[1][:32]
    lr, lam = 0.05, 0.03
    params = as_parameter_list(model)
    opt = optim.SGD(model.parameters(), lr=lr)
    factors = {id(p): np.random.default_rng(i).uniform(0.5, 2.0, p.shape) for i, p in
               enumerate(params)}  # fmt: skip
    strength = (lambda p: factors[id(p)]) if per_entry else None
    step = SoftThresholdStep(lam, params, opt, strength=strength)
    w0 = weights(model)
    loss = nn.CrossEntropyLoss()
    model.zero_grad()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    grads = [p.grad.copy() for p in params]
    opt.step()
    step.on_step_end(0, model)
    for p, w, g, new in zip(params, w0, grads, weights(model), strict=True):
        tau = lr * lam * (factors[id(p)] if per_entry else 1.0)
        np.testing.assert_allclose(new, soft(w - lr * g, tau), atol=1e-12)
    assert any(np.any(w == 0.0) for w in weights(model))


def test_soft_threshold_step_refuses_parameters_outside_the_optimizer():
    model, other = mlp(SIZES, seed=0), mlp(SIZES, seed=1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="are not in the optimizer"):
        SoftThresholdStep(0.1, as_parameter_list(other), opt)
    with pytest.raises(ValueError, match="lam must be"):
        SoftThresholdStep(-1.0, as_parameter_list(model), opt)


def test_subgradient_gives_no_exact_zeros_where_ista_does(data):
    kwargs = dict(lam=0.02, epochs=4, batch_size=32, seed=0, progress=False)
    m1, m2 = mlp(SIZES, seed=0), mlp(SIZES, seed=0)
    ista = ista_train(m1, nn.CrossEntropyLoss(), optim.SGD(m1.parameters(), lr=0.1), data, **kwargs)
    sub = subgradient_l1_train(
        m2, nn.CrossEntropyLoss(), optim.SGD(m2.parameters(), lr=0.1), data, **kwargs
    )
    assert ista.zero_fraction > 0.1
    assert sub.zero_fraction < 0.01
    small = np.mean(np.concatenate([np.abs(w).ravel() for w in weights(m2)]) < 2 * 0.1 * 0.02)
    assert small > 0.1  # the subgradient weights are small, yet not zero


def test_subgradient_step_adds_lam_sign(data):
    model = mlp(SIZES, seed=2).double()
    lr, lam = 0.1, 0.05
    w0 = weights(model)
    rec = Recorder(optim.SGD(model.parameters(), lr=lr), as_parameter_list(model))
    X, y = data[0][:16].astype(np.float64), data[1][:16]
    ref = copy.deepcopy(model)
    loss = nn.CrossEntropyLoss()
    loss.forward(ref.forward(X), y)
    ref.backward(loss.backward())
    grads = [p.grad.copy() for p in as_parameter_list(ref)]
    subgradient_l1_train(
        model,
        nn.CrossEntropyLoss(),
        rec,
        (X, y),
        lam=lam,
        epochs=1,
        batch_size=16,
        seed=0,
        progress=False,
    )
    for w, g, new in zip(w0, grads, rec.after_step[0], strict=True):
        np.testing.assert_allclose(new, w - lr * (g + lam * np.sign(w)), atol=1e-12)


# ------------------------------------------------------- reweighted L1
def test_reweighted_weights_follow_inverse_magnitude_after_refresh(data):
    model = mlp(SIZES, seed=0)
    params = as_parameter_list(model)
    eps = 0.05
    snap = Snap(params)
    res = reweighted_l1_train(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        data,
        lam=1e-3,
        eps=eps,
        refresh_every=2,
        epochs=4,
        batch_size=32,
        seed=0,
        callbacks=[snap],
        progress=False,
    )
    for p, w in zip(params, snap.at_epoch_end[3], strict=True):  # the last refresh: epoch 3
        np.testing.assert_allclose(res.penalty.weights_[p], 1.0 / (np.abs(w) + eps), rtol=1e-6)
    assert res.zero_fraction > 0


def test_reweighted_prox_uses_per_weight_threshold(rng):
    p = nn.Parameter(rng.normal(size=(5, 4)))
    pen = ReweightedL1(lam=0.1, eps=0.5)
    pen.update_weights([p])
    w_ref = p.data.copy()
    p.data = p.data + rng.normal(scale=0.1, size=(5, 4))
    v = p.data.copy()
    pen.apply_prox([p], 0.2)
    np.testing.assert_allclose(p.data, soft(v, 0.2 * 0.1 / (np.abs(w_ref) + 0.5)), atol=1e-12)


# ---------------------------------------------------------------- ADMM
def topk_by_hand(v: np.ndarray, k: int) -> np.ndarray:
    keep = np.argsort(-np.abs(v).ravel(), kind="stable")[:k]
    out = np.zeros(v.size)
    out[keep] = v.ravel()[keep]
    return out.reshape(v.shape)


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_admm_z_and_u_steps(scope, rng):
    params = [nn.Parameter(rng.normal(size=s)) for s in [(6, 10), (4, 6)]]
    state = ADMMState(params, sparsity=0.75, rho=0.1, scope=scope)
    for _ in range(3):
        U_old = [u.copy() for u in state.U]
        for p in params:
            p.data = p.data + rng.normal(scale=0.3, size=p.shape)
        state.update()
        V = [p.data + u for p, u in zip(params, U_old, strict=True)]
        if scope == "layer":
            for v, z in zip(V, state.Z, strict=True):
                k = v.size - round(0.75 * v.size)
                assert np.count_nonzero(z) == k
                np.testing.assert_array_equal(z, topk_by_hand(v, k))
        else:
            flat = np.concatenate([v.ravel() for v in V])
            zflat = topk_by_hand(flat, 84 - 63)  # 60 + 24 entries, 63 of them pruned
            np.testing.assert_array_equal(np.concatenate([z.ravel() for z in state.Z]), zflat)
        for p, u, u_old, z in zip(params, state.U, U_old, state.Z, strict=True):
            np.testing.assert_allclose(u, u_old + p.data - z, atol=1e-12)


def test_admm_grad_hook_adds_rho_w_minus_z_plus_u(rng):
    p = nn.Parameter(rng.normal(size=(3, 5)))
    state = ADMMState([p], sparsity=0.4, rho=0.7, scope="layer")
    state.U[0][...] = rng.normal(size=(3, 5))
    g0 = rng.normal(size=(3, 5))
    p.grad[...] = g0
    state.add_grad()
    np.testing.assert_allclose(p.grad, g0 + 0.7 * (p.data - state.Z[0] + state.U[0]))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_admm_prune_exact_sparsity_masks_survive_retraining(splits, scope):
    model = mlp((8, 25, 20, 4), seed=0)  # 200, 500, 80 weights: 0.9 of each is an integer
    res = admm_prune(
        model,
        nn.CrossEntropyLoss(),
        splits.train,
        splits.val,
        sparsity=0.9,
        rho=0.05,
        admm_iterations=6,
        epochs_per_iteration=2,
        retrain_epochs=3,
        lr=0.05,
        rho_growth=1.3,
        scope=scope,
        seed=0,
    )
    params = dict(model.named_parameters())
    total = sum(params[n].size for n in res.masks)
    zeros = sum(int((params[n].data == 0).sum()) for n in res.masks)
    assert zeros / total == 0.9 and res.sparsity == 0.9
    for name, mask in res.masks.items():
        np.testing.assert_array_equal(params[name].mask, mask)
        assert np.all(params[name].data[~mask] == 0)
        assert np.all(params[name].data[mask] != 0)
        if scope == "layer":
            assert int(mask.sum()) == mask.size - round(0.9 * mask.size)
    assert len(res.retrain_history) == 3
    assert res.retrain_history.val_accuracy[-1] > 0.5  # 4 classes: chance is 0.25


def test_admm_primal_residual_decreases(splits):
    model = mlp((8, 16, 4), seed=0)
    res = admm_prune(
        model,
        nn.CrossEntropyLoss(),
        splits.train,
        sparsity=0.8,
        rho=1.0,
        admm_iterations=8,
        epochs_per_iteration=2,
        retrain_epochs=0,
        lr=0.1,
        momentum=0.0,
        seed=0,
    )
    r = res.primal_residuals
    assert len(r) == 8 and len(res.z_changes) == 8 and res.rhos == [1.0] * 8
    assert r[-1] < 0.5 * r[0] and np.mean(r[-3:]) < np.mean(r[:3]), r
    assert res.retrain_history is None


def test_admm_rho_growth_keeps_the_unscaled_dual(rng):
    p = nn.Parameter(rng.normal(size=(4, 4)))
    state = ADMMState([p], sparsity=0.5, rho=0.2, scope="layer")
    state.U[0][...] = rng.normal(size=(4, 4))
    dual = 0.2 * state.U[0].copy()
    state.scale_rho(1.5)
    assert state.rho == pytest.approx(0.3)
    np.testing.assert_allclose(state.rho * state.U[0], dual)


# --------------------------------------------------------- lambda path
def test_lambda_path_ista_sparsity_grows_with_lambda(splits):
    base = mlp(SIZES, seed=0)
    before = weights(base)
    lams = [0.0, 0.003, 0.01, 0.03, 0.1]
    rows = lambda_path(base, splits, lams, "ista", epochs=3, lr=0.1, batch_size=32)
    zf = [r["zero_fraction"] for r in rows]
    assert [r["lam"] for r in rows] == lams
    assert zf[0] == 0.0 and zf[-1] > 0.5
    assert all(a <= b for a, b in zip(zf[:-1], zf[1:], strict=True)), zf
    assert all(r["small_fraction"] >= r["zero_fraction"] for r in rows)
    for w, w0 in zip(weights(base), before, strict=True):  # the starting model is untouched
        np.testing.assert_array_equal(w, w0)


def test_lambda_path_same_start_for_every_lambda(splits):
    rows = lambda_path(lambda: mlp(SIZES, seed=0), splits, [0.0, 0.0], "subgradient", epochs=1)
    assert rows[0]["accuracy"] == rows[1]["accuracy"] and rows[0]["loss"] == rows[1]["loss"]


# -------------------------------------------------------------- errors
def test_errors_by_message(data, splits):
    model = mlp(SIZES, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    before = weights(model)
    with pytest.raises(ValueError, match=r"lam must be a finite real number >= 0, got -0.1"):
        ista_train(model, loss, opt, data, lam=-0.1, epochs=1)
    with pytest.raises(ValueError, match=r"lam must be .* >= 0, got -1"):
        subgradient_l1_train(model, loss, opt, data, lam=-1, epochs=1)
    with pytest.raises(ValueError, match=r"eps must be a finite real number > 0, got 0"):
        reweighted_l1_train(model, loss, opt, data, lam=0.1, eps=0, epochs=1)
    with pytest.raises(ValueError, match=r"refresh_every must be a positive integer, got 0"):
        reweighted_l1_train(model, loss, opt, data, lam=0.1, refresh_every=0, epochs=1)
    with pytest.raises(ValueError, match=r"rho must be a finite real number > 0, got -0.5"):
        admm_prune(model, loss, data, sparsity=0.5, rho=-0.5)
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=rf"sparsity must be in \[0, 1\), got {bad}"):
            admm_prune(model, loss, data, sparsity=bad)
    with pytest.raises(ValueError, match=r"admm_iterations must be a positive integer, got 0"):
        admm_prune(model, loss, data, sparsity=0.5, admm_iterations=0)
    with pytest.raises(ValueError, match=r"scope must be one of \['layer', 'global'\], got 'net'"):
        admm_prune(model, loss, data, sparsity=0.5, scope="net")
    with pytest.raises(ValueError, match=r"rho_growth must be >= 1, got 0.5"):
        admm_prune(model, loss, data, sparsity=0.5, rho_growth=0.5)
    with pytest.raises(
        ValueError,
        match=r"method must be one of \['ista', 'reweighted', "
        r"'subgradient', 'l2', 'irls'\], got 'lasso'",
    ):
        lambda_path(model, splits, [0.1], "lasso", epochs=1)
    with pytest.raises(ValueError, match=r"lams\[1\] must be a finite real number >= 0, got -1"):
        lambda_path(model, splits, [0.1, -1], epochs=1)
    with pytest.raises(ValueError, match=r"eps must be a finite real number > 0, got -1"):
        lambda_path(model, splits, [0.1], "reweighted", epochs=1, eps=-1)
    with pytest.raises(ValueError, match=r"optimizer must be an nnprune optimizer"):
        ista_train(model, loss, object(), data, lam=0.1, epochs=1)
    for w, w0 in zip(weights(model), before, strict=True):  # nothing changed on error
        np.testing.assert_array_equal(w, w0)
    model[0].weight.mask = np.ones(model[0].weight.shape, dtype=bool)
    with pytest.raises(ValueError, match=r"admm_prune needs an unpruned model; already masked"):
        admm_prune(model, loss, data, sparsity=0.5)
