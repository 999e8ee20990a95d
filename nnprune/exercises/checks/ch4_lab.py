"""Checks of the chapter-4 lab exercises: one IRLS step and Lasso ADMM (§4.2).

Imported by :mod:`nnprune.exercises.checks.ch4` (the worker imports one module per chapter).
The references are written here, in another form than the student's (the push-through
identity for IRLS, a stacked least-squares problem for ADMM's x-step, ISTA for the Lasso
optimum), so the exercises depend on no other part of nnprune.
"""

from __future__ import annotations

import numpy as np

from ..harness import as_array, check, compare, function, require


def _problem(seed=0, m=30, n=10):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    x_true = np.zeros(n)
    x_true[[1, 4, 7]] = [2.0, -1.5, 1.0]
    return A, A @ x_true + 0.1 * rng.normal(size=m), 3.0


def _objective(A, b, x, lam):
    return 0.5 * float(np.sum((A @ x - b) ** 2)) + lam * float(np.sum(np.abs(x)))


def _lasso_optimum(A, b, lam, iters=20000):
    """ISTA with step 1/L: the Lasso solution to about 1e-12 on these small problems."""
    step = 1.0 / np.linalg.norm(A, 2) ** 2
    x = np.zeros(A.shape[1])
    for _ in range(iters):
        v = x - step * (A.T @ (A @ x - b))
        x = np.sign(v) * np.maximum(np.abs(v) - step * lam, 0.0)
    return x


# --------------------------------------------------------------------------- IRLS
EX = "ch4.irls_step"


def _irls_ref(A, b, x, lam, eps, weight=lambda x, eps: 1.0 / (np.abs(x) + eps)):
    """x+ = D A^T (A D A^T + lam I)^{-1} b with D = diag(1 / weight): the same solution."""
    d = 1.0 / weight(x, eps)
    return d * (A.T @ np.linalg.solve((A * d) @ A.T + lam * np.eye(len(A)), b))


def _irls_loop(A, b, lam, iters, eps):
    x = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ b)
    for _ in range(iters):
        x = _irls_ref(A, b, x, lam, eps)
    return x


@check(EX, "lasso_objective: 0.5 ||Ax - b||^2 + lam ||x||_1")
def _objective_check(student):
    fn = function(student, "lasso_objective")
    A, b, lam = _problem(0)
    x = np.linspace(-1, 1, A.shape[1])
    r = A @ x - b
    compare("lasso_objective(A, b, x, lam)", fn(A.copy(), b.copy(), x.copy(), lam),
            _objective(A, b, x, lam), case="A (30, 10), lam 3",
            mistakes=[("0.5 * ||Ax - b||^2: the squared norm, halved", float(r @ r) + lam *
                       np.sum(np.abs(x))),
                      ("the L1 norm sums |x_i|, not x_i", 0.5 * float(r @ r) + lam * np.sum(x)),
                      ("the L1 penalty, not the squared L2", 0.5 * float(r @ r) + lam *
                       float(x @ x))])  # fmt: skip


@check(EX, "irls_step solves (A^T A + lam diag(1 / (|x| + eps))) x = A^T b")
def _step(student):
    fn = function(student, "irls_step")
    A, b, lam = _problem(1)
    x = np.random.default_rng(2).normal(size=A.shape[1])
    x[3] = 0.0
    for eps in (1e-6, 0.1):
        got = fn(A.copy(), b.copy(), x.copy(), lam, eps)
        truth = _irls_ref(A, b, x, lam, eps)
        compare("irls_step(A, b, x, lam, eps)", got, truth, case=f"A (30, 10), lam 3, eps {eps}",
                rtol=1e-6, atol=1e-9,
                mistakes=[("the weight is 1 / (|x| + eps), not |x| + eps: small entries get "
                           "the LARGE penalty", _irls_ref(A, b, x, lam, eps,
                                                           lambda x, e: np.abs(x) + e)),
                          ("lam, not lam / 2: the 1/2 of the quadratic bound cancels in the "
                           "derivative", _irls_ref(A, b, x, lam / 2, eps)),
                          ("reweighted L1 uses 1 / (|x| + eps), not 1 / (x^2 + eps)",
                           _irls_ref(A, b, x, lam, eps, lambda x, e: x * x + e))])  # fmt: skip


