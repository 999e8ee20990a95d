"""ADMM for the L1 problem on a network (book §4.2; Boyd et al. 2011 §6.4)."""

import numpy as np
import pytest

from nnprune import nn
from nnprune.algorithms import L1ADMMState, admm_l1_train
from nnprune.models import mlp
from nnprune.nn.parameter import Parameter


def _data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def test_z_step_is_the_prox_of_the_l1_norm():
    rng = np.random.default_rng(0)
    p = Parameter(rng.normal(size=(3, 4)), name="w", prunable=True)
    state = L1ADMMState([p], lam=0.3, rho=0.5)
    state.U[0][...] = rng.normal(size=(3, 4)) * 0.2
    V = p.data + state.U[0]
    state.update()
    tau = 0.3 / 0.5
    # prox_{tau |.|}(v) = argmin_z 0.5 (z - v)^2 + tau |z|, by brute force on a grid
    grid = np.linspace(-4, 4, 80_001)
    for v, z in zip(V.ravel(), state.Z[0].ravel(), strict=True):
        best = grid[np.argmin(0.5 * (grid - v) ** 2 + tau * np.abs(grid))]
        assert abs(z - best) < 1e-4
    np.testing.assert_array_equal(state.masks[0], state.Z[0] != 0)
    np.testing.assert_allclose(state.U[0], V - state.Z[0])  # U + W - Z with the old U


def test_residuals_shrink_and_zeros_are_exact():
    X, y = _data()
    model = mlp((6, 12, 2), seed=0)
    # full-batch gradient descent W-steps: close to the exact argmin, so ADMM converges
    res = admm_l1_train(
        model,
        nn.CrossEntropyLoss(),
        (X, y),
        lam=5e-3,
        rho=0.1,
        admm_iterations=15,
        epochs_per_iteration=20,
        retrain_epochs=2,
        lr=0.5,
        momentum=0.0,
        batch_size=len(y),
    )
    r, s = res.primal_residuals, res.z_changes
    assert r[-1] < 0.25 * r[0], r
    assert s[-1] < 0.25 * s[0], s
    assert 0.3 < res.sparsity < 1.0
    for name, p in model.named_parameters():
        if name in res.masks:
            np.testing.assert_array_equal(p.data[~res.masks[name]], 0)  # exact zeros
            np.testing.assert_array_equal(p.mask, res.masks[name])


def test_larger_lambda_prunes_more():
    X, y = _data(1)
    sparsity = []
    for lam in (1e-4, 5e-3):
        model = mlp((6, 12, 2), seed=0)
        res = admm_l1_train(
            model,
            nn.CrossEntropyLoss(),
            (X, y),
            lam=lam,
            rho=0.05,
            admm_iterations=6,
            retrain_epochs=0,
            lr=0.05,
            batch_size=40,
        )
        sparsity.append(res.sparsity)
    assert sparsity[1] > sparsity[0]


def test_errors():
    X, y = _data()
    model = mlp((6, 4, 2), seed=0)
    with pytest.raises(ValueError, match="lam must be"):
        admm_l1_train(model, nn.CrossEntropyLoss(), (X, y), lam=-1.0)
    with pytest.raises(ValueError, match="rho must be"):
        admm_l1_train(model, nn.CrossEntropyLoss(), (X, y), lam=1e-3, rho=0.0)
