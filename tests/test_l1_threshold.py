"""The book's §7.1/§7.3 strategy (`l1_threshold_prune`) against a hand-written NumPy loop."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.pipeline import l1_threshold_prune


def _data(n=24, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, rng.integers(0, k, n)


def _ce_grads(W, b, X, y):
    """Gradients of the mean softmax cross-entropy of X W^T + b (float64)."""
    z = X @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    p /= len(y)
    return p.T @ X, p.sum(0)


def _prune(W, fraction):
    """Zero the round(fraction * n) smallest |W| (ties by position)."""
    k = int(round(fraction * W.size))
    order = np.argsort(np.abs(W).ravel(), kind="stable")[:k]
    mask = np.ones(W.size, bool)
    mask[order] = False
    return mask.reshape(W.shape)


@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_matches_a_hand_written_loop(lam):
    X, y = _data()
    model = nn.Linear(6, 3, seed=1)
    W = model.weight.data.astype(np.float64).copy()
    b = model.bias.data.astype(np.float64).copy()
    lr, epochs, l1_epochs, s = 0.5, 4, 2, 0.5
    opt = optim.SGD(model.parameters(), lr=lr)
    res = l1_threshold_prune(model, nn.CrossEntropyLoss(), opt, (X, y), names=["weight"],
                             lam=lam, sparsity=s, epochs=epochs, l1_epochs=l1_epochs,
                             batch_size=len(y), progress=False)  # fmt: skip
    mask = np.ones_like(W, bool)
    want = []
    for epoch in range(epochs):  # one full-batch step per epoch
        gW, gb = _ce_grads(W, b, X.astype(np.float64), y)
        if epoch < l1_epochs:
            gW = gW + lam * np.sign(W)
        W, b = (W - lr * gW) * mask, b - lr * gb
        if epoch < l1_epochs:
            mask = _prune(W, s * (epoch + 1) / l1_epochs)
            W = W * mask
        want.append(float((W == 0).mean()))
    np.testing.assert_allclose(model.weight.data, W, atol=1e-5)
    np.testing.assert_allclose(model.bias.data, b, atol=1e-5)
    assert res.sparsities == pytest.approx(want)
    # s*e/E1 of the 18 weights, then kept: round(0.25 * 18) = 4 (half to even), 9, 9, 9
    assert res.sparsities == pytest.approx([4 / 18, 0.5, 0.5, 0.5])
    assert len(res.history.loss) == epochs


def test_l1_term_shrinks_the_weights():
    X, y = _data()
    norms = {}
    for lam in (0.0, 0.2):
        model = nn.Linear(6, 3, seed=1)
        opt = optim.SGD(model.parameters(), lr=0.1)
        l1_threshold_prune(model, nn.CrossEntropyLoss(), opt, (X, y), names=["weight"], lam=lam,
                           sparsity=0.0, epochs=3, batch_size=8, progress=False)  # fmt: skip
        norms[lam] = float(np.abs(model.weight.data).sum())
    assert norms[0.2] < norms[0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["nope"]}, "names must name parameters of the model"),
        ({"names": []}, "names must name parameters of the model"),
        ({"l1_epochs": 5}, r"l1_epochs must be in \[1, epochs=2\], got 5"),
        ({"sparsity": 1.5}, "sparsity"),
        ({"lam": -1.0}, "lam"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    X, y = _data()
    model = nn.Linear(6, 3, seed=1)
    args = {"names": ["weight"], "lam": 0.1, "sparsity": 0.5, "epochs": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        l1_threshold_prune(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                           (X, y), **args)  # fmt: skip
