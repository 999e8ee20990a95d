"""IRLS (§4.2): each step against a direct weighted least-squares solve; limit = the Lasso."""

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.algorithms import (
    IRLSPenalty,
    irls_lasso,
    irls_step,
    irls_train,
    lasso_cd,
    smoothed_l1_objective,
)
from nnprune.models import mlp


def _problem(seed=0, n=40, d=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    x_true = np.zeros(d)
    x_true[:3] = [3.0, -2.0, 1.5]
    return A, A @ x_true + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_step_is_the_weighted_least_squares_solution(seed):
    A, b = _problem(seed)
    lam, eps = 5.0, 1e-3
    x = np.random.default_rng(seed + 10).normal(size=A.shape[1])
    for _ in range(5):
        w = 1.0 / (np.abs(x) + eps)
        # min ||Ax - b||^2 + lam * sum w x^2  ==  lstsq of [A; sqrt(lam w) I] x = [b; 0]
        stacked = np.vstack([A, np.diag(np.sqrt(lam * w))])
        rhs = np.concatenate([b, np.zeros(A.shape[1])])
        ref = np.linalg.lstsq(stacked, rhs, rcond=None)[0]
        x = irls_step(A, b, x, lam, eps)
        np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12)


def test_converges_to_the_lasso_solution_on_diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    A, b = X - X.mean(axis=0), y - y.mean()
    lam = 44.2  # sklearn alpha = 0.1
    ref = lasso_cd(A, b, lam, tol=1e-13).coef
    assert (ref == 0).sum() >= 2
    for eps, decay in [(1e-8, 1.0), (1e-2, 0.5)]:
        r = irls_lasso(A, b, lam, eps=eps, eps_decay=decay, n_iter=5000)
        assert r.converged
        err = np.max(np.abs(r.coef - ref))
        assert err < 1e-6, f"eps={eps}, decay={decay}: max |irls - lasso| = {err:.3g}"
    # tiny but not exactly zero where the Lasso has zeros: IRLS needs a threshold
    assert np.all(r.coef[ref == 0] != 0)


def test_fixed_eps_is_majorise_minimise_smoothed_objective_never_increases():
    A, b = _problem(3)
    r = irls_lasso(A, b, 3.0, eps=1e-3, n_iter=200)
    so = np.array(r.history["smoothed_objective"])
    assert np.all(np.diff(so) <= 1e-12 * abs(so[0]))
    x0 = np.linalg.lstsq(A, b, rcond=None)[0]
    assert so[0] <= smoothed_l1_objective(A, b, x0, 3.0, 1e-3)


def test_irls_penalty_gradient_and_refresh():
    layer = nn.Linear(3, 2, seed=0)
    W = layer.weight
    pen = IRLSPenalty(0.5, eps=0.1)
    W.grad[...] = 0
    pen.add_grad([W])
    np.testing.assert_allclose(W.grad, 0.5 * W.data)  # before a refresh: plain L2
    pen.update_weights([W])
    W.grad[...] = 0
    pen.add_grad([W])
    np.testing.assert_allclose(W.grad, 0.5 * W.data / (np.abs(W.data) + 0.1))
    expected = 0.5 * 0.5 * np.sum(W.data**2 / (np.abs(W.data) + 0.1))
    assert pen.value([W]) == pytest.approx(expected, rel=1e-12)


def test_irls_train_shrinks_weights_without_exact_zeros():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] > 0).astype(np.int64)
    norms = {}
    for lam in (0.0, 0.05):
        model = mlp((6, 8, 2), seed=0)
        res = irls_train(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            (X, y),
            lam=lam,
            eps=1e-2,
            epochs=6,
            batch_size=50,
        )
        assert len(res.penalty.weights_) == 2  # both Linear weights refreshed, biases not
        norms[lam] = sum(np.abs(p.data).sum() for _, p in model.named_parameters() if p.prunable)
        assert res.zero_fraction == 0.0
    assert norms[0.05] < 0.7 * norms[0.0]


def test_errors_name_the_argument():
    A, b = _problem()
    with pytest.raises(ValueError, match="eps must be"):
        irls_lasso(A, b, 1.0, eps=0.0)
    with pytest.raises(ValueError, match="eps_decay must be in"):
        irls_lasso(A, b, 1.0, eps_decay=1.5)
    with pytest.raises(ValueError, match=r"x must have shape \(8,\)"):
        irls_step(A, b, np.zeros(3), 1.0, 1e-3)
    with pytest.raises(ValueError, match="lam must be"):
        irls_lasso(A, b, -1.0)
