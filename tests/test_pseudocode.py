"""The book's pseudocode blocks: each transcription against an independent reference."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune.pseudocode import (
    appc,
    b1,
    b2,
    s4_2_admm,
    s4_2_irls,
    s4_2_lasso,
    s4_3_agsp,
    s4_3_gsap,
    s4_3_gsp,
    s5_3,
)
from nnprune.pseudocode._toy import (
    UndefinedInBook,
    gradient,
    lasso_ista,
    lasso_lambda,
    lasso_reference,
    loop_setup,
    regression_problem,
    run_verbatim,
    soft_threshold,
)


@pytest.fixture(scope="module")
def setup():
    return loop_setup(quick=True, seed=0, steps=60)


def iterative_hard_thresholding(setup):
    """The book's loop written independently: W ← H_t(W) − η∇L(W), gradient at the unpruned W."""
    p, W, t = setup.problem, setup.W0.copy(), setup.threshold
    for _ in range(setup.num_iterations):
        W = np.where(np.abs(W) > t, W, 0) - setup.learning_rate * gradient(p.x, p.y, W)
    return W


def test_s5_3_verbatim_text_runs_and_equals_the_function_and_ihT(setup):
    ns, error = run_verbatim(s5_3.BOOK_TEXT, setup.namespace())
    assert error == ""
    W = s5_3.book_s5_3(setup.problem.x, setup.problem.y, setup)
    assert np.array_equal(ns["W"], W)
    np.testing.assert_allclose(W, iterative_hard_thresholding(setup), rtol=1e-12, atol=1e-15)


def test_s5_3_book_w_is_not_sparse_but_corrected_is(setup):
    p = setup.problem
    W = s5_3.book_s5_3(p.x, p.y, setup)
    below = np.abs(W) <= setup.threshold
    assert below.mean() > 0.7 and np.mean(W[below] != 0) > 0.5  # small, not zero
    Wc = s5_3.corrected_s5_3(p.x, p.y, setup)
    assert np.all(Wc[np.abs(Wc) <= setup.threshold] == 0)
    assert np.mean(Wc == 0) >= np.mean(np.abs(setup.W0) <= setup.threshold)


def test_b1_and_b2_fail_on_loss_then_b1_is_the_s5_3_loop(setup):
    for text in (b1.BOOK_TEXT, b2.BOOK_TEXT):
        _, error = run_verbatim(text, setup.namespace())
        assert error == "NameError: name 'loss' is not defined"
    p = setup.problem
    assert np.array_equal(b1.book_b1(p.x, p.y, setup), s5_3.book_s5_3(p.x, p.y, setup))


def test_b1_corrected_has_the_l1_step_and_exact_zeros():
    s = loop_setup(quick=True, seed=0, steps=30, l1_lambda=0.01)
    p = s.problem
    W = b1.corrected_b1(p.x, p.y, s)
    assert np.mean(W == 0) > np.mean(np.abs(s.W0) <= s.threshold)  # the L1 step adds zeros


def test_b2_evaluates_every_iteration_the_returned_w(setup):
    s = loop_setup(quick=True, seed=0, steps=25)
    p = s.problem
    W = b2.book_b2(p.x, p.y, s)
    assert len(s.history) == 25
    assert s.history[-1] == np.mean(np.argmax(p.x_test @ W, 1) == p.y_test)


@pytest.fixture(scope="module")
def reg():
    return regression_problem()


def test_lasso_corrected_matches_sklearn_and_book_has_no_zeros(reg):
    lam = lasso_lambda(reg)
    ref = lasso_reference(reg, lam)
    W = s4_2_lasso.corrected_lasso(*reg, lam, 3000)
    np.testing.assert_allclose(W, ref, atol=1e-6)
    assert np.array_equal(W == 0, ref == 0)
    assert np.sum(s4_2_lasso.book_lasso(*reg, lam, 3000) == 0) == 0 < np.sum(ref == 0)


def test_admm_corrected_matches_sklearn_and_book_is_a_fixed_point(reg):
    lam = lasso_lambda(reg)
    z, residuals = s4_2_admm.corrected_admm(*reg, lam, 100.0, 2000)
    np.testing.assert_allclose(z, lasso_reference(reg, lam), atol=1e-6)
    assert residuals[-1] < 1e-8
    Z, changes = s4_2_admm.book_admm(*reg, lam, 1.0, 3)
    assert changes[1] == changes[2] == 0.0
    shrunk = soft_threshold(soft_threshold(lasso_ista(reg, lam), 1.0), 1.0)
    np.testing.assert_array_equal(Z, shrunk)


def test_irls_book_rule_is_explained_and_corrected_is_weighted_least_squares(reg):
    lam = lasso_lambda(reg)
    with pytest.raises(UndefinedInBook, match=r"square matrix and W has shape \(10,\)"):
        s4_2_irls.book_irls(*reg, lam, 1.0, 2)
    # one step from the least-squares start is the weighted normal equations, solved directly
    A, b = reg
    x0 = np.linalg.lstsq(A, b, rcond=None)[0]
    x1 = s4_2_irls.corrected_irls(A, b, lam, 1e-8, 2)
    w = lam / (np.abs(x0) + 1e-8)
    aug = np.vstack([A, np.diag(np.sqrt(w))])
    direct = np.linalg.lstsq(aug, np.concatenate([b, np.zeros(len(w))]), rcond=None)[0]
    np.testing.assert_allclose(x1, direct, rtol=1e-8, atol=1e-8)
    x = s4_2_irls.corrected_irls(A, b, lam, 1e-8, 200)
    np.testing.assert_allclose(x, lasso_reference(reg, lam), atol=1e-2)