@check(EX, "irls: the loop from the ridge solution reaches the Lasso optimum")
def _loop(student):
    fn = function(student, "irls")
    A, b, lam = _problem(3)
    got = as_array(fn(A.copy(), b.copy(), lam, 30, 1e-8), "irls(A, b, lam, 30, 1e-8)")
    truth = _irls_loop(A, b, lam, 30, 1e-8)
    compare("irls(...)", got, truth, case="A (30, 10), lam 3, 30 steps, eps 1e-8",
            rtol=1e-5, atol=1e-8,
            mistakes=[("start from the ridge solution (A^T A + lam I)^-1 A^T b",
                       _irls_loop(A, b, lam, 29, 1e-8))])  # fmt: skip
    best = _lasso_optimum(A, b, lam)
    gap = _objective(A, b, got, lam) - _objective(A, b, best, lam)
    require(gap < 1e-6, f"after 30 steps the objective is {gap:.3g} above the Lasso optimum")


# --------------------------------------------------------------------------- Lasso ADMM
EX = "ch4.lasso_admm"


def _admm_ref(A, b, lam, rho, z, u, kappa=None, z_uses_u=True, x_rhs=None):
    n = A.shape[1]
    rhs = z - u if x_rhs is None else x_rhs(z, u)
    stacked = np.vstack([A, np.sqrt(rho) * np.eye(n)])
    x = np.linalg.lstsq(stacked, np.concatenate([b, np.sqrt(rho) * rhs]), rcond=None)[0]
    v = x + u if z_uses_u else x
    k = lam / rho if kappa is None else kappa
    z = np.sign(v) * np.maximum(np.abs(v) - k, 0.0)
    return x, z, u + x - z


@check(EX, "soft_threshold: sign(v) * max(|v| - kappa, 0)")
def _soft(student):
    fn = function(student, "soft_threshold")
    v = np.array([-2.0, -0.5, 0.0, 0.3, 0.5, 1.7])
    truth = np.sign(v) * np.maximum(np.abs(v) - 0.5, 0.0)
    compare("soft_threshold(v, 0.5)", fn(v.copy(), 0.5), truth, case=f"v {v.tolist()}",
            mistakes=[("that is hard thresholding: also shrink the survivors by kappa",
                       np.where(np.abs(v) > 0.5, v, 0.0))])  # fmt: skip


@check(EX, "admm_lasso_step: x by a linear solve, z by soft-threshold at lam / rho, u += x - z")
def _admm_step(student):
    fn = function(student, "admm_lasso_step")
    A, b, _ = _problem(4)
    rng = np.random.default_rng(5)
    z, u, rho, lam = rng.normal(size=10), 0.3 * rng.normal(size=10), 4.0, 1.0
    got = fn(A.copy(), b.copy(), lam, rho, z.copy(), u.copy())
    require(isinstance(got, tuple | list) and len(got) == 3,
            f"return (x, z, u), got {type(got).__name__}")  # fmt: skip
    truth = _admm_ref(A, b, lam, rho, z, u)
    case = "A (30, 10), lam 1, rho 4, random z and u"
    compare("x", got[0], truth[0], case=case,
            mistakes=[("the x-step's right-hand side is A^T b + rho (z - u)",
                       _admm_ref(A, b, lam, rho, z, u, x_rhs=lambda z, u: z + u)[0])])
    compare("z", got[1], truth[1], case=case,
            mistakes=[("threshold at lam / rho, not lam",
                       _admm_ref(A, b, lam, rho, z, u, kappa=lam)[1]),
                      ("the z-step thresholds x + u, not x",
                       _admm_ref(A, b, lam, rho, z, u, z_uses_u=False)[1])])  # fmt: skip
    compare("u", got[2], truth[2], case=case,
            mistakes=[("u + x - z, with the NEW x and z", u - truth[0] + truth[1]),
                      ("u + x - z, with the NEW x and z", u + truth[0] - z)])  # fmt: skip


@check(EX, "admm_lasso: z is exactly sparse and reaches the Lasso optimum")
def _admm_loop(student):
    fn = function(student, "admm_lasso")
    A, b, lam = _problem(6)
    got = as_array(fn(A.copy(), b.copy(), lam, 2.0, 200), "admm_lasso(A, b, lam, 2.0, 200)")
    z = u = np.zeros(A.shape[1])
    for _ in range(200):
        _, z, u = _admm_ref(A, b, lam, 2.0, z, u)
    compare("admm_lasso(...)", got, z, case="A (30, 10), lam 3, rho 2, 200 iterations",
            rtol=1e-6, atol=1e-8)
    best = _lasso_optimum(A, b, lam)
    require(bool(np.array_equal(got == 0, best == 0)),
            f"z's zeros {np.flatnonzero(got == 0).tolist()} differ from the Lasso solution's "
            f"{np.flatnonzero(best == 0).tolist()}", "return z (exactly sparse), not x")
