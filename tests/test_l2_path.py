"""§4.1 L2: small weights, never exact zeros (vs ISTA's L1 on the same path); ridge vs Lasso."""

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.algorithms import l2_train, lambda_path, lasso_cd
from nnprune.data.presets import digits_splits
from nnprune.models import mlp


@pytest.fixture(scope="module")
def splits():
    return digits_splits(seed=0)


def test_l2_path_shrinks_without_zeros_while_ista_zeros(splits):
    base = mlp((64, 32, 10), seed=0)
    lams = [1e-3, 3e-2]
    l2 = lambda_path(base, splits, lams, "l2", epochs=3, lr=0.1, small=1e-2)
    l1 = lambda_path(base, splits, lams, "ista", epochs=3, lr=0.1, small=1e-2)
    assert all(r["zero_fraction"] == 0.0 for r in l2)
    assert l2[1]["small_fraction"] > l2[0]["small_fraction"]
    assert l1[1]["zero_fraction"] > 0.3


def test_l2_train_adds_lam_w_to_the_weight_gradients_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3)).astype(np.float32)
    y = np.zeros(8, dtype=np.int64)
    norms = []
    for lam in (0.0, 1.0):
        m = mlp((3, 2), seed=0)
        b0 = m[0].bias.data.copy()
        res = l2_train(
            m,
            nn.CrossEntropyLoss(),
            optim.SGD(m.parameters(), lr=0.1),
            (X, y),
            lam=lam,
            epochs=5,
            batch_size=8,
        )
        norms.append(float(np.abs(m[0].weight.data).sum()))
        assert res.zero_fraction == 0.0
        assert not np.array_equal(m[0].bias.data, b0)  # biases train, unpenalised
    assert norms[1] < norms[0]


def test_ridge_is_never_sparse_lasso_is():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    A, b = X - X.mean(axis=0), y - y.mean()
    lam = 44.2
    ridge = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ b)
    assert np.all(ridge != 0)
    assert np.sum(lasso_cd(A, b, lam).coef == 0) >= 2


def test_l2_train_and_irls_train_errors():
    from nnprune.algorithms import irls_train

    m = mlp((3, 2), seed=0)
    X, y = np.zeros((4, 3), np.float32), np.zeros(4, np.int64)
    opt = optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lam must be"):
        l2_train(m, nn.CrossEntropyLoss(), opt, (X, y), lam=-1.0, epochs=1)
    with pytest.raises(ValueError, match="eps must be"):
        irls_train(m, nn.CrossEntropyLoss(), opt, (X, y), lam=0.1, eps=0.0, epochs=1)
    with pytest.raises(ValueError, match="refresh_every must be"):
        irls_train(m, nn.CrossEntropyLoss(), opt, (X, y), lam=0.1, refresh_every=0, epochs=1)
