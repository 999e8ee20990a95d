"""Checks of chapter 4: soft-thresholding and ISTA, ADMM's Z- and U-steps, group-lasso prox,
Taylor unit importance."""

from __future__ import annotations

import numpy as np

from ..harness import check, compare, function, require


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- soft threshold
EX = "ch4.soft_threshold"


@check(EX, "soft_threshold equals nnprune.regularizers.soft_threshold")
def _soft(student):
    from ...regularizers import soft_threshold

    fn = function(student, "soft_threshold")
    V = np.array([[-2.0, -0.5, -0.1, 0.0], [0.1, 0.5, 0.7, 3.0]])
    per_entry = np.abs(_rng(0).normal(size=V.shape)) * 0.5
    for case, tau in (("tau = 0.5", 0.5), ("tau = 0", 0.0), ("a per-entry tau array", per_entry)):
        got = fn(V.copy(), tau)
        truth = soft_threshold(V, tau)
        compare("soft_threshold(V, tau)", got, truth, case=case, mistakes=[
            ("that is hard thresholding: survivors must also shrink by tau",
             np.where(np.abs(V) > tau, V, 0.0)),
            ("keep the sign: sign(V) * max(|V| - tau, 0)", np.maximum(np.abs(V) - tau, 0.0)),
            ("wrong sign", -truth),
        ])  # fmt: skip


@check(EX, "ista_step equals soft(W - lr * grad, lr * lam)")
def _ista(student):
    from ...regularizers import soft_threshold

    fn = function(student, "ista_step")
    rng = _rng(1)
    W, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    lr, lam = 0.1, 2.0
    got = fn(W.copy(), g.copy(), lr, lam)
    truth = soft_threshold(W - lr * g, lr * lam)
    compare("the new W", got, truth, case=f"lr={lr}, lam={lam}", mistakes=[
        ("the threshold of an ISTA step is lr * lam, not lam",
         soft_threshold(W - lr * g, lam)),
        ("wrong sign: step against the gradient, W - lr * grad",
         soft_threshold(W + lr * g, lr * lam)),
        ("threshold after the gradient step, not before",
         soft_threshold(W, lr * lam) - lr * g),
    ])  # fmt: skip
    require(np.count_nonzero(got) < got.size, "the ISTA step left no exact zero")


# --------------------------------------------------------------------------- ADMM
EX = "ch4.admm_updates"


@check(EX, "Z-step equals the projection of W + U (nnprune.regularizers.project_topk)")
def _zstep(student):
    from ...regularizers import project_topk

    fn = function(student, "admm_z_update")
    rng = _rng(10)
    W, U = rng.normal(size=(4, 6)), 0.5 * rng.normal(size=(4, 6))
    ties = np.array([[1.0, -1.0, 0.5], [1.0, 2.0, -1.0]])
    for case, w, u, k in (("W, U (4, 6), k=7", W, U, 7), ("k=0", W, U, 0),
                          ("k=24 (all)", W, U, 24),
                          ("ties |W + U| = 1, k=3", ties, np.zeros_like(ties), 3)):  # fmt: skip
        got = fn(w.copy(), u.copy(), k)
        truth = project_topk(w + u, k)
        compare("Z", got, truth, case=case, mistakes=[
            ("project W + U, not W: the dual variable U is part of the Z-step",
             project_topk(w, k)),
            ("keep the k LARGEST magnitudes", lambda w=w, u=u, k=k: (w + u) - project_topk(
                w + u, w.size - k)),
            ("Z holds the values of W + U on the kept support, not a 0/1 mask",
             (project_topk(w + u, k) != 0).astype(float)),
        ])  # fmt: skip


@check(EX, "U-step and three ADMM rounds equal nnprune.algorithms.ADMMState")
def _ustep(student):
    from ...algorithms import ADMMState
    from ...nn import Parameter

    z_fn, u_fn = function(student, "admm_z_update"), function(student, "admm_u_update")
    rng = _rng(11)
    p = Parameter(rng.normal(size=(5, 4)))
    state = ADMMState([p], sparsity=0.75, rho=1.0, scope="layer")
    k = int(state.masks[0].sum())
    U = np.zeros_like(p.data)
    for r in range(3):
        p.data = p.data + 0.3 * rng.normal(size=p.data.shape)  # a pretend W-step
        W = p.data.copy()
        state.update()
        Z = z_fn(W.copy(), U.copy(), k)
        truth_u = state.U[0]
        new_u = u_fn(U.copy(), W.copy(), np.asarray(Z).copy())
        case = f"round {r + 1} (k={k} of {W.size})"
        compare("Z", Z, state.Z[0], case=case)
        compare("U", new_u, truth_u, case=case, mistakes=[
            ("wrong sign: U <- U + W - Z", U - W + np.asarray(Z)),
            ("U accumulates: U <- U + (W - Z), not just W - Z", W - np.asarray(Z)),
        ])  # fmt: skip
        U = np.asarray(new_u)