def test_gsp_book_selects_the_most_negative_gradient_and_revives_it():
    s = loop_setup(quick=True, seed=0)
    p = s.problem
    W, sel = s4_3_gsp.book_gsp(p.x, p.y, s.W0, s.learning_rate, 1)
    g = gradient(p.x, p.y, s.W0)
    assert sel[0] == tuple(int(v) for v in np.unravel_index(np.argmin(g), g.shape))
    assert W[sel[0]] == pytest.approx(-s.learning_rate * g[sel[0]])  # zeroed, then revived
    Wc, selc = s4_3_gsp.corrected_gsp(p.x, p.y, s.W0, s.learning_rate, 40)
    assert len(set(selc)) == 40 and all(Wc[ij] == 0 for ij in selc)


def test_agsp_book_score_is_signed_and_corrected_prunes_distinct_weights():
    s = loop_setup(quick=True, seed=0)
    p = s.problem
    _, sel = s4_3_agsp.book_agsp(p.x, p.y, s.W0, s.learning_rate, 1)
    a = gradient(p.x, p.y, s.W0) * np.abs(s.W0)
    assert sel[0] == tuple(int(v) for v in np.unravel_index(np.argmin(a), a.shape))
    Wc, selc = s4_3_agsp.corrected_agsp(p.x, p.y, s.W0, s.learning_rate, 30)
    assert len(set(selc)) == 30 and np.sum(Wc == 0) >= 30


def test_gsap_book_removes_no_unit_corrected_removes_one_per_iteration():
    r = s4_3_gsap.run(quick=True, seed=0, fraction=0.25)
    assert r["book"].exact_zero_fraction == 0.0
    assert r["corrected"].exact_zero_fraction == 0.25


def test_gsap_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    params = s4_3_gsap.init_mlp(4, 3, 0)
    keep = np.ones(s4_3_gsap.HIDDEN)

    def loss(P):
        out = s4_3_gsap.forward_propagation(x, P, keep)[1]
        out = out - out.max(1, keepdims=True)
        logp = out - np.log(np.exp(out).sum(1, keepdims=True))
        return -logp[np.arange(5), y].mean()

    z, out = s4_3_gsap.forward_propagation(x, params, keep)
    grads, _ = s4_3_gsap.backward_propagation(x, y, params, z, out)
    for name in ("W1", "b2"):
        num = np.zeros_like(params[name])
        for idx in np.ndindex(num.shape):
            hi = {k: v.copy() for k, v in params.items()}
            lo = {k: v.copy() for k, v in params.items()}
            hi[name][idx] += 1e-6
            lo[name][idx] -= 1e-6
            num[idx] = (loss(hi) - loss(lo)) / 2e-6
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-8)


def test_appc_book_reshape_gives_784_rows_then_the_loss_fails():
    out = appc.show_book_failure(seed=0)
    assert out["output"] == (784, 10)
    assert out["error"] == "Expected input batch_size (784) to match target batch_size (64)."


def test_appc_failure_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = torch.zeros(64, 64, 28, 28).view(-1, 64 * 8 * 8)
    with pytest.raises(ValueError) as err:
        torch.nn.functional.cross_entropy(torch.zeros(len(x), 10), torch.zeros(64).long())
    assert str(err.value) == appc.show_book_failure(seed=0)["error"]


def test_appc_book_code_stops_and_fixed_flatten_trains():
    train, test, _ = appc.standin_data(0, limit=8)
    printed = appc.book_appc(train, test, flatten=appc.BOOK_FLATTEN, epochs=1)
    assert "Expected input batch_size (98)" in printed.error  # 8 images: 8*64*28*28/4096 rows
    fixed = appc.book_appc(train, test, epochs=1)
    convs = (3 * 9 + 1) * 32 + (32 * 9 + 1) * 64
    assert fixed.error == "" and fixed.parameters == convs + (50176 + 1) * 128 + (128 + 1) * 10
    assert printed.parameters == convs + (4096 + 1) * 128 + (128 + 1) * 10 == 545_098


def test_view_backward_restores_the_shape():
    v = appc.View(6)
    x = np.arange(24.0).reshape(2, 3, 4)
    assert v(x).shape == (4, 6)
    assert v.backward(np.ones((4, 6))).shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"shape '\[-1, 5\]' is invalid for input of size 24"):
        appc.View(5)(x)


def test_corrected_blocks_agree_with_the_library_solvers(reg):
    from nnprune.algorithms import irls_lasso, lasso_admm, lasso_ista

    lam = lasso_lambda(reg)
    z, _ = s4_2_admm.corrected_admm(*reg, lam, 100.0, 2000)
    np.testing.assert_allclose(z, lasso_admm(*reg, lam, rho=100.0).coef, atol=1e-8)
    np.testing.assert_allclose(s4_2_lasso.corrected_lasso(*reg, lam, 5000),
                               lasso_ista(*reg, lam).coef, atol=1e-8)  # fmt: skip
    x = s4_2_irls.corrected_irls(*reg, lam, 1e-8, 30)
    np.testing.assert_allclose(x, irls_lasso(*reg, lam, eps=1e-8, n_iter=29, tol=1e-300).coef,
                               rtol=1e-6, atol=1e-8)  # fmt: skip
