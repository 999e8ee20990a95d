"""Tests for HardConcreteGate (Louizos, Welling & Kingma 2018).

References are computed independently with scipy.special.expit and the
logistic distribution; gradients with nnprune.gradcheck (central differences).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from scipy.stats import logistic

from nnprune.gradcheck import gradcheck, numerical_gradient, relative_error
from nnprune.regularizers import HardConcreteGate

BETA, GAMMA, ZETA = 2.0 / 3.0, -0.1, 1.1
LOGA = np.array([-2.0, -0.5, 0.25, 2.5])  # exact in float32, the parameter's default dtype


def _gate(seed: int = 0, loga=LOGA) -> HardConcreteGate:
    return HardConcreteGate(len(loga), loga_init=np.asarray(loga), seed=seed).double()


def test_train_gates_follow_the_hard_concrete_formula(rng):
    gate = _gate(seed=11)
    x = rng.normal(size=(6, 4))
    y = gate.forward(x)
    u = np.random.default_rng(11).uniform(1e-6, 1 - 1e-6, size=(6, 4))
    s = expit((np.log(u) - np.log1p(-u) + LOGA) / BETA)
    z = np.minimum(1.0, np.maximum(0.0, s * (ZETA - GAMMA) + GAMMA))
    np.testing.assert_allclose(y, x * z, rtol=1e-12)


def test_gates_lie_in_unit_interval_with_exact_zeros_and_ones():
    gate = _gate(seed=3, loga=[0.0, 0.0])
    z = gate.forward(np.ones((5000, 2)))
    assert z.min() >= 0.0 and z.max() <= 1.0
    assert np.any(z == 0.0) and np.any(z == 1.0), "the stretch + clip must give exact 0 and 1"
    assert np.any((z > 0) & (z < 1))


def test_eval_gate_is_deterministic_formula(rng):
    gate = _gate().eval()
    ref = np.clip(expit(LOGA) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)
    np.testing.assert_allclose(gate.deterministic_gates(), ref, rtol=1e-12)
    x = rng.normal(size=(3, 4, 2, 2))
    np.testing.assert_allclose(gate.forward(x), x * ref[None, :, None, None], rtol=1e-12)
    np.testing.assert_array_equal(gate.forward(x), gate.forward(x))  # no noise in eval


def test_expected_l0_matches_logistic_tail_and_monte_carlo():
    gate = _gate(seed=5)
    # z > 0  <=>  s_bar > 0  <=>  logistic noise L > beta*logit(-gamma/(zeta-gamma)) - log alpha
    p_ref = logistic.sf(BETA * logit(-GAMMA / (ZETA - GAMMA)) - LOGA)
    np.testing.assert_allclose(gate.prob_nonzero(), p_ref, rtol=1e-10)
    assert gate.expected_l0() == pytest.approx(p_ref.sum(), rel=1e-10)
    n = 20000
    freq = (gate.forward(np.ones((n, 4))) != 0).mean(axis=0)
    sigma = np.sqrt(p_ref * (1 - p_ref) / n)
    assert np.all(np.abs(freq - p_ref) < 5 * sigma), f"MC {freq} vs expected {p_ref}"


def test_expected_l0_gradient_matches_central_differences():
    gate = _gate()
    numeric = numerical_gradient(gate.expected_l0, gate.log_alpha.data)
    err = relative_error(gate.expected_l0_grad(), numeric)
    assert err < 1e-6, f"expected-L0 gradient: analytic vs numeric relative error {err:.2e}"
    gate.zero_grad()
    gate.add_expected_l0_grad(0.5)
    np.testing.assert_allclose(gate.log_alpha.grad, 0.5 * numeric, rtol=1e-6)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 3)])
def test_gradcheck_train_mode(rng, shape):
    gate = _gate(seed=7)

    def reset_noise() -> None:
        gate.rng = np.random.default_rng(7)

    report = gradcheck(gate, rng.normal(size=shape), setup=reset_noise)
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 3)])
def test_gradcheck_eval_mode(rng, shape):
    gate = _gate(loga=[-1.0, 0.25, 0.75, 1.25]).eval()  # all inside the clip: every gradient counts
    report = gradcheck(gate, rng.normal(size=shape))
    assert report.ok, str(report)


def test_backward_does_not_mutate_dout_and_masks_clipped_gates(rng):
    gate = _gate(loga=[-9.0, 9.0]).eval()  # gate 0 clipped at 0, gate 1 clipped at 1
    x = rng.normal(size=(3, 2))
    y = gate.forward(x)
    np.testing.assert_array_equal(y, x * [0.0, 1.0])
    dout = rng.normal(size=(3, 2))
    dout_copy = dout.copy()
    dx = gate.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    np.testing.assert_array_equal(dx, dout * [0.0, 1.0])
    np.testing.assert_array_equal(gate.log_alpha.grad, [0.0, 0.0])


def test_same_seed_same_gates(rng):
    x = rng.normal(size=(4, 4))
    np.testing.assert_array_equal(_gate(seed=2).forward(x), _gate(seed=2).forward(x))


def test_float32_by_default():
    gate = HardConcreteGate(3, seed=0)
    assert gate.log_alpha.dtype == np.float32
    assert not gate.log_alpha.prunable
    np.testing.assert_array_equal(gate.log_alpha.data, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_gates": 0}, r"n_gates must be a positive integer, got 0"),
        ({"n_gates": 2, "beta": 0.0}, r"beta must be a finite real number > 0, got 0.0"),
        ({"n_gates": 2, "gamma": 0.0}, r"gamma must be a finite real number < 0, got 0.0"),
        ({"n_gates": 2, "zeta": 1.0}, r"zeta must be a finite real number > 1, got 1.0"),
        ({"n_gates": 2, "beta": "1"}, r"beta must be a finite real number > 0, got '1'"),
        ({"n_gates": 2, "loga_init": np.zeros(3)}, r"loga_init must be .* shape \(2,\)"),
        ({"n_gates": 2, "seed": -1}, r"seed must be a non-negative integer"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HardConcreteGate(**kwargs)


def test_call_errors(rng):
    gate = _gate()
    with pytest.raises(RuntimeError, match="backward called before forward"):
        gate.backward(np.ones((2, 4)))
    with pytest.raises(
        ValueError, match=r"expects 4 input channels \(axis 1\), got shape \(2, 3\)"
    ):
        gate.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(4,\)"):
        gate.forward(np.ones(4))
    with pytest.raises(ValueError, match=r"lam must be a finite real number >= 0, got -1"):
        gate.add_expected_l0_grad(-1)
