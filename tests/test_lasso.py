"""The book's linear Lasso (§4.2): ISTA, ADMM and coordinate descent against scikit-learn."""

import numpy as np
import pytest

from nnprune.algorithms import (
    lasso_admm,
    lasso_cd,
    lasso_ista,
    lasso_objective,
)
from nnprune.regularizers.l1 import soft_threshold

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    # sklearn's Lasso has an intercept and a 1/(2n) factor: centre, and lam = n * alpha
    return X, y, X - X.mean(axis=0), y - y.mean()


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5])
def test_three_solvers_agree_with_sklearn(alpha):
    X, y, A, b = _diabetes()
    sk = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    lam = len(y) * alpha
    results = {
        "ista": lasso_ista(A, b, lam, n_iter=100_000, tol=1e-12),
        "admm": lasso_admm(A, b, lam, rho=1.0, n_iter=100_000, tol=1e-10),
        "cd": lasso_cd(A, b, lam, n_iter=100_000, tol=1e-12),
    }
    for name, r in results.items():
        assert r.converged, name
        err = np.max(np.abs(r.coef - sk.coef_))
        assert err < 1e-6, f"{name} vs sklearn: max |diff| = {err:.3g}"
        # same support: the zeros are exact in ours and in sklearn's
        np.testing.assert_array_equal(r.coef == 0, sk.coef_ == 0, err_msg=name)
        intercept = y.mean() - X.mean(axis=0) @ r.coef
        assert abs(intercept - sk.intercept_) < 1e-6
    objs = [lasso_objective(A, b, r.coef, lam) for r in results.values()]
    assert max(objs) - min(objs) < 1e-6 * max(objs)


def test_larger_lambda_gives_more_zeros_and_huge_lambda_gives_all_zero():
    _, _, A, b = _diabetes()
    zeros = [int((lasso_cd(A, b, lam).coef == 0).sum()) for lam in (1.0, 50.0, 300.0)]
    assert zeros == sorted(zeros) and zeros[-1] > zeros[0]
    lam_max = np.max(np.abs(A.T @ b))  # the smallest lam with x* = 0
    for solve in (lasso_ista, lasso_cd, lasso_admm):
        assert np.all(solve(A, b, lam_max * 1.001).coef == 0), solve.__name__


def test_ista_objective_never_increases_and_admm_residuals_shrink():
    _, _, A, b = _diabetes()
    r = lasso_ista(A, b, 40.0, n_iter=2000)
    obj = np.array(r.history["objective"])
    assert np.all(np.diff(obj) <= 1e-9 * obj[0])
    a = lasso_admm(A, b, 40.0, n_iter=3000)
    assert a.history["primal_residual"][-1] < 1e-6 * max(a.history["primal_residual"])
    assert a.history["dual_residual"][-1] < 1e-6 * max(a.history["dual_residual"])


def test_lam_zero_is_least_squares():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 5))
    b = rng.normal(size=30)
    ls = np.linalg.lstsq(A, b, rcond=None)[0]
    for solve in (lasso_ista, lasso_cd, lasso_admm):
        np.testing.assert_allclose(solve(A, b, 0.0).coef, ls, atol=1e-7, err_msg=solve.__name__)


def test_soft_threshold_is_the_l1_prox():
    # prox_{t|.|}(v) = argmin_x 0.5 (x - v)^2 + t |x|, checked on a fine grid
    grid = np.linspace(-5, 5, 200_001)
    for v in (-3.0, -0.4, 0.0, 0.7, 2.5):
        best = grid[np.argmin(0.5 * (grid - v) ** 2 + 1.0 * np.abs(grid))]
        assert abs(float(soft_threshold(np.array(v), 1.0)) - best) < 1e-4


def test_errors_name_the_argument():
    A = np.ones((4, 2))
    with pytest.raises(ValueError, match="lam must be"):
        lasso_ista(A, np.ones(4), -1.0)
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        lasso_cd(A, np.ones(3), 1.0)
    with pytest.raises(ValueError, match="A must be a non-empty 2-D array"):
        lasso_admm(np.ones(4), np.ones(4), 1.0)
    with pytest.raises(ValueError, match="rho must be"):
        lasso_admm(A, np.ones(4), 1.0, rho=0.0)
    with pytest.raises(ValueError, match="n_iter must be"):
        lasso_cd(A, np.ones(4), 1.0, n_iter=0)
