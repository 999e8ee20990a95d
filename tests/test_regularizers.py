"""Tests for nnprune.regularizers: L1, L2, L0 (count, prox, projection), group lasso, reweighted L1.

Every reference is computed independently: central differences for gradients,
scipy minimisation for proximal operators, brute force over supports for the
k-sparse projection, scikit-learn's Lasso for the ISTA demo.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from nnprune import nn
from nnprune.backend import cupy_available
from nnprune.gradcheck import numerical_gradient, relative_error
from nnprune.regularizers import (
    L0,
    L1,
    L2,
    GroupLasso,
    Penalty,
    ReweightedL1,
    as_parameter_list,
    group_norms,
    project_topk,
    project_topk_global,
    topk_mask,
    zero_groups,
)


def _param(rng: np.random.Generator, shape: tuple[int, ...], away_from_zero: bool = False):
    w = rng.normal(size=shape)
    if away_from_zero:  # |L1| is not differentiable at 0: keep central differences off it
        w = np.sign(w) * (np.abs(w) + 0.1)
    return nn.Parameter(w, prunable=True)


def _check_grad(penalty, p: nn.Parameter) -> None:
    analytic = penalty.grad(p.data) if not isinstance(penalty, ReweightedL1) else None
    if analytic is None:
        p.zero_grad()
        penalty.add_grad([p])
        analytic = p.grad.copy()
    numeric = numerical_gradient(lambda: penalty.value([p]), p.data)
    err = relative_error(analytic, numeric)
    assert err < 1e-6, f"{penalty!r}: analytic vs numeric gradient, relative error {err:.2e}"


# ----------------------------------------------------------------- gradients
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 2, 2), (5,)])
def test_l1_and_l2_gradients_match_central_differences(rng, shape):
    _check_grad(L1(lam=0.7), _param(rng, shape, away_from_zero=True))
    _check_grad(L2(lam=0.3), _param(rng, shape))


@pytest.mark.parametrize(
    ("shape", "dim"), [((4, 3), 0), ((4, 3), 1), ((3, 2, 2, 2), 0), ((3, 2, 2, 2), 1), ((5,), 0)]
)
def test_group_lasso_gradient_matches_central_differences(rng, shape, dim):
    _check_grad(GroupLasso(lam=0.5, dim=dim), _param(rng, shape, away_from_zero=True))


def test_reweighted_l1_gradient_matches_central_differences(rng):
    pen = ReweightedL1(lam=0.2, eps=0.05)
    p = _param(rng, (4, 3), away_from_zero=True)
    pen.update_weights([p])
    p.data = p.data + 0.01 * rng.normal(size=p.shape)  # weights refer to the old iterate
    _check_grad(pen, p)


def test_subgradient_at_zero_is_zero():
    W = np.array([0.0, 2.0, -3.0])
    np.testing.assert_array_equal(L1(lam=2.0).grad(W), [0.0, 2.0, -2.0])
    G = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(GroupLasso(lam=1.0).grad(G), [[0.0, 0.0], [0.6, 0.8]])


def test_l0_count_and_no_gradient():
    W = np.array([[0.0, 1.5], [-2.0, 0.0]])
    assert L0(lam=0.5).value(nn.Parameter(W)) == 0.5 * 2
    with pytest.raises(NotImplementedError, match="L0 has no useful gradient"):
        L0(lam=0.5).grad(W)
    with pytest.raises(NotImplementedError, match="L0 has no useful gradient"):
        L0(lam=0.5).add_grad([nn.Parameter(W)])


# ------------------------------------------------------- proximal operators
def _scalar_prox(v: float, c: float, omega) -> float:
    """argmin_x 0.5 (x - v)^2 + c * omega(x), by bounded scalar minimisation."""
    res = minimize_scalar(
        lambda x: 0.5 * (x - v) ** 2 + c * omega(x),
        bounds=(-abs(v) - 1, abs(v) + 1),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.x)


@pytest.mark.parametrize("step", [0.0, 0.1, 0.5])
def test_l1_l2_prox_is_the_argmin(rng, step):
    lam = 1.3
    V = rng.normal(size=(3, 4))
    for pen, omega in [(L1(lam), abs), (L2(lam), lambda x: 0.5 * x * x)]:
        got = pen.prox(V, step)
        ref = np.vectorize(lambda v, om=omega: _scalar_prox(v, step * lam, om))(V)
        np.testing.assert_allclose(got, ref, atol=1e-7, err_msg=repr(pen))
    if step > 0:
        assert np.any(L1(lam).prox(V, step) == 0.0), "soft-thresholding gives exact zeros"


def test_reweighted_prox_is_the_per_entry_argmin(rng):
    lam, step, eps = 0.8, 0.3, 0.1
    p = _param(rng, (3, 3))
    pen = ReweightedL1(lam, eps=eps)
    pen.update_weights(p)
    w = 1.0 / (np.abs(p.data) + eps)
    V = p.data + 0.3 * rng.normal(size=p.shape)
    got = pen.prox(V, step, weights=pen.weights_[p])
    ref = np.vectorize(lambda v, wi: _scalar_prox(v, step * lam * wi, abs))(V, w)
    np.testing.assert_allclose(got, ref, atol=1e-7)
    # before any update_weights the weights are 1: plain L1
    np.testing.assert_allclose(ReweightedL1(lam, eps).prox(V, step), L1(lam).prox(V, step))


def test_l0_prox_is_the_argmin_over_a_grid(rng):
    lam, step = 0.5, 0.4
    V = rng.normal(size=20)
    got = L0(lam).prox(V, step)
    grid = np.concatenate([np.linspace(-4, 4, 80001), [0.0]])
    for v, x in zip(V, got, strict=True):
        f = 0.5 * (grid - v) ** 2 + step * lam * (grid != 0)
        fx = 0.5 * (x - v) ** 2 + step * lam * (x != 0)
        assert fx <= f.min() + 1e-9, f"prox({v}) = {x} is not the minimiser"
    assert set(np.flatnonzero(got)) == set(np.flatnonzero(np.abs(V) > np.sqrt(2 * step * lam)))


def test_group_prox_is_the_block_argmin(rng):
    lam, step = 1.0, 0.7
    V = np.array([[0.2, -0.3, 0.1], [2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [0.5, 0.4, 0.3]])
    got = GroupLasso(lam, dim=0).prox(V, step)

    def objective(x, v):
        return 0.5 * np.sum((x - v) ** 2) + step * lam * np.linalg.norm(x)

    for g, v in enumerate(V):
        res = minimize(
            objective,
            v + 0.01,
            args=(v,),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000},
        )
        assert objective(got[g], v) <= res.fun + 1e-12, f"group {g}: formula not optimal"
        np.testing.assert_allclose(got[g], res.x, atol=1e-5, err_msg=f"group {g}")
    np.testing.assert_array_equal(zero_groups(got), [0, 2])  # ||V_g|| <= step*lam: removed


def test_group_prox_dim1_equals_dim0_on_the_transpose(rng):
    V = rng.normal(size=(5, 4))
    a = GroupLasso(2.0, dim=1).prox(V, 0.5)
    b = GroupLasso(2.0, dim=0).prox(V.T.copy(), 0.5).T
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(group_norms(V, 1), np.linalg.norm(V, axis=0))


def test_prox_keeps_dtype(rng):
    V = rng.normal(size=(3, 3)).astype(np.float32)
    for pen in [L1(0.1), L2(0.1), L0(0.1), GroupLasso(0.1), ReweightedL1(0.1)]:
        assert pen.prox(V, 0.5).dtype == np.float32, repr(pen)


# ------------------------------------------------------------- projection
def test_project_topk_is_the_euclidean_projection(rng):
    W = rng.normal(size=(2, 3))
    for k in range(W.size + 1):
        best = min(
            (np.sum((W - W * np.isin(np.arange(6), s).reshape(2, 3)) ** 2), s)
            for s in itertools.combinations(range(6), k)
        )
        ref = W * np.isin(np.arange(6), best[1]).reshape(2, 3)
        np.testing.assert_array_equal(project_topk(W, k), ref, err_msg=f"k={k}")


def test_project_topk_keeps_exactly_k_largest(rng):
    W = rng.normal(size=(8, 9))
    for k in [0, 1, 17, 72]:
        out = project_topk(W, k)
        assert np.count_nonzero(out) == k
        kept = np.abs(W[out != 0])
        dropped = np.abs(W[out == 0])
        if k and dropped.size:
            assert kept.min() >= dropped.max()
        np.testing.assert_array_equal(out[out != 0], W[out != 0])
    ties = np.ones(5)
    np.testing.assert_array_equal(topk_mask(ties, 2), [True, True, False, False, False])


def test_project_topk_global_matches_projection_of_the_concatenation(rng):
    arrays = [rng.normal(size=(3, 4)), 3 * rng.normal(size=(5,)), rng.normal(size=(2, 2, 2))]
    flat = np.concatenate([a.ravel() for a in arrays])
    for k in [0, 5, 20, flat.size]:
        out = project_topk_global(arrays, k)
        ref = project_topk(flat, k)
        np.testing.assert_array_equal(np.concatenate([o.ravel() for o in out]), ref)
        assert [o.shape for o in out] == [a.shape for a in arrays]


# ----------------------------------------------------- training plumbing
def _model(seed: int = 0):
    return nn.Sequential(nn.Linear(4, 3, seed=seed), nn.ReLU(), nn.Linear(3, 2, seed=seed + 1))


def test_module_means_its_prunable_weights():
    model = _model()
    plist = as_parameter_list(model)
    assert plist == [model[0].weight, model[2].weight]
    assert plist == [t.param for t in model.prunable_parameters()]
    ref = 0.1 * sum(np.abs(p.data).sum() for p in plist)
    assert L1(0.1).value(model) == pytest.approx(float(ref), rel=1e-6)


def test_add_grad_respects_mask_and_frozen_parameters(rng):
    p = _param(rng, (3, 4), away_from_zero=True)
    keep = rng.random(p.shape) > 0.5
    p.mask = keep
    frozen = _param(rng, (2,))
    frozen.requires_grad = False
    base = rng.normal(size=p.shape)
    p.grad[...] = base
    L1(0.5).add_grad([p, frozen])
    np.testing.assert_allclose(p.grad, base + 0.5 * np.sign(p.data) * keep)
    np.testing.assert_array_equal(p.grad[~keep], base[~keep])
    assert np.all(frozen.grad == 0)


def test_add_grad_multiplies_by_the_mask_even_where_the_gradient_is_nonzero(rng):
    class Linear(Penalty):  # Omega = sum(W): gradient 1 everywhere, also at pruned zeros
        def omega(self, W):
            return float(W.sum())

        def grad(self, W):
            return self.lam * np.ones_like(W)

    p = _param(rng, (3, 4))
    keep = rng.random(p.shape) > 0.5
    p.mask = keep
    Linear(2.0).add_grad(p)
    np.testing.assert_array_equal(p.grad, 2.0 * keep)


def test_apply_prox_keeps_the_mask_invariant_in_place(rng):
    for pen in [L1(0.5), L2(0.5), L0(0.5), GroupLasso(0.5, dim=1), ReweightedL1(0.5)]:
        p = _param(rng, (4, 5))
        keep = rng.random(p.shape) > 0.3
        p.mask = keep
        before, array = p.data.copy(), p.data
        pen.apply_prox([p], lr=0.2)
        assert p.data is array, "the update is in place (optimiser state refers to it)"
        assert np.all(p.data[~keep] == 0), repr(pen)
        np.testing.assert_allclose(p.data[keep], pen.prox(before, 0.2)[keep])


def test_reweighting_weights_follow_the_last_update(rng):
    pen = ReweightedL1(lam=1.0, eps=0.5)
    p = _param(rng, (2, 3))
    assert pen.value(p) == pytest.approx(np.abs(p.data).sum())
    old = p.data.copy()
    pen.update_weights(p)
    np.testing.assert_allclose(pen.weights_[p], 1.0 / (np.abs(old) + 0.5))
    assert pen.value(p) == pytest.approx(np.sum(np.abs(old) / (np.abs(old) + 0.5)))


def test_ista_gives_exact_zeros_and_the_lasso_solution_subgradient_does_not(rng):
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    n, d, lam = 40, 12, 4.0
    A = rng.normal(size=(n, d))
    x_true = np.zeros(d)
    x_true[:3] = [3.0, -2.0, 1.5]
    b = A @ x_true + 0.1 * rng.normal(size=n)
    lr = 1.0 / np.linalg.norm(A, 2) ** 2
    pen = L1(lam)
    ista, sub = nn.Parameter(np.zeros(d)), nn.Parameter(np.zeros(d))
    for _ in range(3000):
        ista.data = ista.data - lr * (A.T @ (A @ ista.data - b))
        pen.apply_prox(ista, lr)
        sub.zero_grad()
        sub.grad += A.T @ (A @ sub.data - b)
        pen.add_grad(sub)
        sub.data = sub.data - lr * sub.grad
    # scikit-learn minimises 1/(2n)||Ax - b||^2 + alpha ||x||_1
    ref = sklearn_linear.Lasso(alpha=lam / n, fit_intercept=False, tol=1e-12, max_iter=100000)
    ref.fit(A, b)
    np.testing.assert_allclose(ista.data, ref.coef_, atol=1e-6)
    assert np.count_nonzero(ista.data == 0) >= d - 5, "ISTA should zero the irrelevant entries"
    assert np.count_nonzero(sub.data == 0) == 0, "subgradient steps oscillate around 0"


def _regression(rng: np.random.Generator):
    x = rng.normal(size=(64, 6))
    w_true = rng.normal(size=(4, 6))
    w_true[[1, 3]] = 0.0  # two output units carry no signal
    return x, x @ w_true.T


def test_l2_add_grad_is_sgd_weight_decay(rng):
    from nnprune.optim import SGD

    x, y = _regression(rng)
    a, b = nn.Linear(6, 4, seed=0).double(), nn.Linear(6, 4, seed=0).double()
    opt_a = SGD(a.parameters(), lr=0.05, momentum=0.9)
    opt_b = SGD(b.parameters(), lr=0.05, momentum=0.9, weight_decay=0.1)
    crit, pen = nn.MSELoss(), L2(0.1)
    for _ in range(20):
        for model, opt, penalize in [(a, opt_a, True), (b, opt_b, False)]:
            model.zero_grad()
            crit.forward(model.forward(x), y)
            model.backward(crit.backward())
            if penalize:
                pen.add_grad([model.weight, model.bias])
            opt.step()
    np.testing.assert_allclose(a.weight.data, b.weight.data, rtol=1e-12)


def test_group_lasso_training_loop_removes_whole_units(rng):
    from nnprune.optim import SGD

    x, y = _regression(rng)
    layer = nn.Linear(6, 4, bias=False, seed=0).double()
    keep = np.ones((4, 6), dtype=bool)
    keep[0, 0] = False
    layer.weight.mask = keep
    lr, crit, pen = 0.05, nn.MSELoss(), GroupLasso(0.05, dim=0)
    opt = SGD(layer.parameters(), lr=lr)
    for _ in range(300):  # the package docstring's loop, proximal route
        layer.zero_grad()
        crit.forward(layer.forward(x), y)
        layer.backward(crit.backward())
        opt.step()
        pen.apply_prox(layer, lr)
    np.testing.assert_array_equal(zero_groups(layer.weight.data, 0), [1, 3])
    assert layer.weight.data[0, 0] == 0.0, "the mask survives the proximal steps"


@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
def test_cupy_matches_numpy(rng):
    import cupy as cp

    V = rng.normal(size=(6, 5))
    for pen in [L1(0.3), L2(0.3), L0(0.3), GroupLasso(0.3), ReweightedL1(0.3)]:
        np.testing.assert_allclose(cp.asnumpy(pen.prox(cp.asarray(V), 0.5)), pen.prox(V, 0.5))
    np.testing.assert_array_equal(cp.asnumpy(project_topk(cp.asarray(V), 7)), project_topk(V, 7))


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [-0.1, float("inf"), float("nan"), True, "1", None])
def test_bad_lam_is_rejected(bad):
    for cls in [L1, L2, L0, GroupLasso, ReweightedL1]:
        with pytest.raises(ValueError, match=r"lam must be a finite real number >= 0"):
            cls(bad)
    pen = L1(0.5)
    with pytest.raises(ValueError, match="lam must be"):
        pen.lam = bad
    assert pen.lam == 0.5


@pytest.mark.parametrize("bad", [0.0, -1e-3, float("inf"), "x"])
def test_bad_eps_is_rejected(bad):
    with pytest.raises(ValueError, match=r"eps must be a finite real number > 0"):
        ReweightedL1(0.1, eps=bad)


@pytest.mark.parametrize("bad", [-1, 7, 2.0, True, None])
def test_bad_k_is_rejected(bad):
    W = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 6\]"):
        project_topk(W, bad)
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 12\]"):
        project_topk_global([W, W], bad if bad != 7 else 13)


@pytest.mark.parametrize("bad", [2, -1, "0", True, None])
def test_bad_dim_is_rejected(bad):
    with pytest.raises(ValueError, match=r"dim must be 0 \(output neurons / filters\) or 1"):
        GroupLasso(0.1, dim=bad)
    with pytest.raises(ValueError, match="dim must be 0"):
        group_norms(np.ones((2, 2)), bad)


def test_wrong_types_are_rejected():
    with pytest.raises(ValueError, match=r"W must be a floating-point NumPy or CuPy array"):
        L1(0.1).grad([1.0, 2.0])
    with pytest.raises(ValueError, match=r"V must be a floating-point .* got ndarray of dtype int"):
        L2(0.1).prox(np.array([1, 2]), 0.1)
    with pytest.raises(ValueError, match=r"params must contain nnprune Parameters, got ndarray"):
        L1(0.1).value([np.ones(3)])
    with pytest.raises(ValueError, match=r"params must be a Module, a Parameter or an iterable"):
        L1(0.1).add_grad("weights")
    with pytest.raises(ValueError, match=r"arrays must be a non-empty list of arrays"):
        project_topk_global([], 0)
    with pytest.raises(ValueError, match=r"dim=1 needs an array with at least 2 axes"):
        GroupLasso(0.1, dim=1).prox(np.ones(3), 0.1)


def test_bad_step_lr_and_weights_are_rejected(rng):
    p = _param(rng, (2, 2))
    before = p.data.copy()
    with pytest.raises(ValueError, match=r"step must be a finite real number >= 0, got -0.1"):
        L1(0.1).prox(p.data, -0.1)
    with pytest.raises(ValueError, match=r"lr must be a finite real number >= 0, got -1"):
        L1(0.1).apply_prox(p, -1)
    np.testing.assert_array_equal(p.data, before)
    pen = ReweightedL1(0.1)
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 2\), got \(3,\)"):
        pen.grad(p.data, weights=np.ones(3))
    pen.update_weights(p)
    q = nn.Parameter(np.ones(3))
    pen.weights_[q] = np.ones(2)
    with pytest.raises(ValueError, match=r"have shape \(2,\) .* call update_weights again"):
        pen.apply_prox([p, q], 0.1)
    np.testing.assert_array_equal(p.data, before)  # nothing changed on error
