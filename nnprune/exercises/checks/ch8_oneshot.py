"""Checks of chapter 8, one-shot pruning of language models (§8.1): Wanda and the OBS update.

Imported by :mod:`nnprune.exercises.checks.ch8`, so that ``checks.ch8`` registers them.
"""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require


def _layer(seed, out=6, inputs=8, tokens=20):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(out, inputs))
    X = rng.normal(size=(tokens, inputs)) * rng.uniform(0.1, 4.0, size=inputs)  # uneven norms
    return W, X


# --------------------------------------------------------------------------- Wanda
EX = "ch8.wanda_mask"


def _norms(X):
    return np.sqrt((X * X).sum(axis=0))


def _per_layer(scores, sparsity):
    k = int(sparsity * scores.shape[1]) * scores.shape[0]
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores, axis=None, kind="stable")[:k]] = False
    return keep.reshape(scores.shape)


@check(EX, "wanda_scores equals |W| * ||X_j||_2 (nnprune.prune.wanda_scores)")
def _scores(student):
    from ...prune import wanda_scores

    fn = function(student, "wanda_scores")
    for seed in (0, 1):
        W, X = _layer(seed)
        copies = (W.copy(), X.copy())
        got = fn(W, X)
        require(np.array_equal(W, copies[0]) and np.array_equal(X, copies[1]),
                "wanda_scores modified its inputs", "work on copies")  # fmt: skip
        case = f"W {W.shape}, X {X.shape} (tokens, in)"
        compare("the scores", got, wanda_scores(W, _norms(X)), case=case, mistakes=[
            ("the L2 norm ||X_j||_2, not its square: take the square root",
             np.abs(W) * (X * X).sum(axis=0)),
            ("the norm of each INPUT FEATURE j over the tokens: axis 0 of X",
             lambda W=W, X=X: np.abs(W) * np.sqrt((X * X).sum(axis=1))[None, :]),
            ("score |W|, not W: a large negative weight matters as much",
             W * _norms(X)),
            ("multiply |W| by the input norm: that is what Wanda adds to magnitude",
             np.abs(W)),
        ])  # fmt: skip


@check(EX, "wanda_mask prunes the lowest scores of EVERY ROW (nnprune.prune.wanda_mask)")
def _mask(student):
    from ...prune import wanda_mask

    fn = function(student, "wanda_mask")
    ties = (np.array([[1.0, -2.0, 2.0, 1.0], [3.0, 3.0, 3.0, 3.0]]), np.ones((3, 4)))
    cases = [("W (6, 8), 50%", *_layer(2), 0.5), ("W (6, 8), 45% (k = floor(3.6) = 3)",
             *_layer(3), 0.45), ("ties: equal scores in a row, 50%", *ties, 0.5)]  # fmt: skip
    for case, W, X, sparsity in cases:
        got = fn(W.copy(), X.copy(), sparsity)
        norms = _norms(X)
        scores = np.abs(W) * norms
        truth = wanda_mask(W, norms, sparsity)
        compare("the mask", got, truth, case=case, mistakes=[
            ("compare within each OUTPUT ROW (Wanda's group), not over the whole layer",
             _per_layer(scores, sparsity)),
            ("prune the LOWEST scores (True = kept)", ~wanda_mask(W, norms, 1 - sparsity)),
            ("the score is |W| * ||X_j||: magnitude alone is not Wanda",
             wanda_mask(W, np.ones_like(norms), sparsity)),
            ("k = floor(sparsity * in), as int() does", lambda W=W, norms=norms, s=sparsity:
             wanda_mask(W, norms, round(s * W.shape[1]) / W.shape[1])),
        ])  # fmt: skip


# --------------------------------------------------------------------------- OBS
EX = "ch8.obs_update"


def _hessian(seed, n=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 30)) + 0.5 * rng.normal(size=(1, 30))  # correlated inputs
    H = 2 * X @ X.T
    return rng.normal(size=n), H, np.linalg.inv(H)


