"""The gradient checker itself: it must catch wrong backward passes, not just pass good ones."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import (
    GradcheckError,
    GradcheckReport,
    gradcheck,
    gradcheck_loss,
    numerical_gradient,
    relative_error,
)
from nnprune.nn import Parameter


class Scale(nn.Module):
    """y = w * x**2 (per feature) with a selectable bug in backward."""

    def __init__(self, bug: str = "") -> None:
        super().__init__()
        self.weight = Parameter(np.array([0.5, -1.5, 2.0]), prunable=True)
        self.bug = bug
        self._x = None

    def forward(self, x):
        self._x = x
        return self.weight.data * x**2

    def backward(self, dout):
        x = self._x
        dw = (dout * x**2).sum(axis=0)
        dx = dout * 2 * x * self.weight.data
        if self.bug == "dx":
            dx = dout * x * self.weight.data  # forgot the factor 2
        if self.bug == "dw":
            dw = dw * 1.01  # off by one percent
        if self.bug == "mutate":
            dout *= 2.0  # writes into its argument
            dx = dout * x * self.weight.data
        self.weight.grad += dw
        return dx


class Zero(nn.Module):
    """Constant output: every gradient is zero, so a check proves nothing."""

    def forward(self, x):
        return x * 0.0

    def backward(self, dout):
        return dout * 0.0


def test_correct_backward_passes(rng):
    report = gradcheck(Scale(), rng.normal(size=(4, 3)))
    assert isinstance(report, GradcheckReport) and report.ok
    assert set(report.errors) == {"input", "weight"}
    assert report.max_error < 1e-8
    assert "gradcheck OK" in str(report)


@pytest.mark.parametrize("bug, bad", [("dx", "input"), ("dw", "weight")])
def test_wrong_backward_is_caught(bug, bad, rng):
    x = rng.normal(size=(4, 3))
    with pytest.raises(
        GradcheckError, match=f"Scale: analytic and numerical gradients disagree.*'{bad}'"
    ):
        gradcheck(Scale(bug), x)
    report = gradcheck(Scale(bug), x, raise_exception=False)
    assert not report.ok and report.errors[bad] > 1e-3
    assert "gradcheck FAILED" in str(report)


def test_one_percent_error_caught_even_with_loose_tolerance(rng):
    with pytest.raises(GradcheckError):
        gradcheck(Scale("dw"), rng.normal(size=(2, 3)), tol=1e-3)


def test_mutating_dout_is_caught(rng):
    with pytest.raises(GradcheckError, match="Scale.backward modified its dout argument"):
        gradcheck(Scale("mutate"), rng.normal(size=(2, 3)))


def test_masked_parameter_checked_on_all_entries(rng):
    mod = Scale()
    mod.weight.mask = np.array([True, False, True])
    report = gradcheck(mod, rng.normal(size=(3, 3)))
    assert report.ok
    with pytest.raises(GradcheckError, match="'weight'"):
        bad = Scale("dw")
        bad.weight.mask = np.array([True, False, True])
        gradcheck(bad, rng.normal(size=(3, 3)))


def test_refuses_float32(rng):
    layer = nn.Linear(3, 2, seed=0)
    x64 = rng.normal(size=(2, 3))
    with pytest.raises(ValueError, match="gradcheck needs float64 input, got float32; call"):
        gradcheck(layer.double(), x64.astype(np.float32))
    with pytest.raises(ValueError, match="gradcheck needs float64 parameter 'weight', got float32"):
        gradcheck(layer.float(), x64)
    with pytest.raises(ValueError, match="gradcheck needs float64 prediction, got float32"):
        gradcheck_loss(nn.MSELoss(), x64.astype(np.float32), x64)


def test_refuses_vacuous_check(rng):
    with pytest.raises(GradcheckError, match="Zero: every numerical gradient is zero"):
        gradcheck(Zero(), rng.normal(size=(2, 3)))
    relu = nn.ReLU()
    with pytest.raises(GradcheckError, match="every numerical gradient is zero"):
        gradcheck(relu, -np.abs(rng.normal(size=(2, 3))) - 0.1)  # dead ReLU


def test_gradcheck_loss(rng):
    logits, target = rng.normal(size=(4, 3)), rng.integers(0, 3, size=4)
    report = gradcheck_loss(nn.CrossEntropyLoss(), logits, target)
    assert report.ok and set(report.errors) == {"input"}

    class HalfMSE(nn.MSELoss):
        def backward(self):
            return 0.5 * super().backward()

    pred, y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    with pytest.raises(GradcheckError, match="HalfMSE: analytic and numerical gradients disagree"):
        gradcheck_loss(HalfMSE(), pred, y)


def test_check_input_false_skips_input(rng):
    report = gradcheck(Scale("dx"), rng.normal(size=(2, 3)), check_input=False)
    assert set(report.errors) == {"weight"}


def test_numerical_gradient_of_sum_of_squares(rng):
    x = rng.normal(size=(3, 4))
    before = x.copy()
    g = numerical_gradient(lambda: float((x**2).sum()), x)
    np.testing.assert_allclose(g, 2 * before, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, before)  # restored after perturbation


def test_numerical_gradient_of_cubic(rng):
    a = rng.normal(size=5)
    x = rng.normal(size=5)
    g = numerical_gradient(lambda: float(np.dot(a, x**3)), x, eps=1e-5)
    np.testing.assert_allclose(g, 3 * a * x**2, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_needs_contiguous_array():
    x = np.zeros((4, 4))[:, ::2]
    with pytest.raises(ValueError, match="needs a C-contiguous array"):
        numerical_gradient(lambda: 0.0, x)


def test_relative_error():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_output_weights_differ_from_an_input_drawn_with_the_same_seed():
    """With r = x, BatchNorm's dL/dx is O(eps) and the check would fail on rounding noise."""
    x = np.random.default_rng(0).normal(size=(4, 3))
    assert gradcheck(nn.BatchNorm1d(3).double(), x, seed=0).ok