# --------------------------------------------------------------------------- group lasso
EX = "ch4.group_lasso_prox"


@check(EX, "prox equals nnprune.regularizers.GroupLasso.prox (dim 0 and 1, 2-D and 4-D)")
def _group(student):
    from ...regularizers import GroupLasso

    fn = function(student, "group_lasso_prox")
    rng = _rng(20)
    lin = rng.normal(size=(5, 4))
    lin[1] *= 0.05  # a group that vanishes
    lin[3] = 0.0  # a zero group
    conv = rng.normal(size=(4, 3, 2, 2))
    for case, V, step, lam, dim in (("Linear (5, 4), dim=0", lin, 0.5, 1.0, 0),
                                    ("Linear (5, 4), dim=1", lin, 0.5, 1.0, 1),
                                    ("Conv2d (4, 3, 2, 2), dim=0", conv, 0.2, 2.0, 0),
                                    ("Conv2d (4, 3, 2, 2), dim=1", conv, 0.2, 2.0, 1)):  # fmt: skip
        with np.errstate(all="ignore"):
            got = fn(V.copy(), step, lam, dim)
        truth = GroupLasso(lam, dim).prox(V, step)
        compare("prox(V)", got, truth, case=f"{case}, step={step}, lam={lam}", mistakes=[
            ("wrong axis: dim=0 groups W[i] (norm over every other axis)",
             GroupLasso(lam, 1 - dim).prox(V, step)),
            ("that is element-wise soft-thresholding (plain L1); the group lasso shrinks a "
             "whole group by its norm",
             np.sign(V) * np.maximum(np.abs(V) - step * lam, 0)),
            ("the threshold is step * lam", GroupLasso(lam, dim).prox(V, 1.0)),
        ], hint="a zero group must stay zero: guard the division by its norm")  # fmt: skip


# --------------------------------------------------------------------------- Taylor importance
EX = "ch4.taylor_importance"


@check(EX, "scores equal nnprune's Taylor terms for (N, units) and (N, C, H, W)")
def _taylor(student):
    from ...saliency.units import taylor_terms

    fn = function(student, "taylor_unit_importance")
    rng = _rng(30)
    for case, shape in (("Linear activations (8, 5)", (8, 5)),
                        ("Conv2d activations (4, 3, 5, 5)", (4, 3, 5, 5))):  # fmt: skip
        z, dz = rng.normal(size=shape), rng.normal(size=shape)
        t = taylor_terms(z, dz)
        truth = np.abs(t).mean(axis=0)
        got = fn(z.copy(), dz.copy())
        prod = (z * dz).reshape(shape[0], shape[1], -1)
        compare("the scores", got, truth, case=case, mistakes=[
            ("take |t| per sample, then average over the batch (not |mean over the batch|)",
             np.abs(t.mean(axis=0))),
            ("the importance is |z * dJ/dz|: take the absolute value", t.mean(axis=0)),
            ("average over the positions p (1/P), do not sum",
             np.abs(prod.sum(axis=2)).mean(axis=0)),
            ("|.| of the mean over positions, not the mean of |z * dz|",
             np.abs(prod).mean(axis=(0, 2))),
        ])  # fmt: skip


@check(EX, "scores equal nnprune.saliency.gsap_scores on a real network")
def _gsap(student):
    from ...nn import CrossEntropyLoss, Linear, ReLU, Sequential
    from ...saliency import gsap_scores

    fn = function(student, "taylor_unit_importance")
    rng = _rng(31)
    model = Sequential(Linear(4, 6), ReLU(), Linear(6, 3)).double()
    for p in model.parameters():
        p.data = rng.normal(size=p.data.shape)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    loss = CrossEntropyLoss()
    h = model[1].forward(model[0].forward(X))  # the units' outputs: after the ReLU
    loss.forward(model[2].forward(h), y)
    dh = model[2].backward(loss.backward())
    truth = gsap_scores(model, loss, (X, y), "0")
    compare("the scores", fn(h.copy(), dh.copy()), truth,
            case="MLP 4-6-3, units of the hidden layer (after ReLU), 10 samples")  # fmt: skip

from . import ch4_lab  # noqa: E402, F401 - the lab exercises (IRLS step, Lasso ADMM)