@check(EX, "obs_update: the least-error update with w_q = 0, and its loss w_q^2 / (2 [H^-1]_qq)")
def _update(student):
    fn = function(student, "obs_update")
    for seed, q in ((0, 2), (1, 0), (2, 5)):
        w, H, H_inv = _hessian(seed)
        copies = (w.copy(), H_inv.copy())
        got = fn(w, H_inv, q)
        require(np.array_equal(w, copies[0]) and np.array_equal(H_inv, copies[1]),
                "obs_update modified its inputs", "work on a copy of w")  # fmt: skip
        kind = type(got).__name__
        require(isinstance(got, tuple | list) and len(got) == 2,
                f"obs_update must return (new_w, delta_loss), got {kind}")  # fmt: skip
        new_w, loss = as_array(got[0], "new_w"), got[1]
        case = f"w (6,), H^-1 (6, 6), q = {q}"
        d = H_inv[q, q]
        truth = w - (w[q] / d) * H_inv[:, q]
        truth[q] = 0.0
        compare("new_w", new_w, truth, case=case, atol=1e-10, mistakes=[
            ("the update is -(w_q / [H^-1]_qq) H^-1[:, q]: check the sign",
             np.where(np.arange(6) == q, 0.0, w + (w[q] / d) * H_inv[:, q])),
            ("divide by [H^-1]_qq once, not squared",
             np.where(np.arange(6) == q, 0.0, w - (w[q] / d**2) * H_inv[:, q])),
            ("only weight q is removed: the others move by delta, they are not zeroed",
             np.where(np.arange(6) == q, 0.0, w)),
        ])  # fmt: skip
        require(new_w[q] == 0.0, f"{case}: new_w[q] = {new_w[q]!r}, it must be exactly 0",
                "set new_w[q] = 0 after the update (rounding leaves a tiny rest)")  # fmt: skip
        step = new_w - w
        residual = H @ step  # optimality: H delta is zero except at q (a Lagrange multiplier)
        require(
            bool(np.allclose(np.delete(residual, q), 0.0, atol=1e-8)),
            f"{case}: H @ (new_w - w) should vanish outside q; the error is not the least",
        )
        expected = w[q] ** 2 / (2 * d)
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            raise CheckFailed(f"{case}: delta_loss must be a number, got {loss!r}") from None
        if not np.isclose(loss, expected, rtol=1e-8):
            hint = ("the loss is w_q^2 / (2 [H^-1]_qq): the factor 1/2"
                    if np.isclose(loss, 2 * expected, rtol=1e-8) else None)  # fmt: skip
            raise CheckFailed(f"{case}: delta_loss = {loss!r}, expected {expected!r}", hint)
        require(
            bool(np.isclose(0.5 * step @ H @ step, expected, rtol=1e-8)),
            f"{case}: the error 1/2 delta^T H delta of your update differs from delta_loss",
        )


@check(EX, "remove_from_inverse: equals the inverse of H without row and column q")
def _downdate(student):
    fn = function(student, "remove_from_inverse")
    for seed, q in ((3, 1), (4, 5)):
        _, H, H_inv = _hessian(seed)
        got = fn(H_inv.copy(), q)
        case = f"H^-1 (6, 6), q = {q}"
        truth = H_inv - np.outer(H_inv[:, q], H_inv[q, :]) / H_inv[q, q]
        compare("the new inverse", got, truth, case=case, rtol=1e-8, atol=1e-10, mistakes=[
            ("subtract the outer product H^-1[:, q] H^-1[q, :] / [H^-1]_qq",
             H_inv + np.outer(H_inv[:, q], H_inv[q, :]) / H_inv[q, q]),
            ("divide by [H^-1]_qq (the pivot)", H_inv - np.outer(H_inv[:, q], H_inv[q, :])),
        ])  # fmt: skip
        kept = np.delete(np.delete(as_array(got, "the new inverse"), q, 0), q, 1)
        direct = np.linalg.inv(np.delete(np.delete(H, q, 0), q, 1))
        require(
            bool(np.allclose(kept, direct, rtol=1e-6, atol=1e-10)),
            f"{case}: without row and column q it must equal inv(H without q)",
        )
