"""CrossEntropyLoss and MSELoss: gradient checks, stability, PyTorch parity, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck_loss


def _brute_force_ce(logits, target, smoothing=0.0, reduction="mean"):
    """Cross-entropy by the definition, one sample at a time (no shared code with the loss)."""
    z = logits.reshape(-1, logits.shape[-1])
    t = target.reshape(-1)
    n_classes = z.shape[1]
    losses = []
    for zi, ti in zip(z, t, strict=True):
        m = max(zi)
        lse = m + np.log(sum(np.exp(v - m) for v in zi))
        q = np.full(n_classes, smoothing / n_classes)
        q[ti] += 1.0 - smoothing
        losses.append(sum(-qc * (zc - lse) for qc, zc in zip(q, zi, strict=True)))
    return sum(losses) / (len(losses) if reduction == "mean" else 1)


# --------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_cross_entropy_gradcheck(reduction, smoothing, shape, rng):
    logits = rng.normal(size=shape)
    target = rng.integers(0, shape[-1], size=shape[:-1])
    gradcheck_loss(nn.CrossEntropyLoss(reduction, label_smoothing=smoothing), logits, target)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_gradcheck(reduction, rng):
    pred, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    gradcheck_loss(nn.MSELoss(reduction), pred, target)


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_definition(reduction, smoothing, rng):
    logits = rng.normal(scale=2.0, size=(2, 3, 5))
    target = rng.integers(0, 5, size=(2, 3))
    loss = nn.CrossEntropyLoss(reduction, label_smoothing=smoothing)(logits, target)
    expected = _brute_force_ce(logits, target, smoothing, reduction)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_backward_is_softmax_minus_onehot(rng):
    logits = rng.normal(size=(4, 3))
    target = np.array([0, 2, 1, 2])
    ce = nn.CrossEntropyLoss()
    ce(logits, target)
    e = np.exp(logits)
    expected = (e / e.sum(axis=1, keepdims=True) - np.eye(3)[target]) / 4
    np.testing.assert_allclose(ce.backward(), expected, atol=1e-15)


def test_cross_entropy_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 2.0]])
    target = np.array([1, 2])
    ce = nn.CrossEntropyLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ce(logits, target)
        grad = ce.backward()
    # sample 0: -log softmax = 1e4 - 0 (+ log(1 + e^-1e4 + ...)) = 1e4
    # sample 1: logsumexp = 1e4 + log(1 + e^-2), loss = 2 + log(1 + e^-2)
    expected = (1e4 + 2.0 + np.log1p(np.exp(-2.0))) / 2
    assert loss == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(grad))
    p1 = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(grad[1], [0.0, p1 / 2, (1 - p1 - 1) / 2], atol=1e-15)


def test_mse_matches_definition(rng):
    pred, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    mse = nn.MSELoss()
    assert mse(pred, target) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-13)
    np.testing.assert_allclose(mse.backward(), 2 * (pred - target) / 12)
    assert nn.MSELoss("sum")(pred, target) == pytest.approx(np.sum((pred - target) ** 2))


def test_loss_returns_python_float(rng):
    assert type(nn.CrossEntropyLoss()(rng.normal(size=(2, 3)), np.array([0, 1]))) is float
    assert type(nn.MSELoss()(rng.normal(size=3), rng.normal(size=3))) is float


def test_softmax_and_log_softmax(rng):
    z = rng.normal(size=(4, 5)) * 50
    s = nn.softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(s), nn.log_softmax(z), atol=1e-12)
    np.testing.assert_allclose(nn.softmax(z, axis=0).sum(axis=0), 1.0)


# ------------------------------------------------------------- PyTorch parity
@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5)])
def test_cross_entropy_matches_torch(reduction, smoothing, shape, rng):
    torch = pytest.importorskip("torch")
    logits = rng.normal(scale=3.0, size=shape)
    target = rng.integers(0, shape[-1], size=shape[:-1])
    ce = nn.CrossEntropyLoss(reduction, label_smoothing=smoothing)
    loss = ce(logits, target)
    grad = ce.backward()
    zt = torch.from_numpy(logits).requires_grad_(True)
    c = shape[-1]
    # torch wants classes on axis 1: (N, C, T)
    lt = torch.nn.functional.cross_entropy(
        zt.reshape(-1, c) if len(shape) == 2 else zt.permute(0, 2, 1),
        torch.from_numpy(target),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_matches_torch(reduction, rng):
    torch = pytest.importorskip("torch")
    pred, target = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 2))
    mse = nn.MSELoss(reduction)
    loss = mse(pred, target)
    grad = mse.backward()
    pt = torch.from_numpy(pred).requires_grad_(True)
    lt = torch.nn.functional.mse_loss(pt, torch.from_numpy(target), reduction=reduction)
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------- errors
def test_cross_entropy_errors():
    ce = nn.CrossEntropyLoss()
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match="expects integer class targets, got dtype float64"):
        ce(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 4\), got values in \[0, 4\]"):
        ce(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 4\), got values in \[-1, 1\]"):
        ce(logits, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"target shape \(2,\) does not match logits shape"):
        ce(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"expects logits of shape \(N, C\), got \(4,\)"):
        ce(np.zeros(4), np.array(1))
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward called before forward"):
        nn.CrossEntropyLoss().backward()


def test_mse_errors():
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match prediction shape"):
        nn.MSELoss()(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(RuntimeError, match="MSELoss.backward called before forward"):
        nn.MSELoss().backward()


@pytest.mark.parametrize("cls", [nn.CrossEntropyLoss, nn.MSELoss])
def test_bad_reduction(cls):
    with pytest.raises(ValueError, match=r"reduction must be one of \['mean', 'sum'\], got 'none'"):
        cls(reduction="none")


@pytest.mark.parametrize("value", [1.0, -0.1])
def test_bad_label_smoothing(value):
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\), got"):
        nn.CrossEntropyLoss(label_smoothing=value)
