r"""§4.3 GSAP: the book's gradient-sensitive activation pruning, as written, and corrected.

The book: forward, backward, select the activation z_j with the minimum ∂J/∂z_j, set
z_j = 0, update, repeat. An activation is a value computed for one input in one forward
pass: zeroing it after the backward pass changes nothing that persists (the next forward
pass computes it again), so run as written (:func:`book_gsap`, an MLP 64-32-10 on the
digits) no unit is ever removed and the loop is plain gradient descent.

:func:`corrected_gsap` removes whole hidden units, ranked by the batch mean of
|z_j · ∂J/∂z_j| (Molchanov et al. 2017), with a unit mask kept through the updates
(errata #s4-3-gsap).

Book: §4.3 (corrected, see docs/errata.md#s4-3-gsap).
"""

from __future__ import annotations

import numpy as np

from ._toy import PruneResult, loop_setup, softmax

HIDDEN = 32


def init_mlp(n_in: int, n_out: int, seed: int) -> dict[str, np.ndarray]:
    """An MLP n_in-32-n_out (He-scaled normal weights, zero biases)."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, np.sqrt(2 / n_in), (n_in, HIDDEN)), "b1": np.zeros(HIDDEN),
        "W2": rng.normal(0, np.sqrt(2 / HIDDEN), (HIDDEN, n_out)), "b2": np.zeros(n_out),
    }  # fmt: skip


def forward_propagation(x: np.ndarray, params: dict, keep: np.ndarray) -> tuple:
    """Hidden activations z (ReLU, dropped units 0) and the output logits."""
    z = np.maximum(x @ params["W1"] + params["b1"], 0.0) * keep
    return z, z @ params["W2"] + params["b2"]


def backward_propagation(x, y, params, z, output) -> tuple[dict, np.ndarray]:
    """Gradients of the mean cross-entropy: parameters, and ∂J/∂z of every activation."""
    d = softmax(output)
    d[np.arange(len(y)), y] -= 1.0
    d /= len(y)
    dz = d @ params["W2"].T
    dpre = dz * (z > 0)
    grads = {"W2": z.T @ d, "b2": d.sum(0), "W1": x.T @ dpre, "b1": dpre.sum(0)}
    return grads, dz


def update_parameters(params: dict, grads: dict, learning_rate: float) -> dict:
    """One gradient step on every parameter."""
    return {k: params[k] - learning_rate * grads[k] for k in params}


def _accuracy(x, y, params, keep) -> float:
    return float(np.mean(np.argmax(forward_propagation(x, params, keep)[1], 1) == y))


def book_gsap(x, y, params: dict, learning_rate: float, num_iterations: int) -> tuple:
    """The book's GSAP loop; returns the parameters, the kept units and the selections."""
    keep = np.ones(HIDDEN)
    selected = []
    for _iteration in range(num_iterations):
        z, output = forward_propagation(x, params, keep)
        grads, dz = backward_propagation(x, y, params, z, output)
        n, j = np.unravel_index(np.argmin(dz), dz.shape)  # select z_j with min ∂J/∂z_j
        z[n, j] = 0  # set z_j = 0: this pass's value for one input, gone at the next pass
        params = update_parameters(params, grads, learning_rate)
        selected.append((int(n), int(j)))
    return params, keep, selected


def corrected_gsap(x, y, params: dict, learning_rate: float, num_iterations: int) -> tuple:
    """The same loop: remove the unit with the smallest mean |z_j · ∂J/∂z_j| each time.

    On a network: :func:`nnprune.saliency.gsap_prune`.
    """
    keep = np.ones(HIDDEN)  # fix: a unit mask that persists (errata #s4-3-gsap)
    selected = []
    for _iteration in range(num_iterations):
        z, output = forward_propagation(x, params, keep)
        grads, dz = backward_propagation(x, y, params, z, output)
        score = np.where(keep > 0, np.abs(z * dz).mean(axis=0), np.inf)  # fix: per unit
        j = int(np.argmin(score))
        keep[j] = 0  # fix: the whole unit, for good
        params = update_parameters(params, grads, learning_rate)
        selected.append((-1, j))
    return params, keep, selected


def _control(x, y, xt, yt, params, fraction, steps, lr) -> float:
    """Remove the units with the smallest outgoing-weight norm, train ``steps`` steps."""
    keep = np.ones(HIDDEN)
    keep[np.argsort(np.linalg.norm(params["W2"], axis=1))[: int(fraction * HIDDEN)]] = 0
    for _ in range(steps):
        z, output = forward_propagation(x, params, keep)
        params = update_parameters(params, backward_propagation(x, y, params, z, output)[0], lr)
    return _accuracy(xt, yt, params, keep)


def run(quick: bool = True, seed: int = 0, fraction: float = 0.5) -> dict[str, PruneResult]:
    """Train the MLP dense, then both loops for ``fraction`` of the 32 hidden units."""
    p, lr = loop_setup(quick, seed).problem, 0.5
    params, keep = init_mlp(p.x.shape[1], 10, seed), np.ones(HIDDEN)
    for _ in range(300 if quick else 1000):
        z, output = forward_propagation(p.x, params, keep)
        params = update_parameters(params, backward_propagation(p.x, p.y, params, z, output)[0],
                                   lr)  # fmt: skip
    dense = _accuracy(p.x_test, p.y_test, params, keep)
    steps = int(fraction * HIDDEN)
    control = _control(p.x, p.y, p.x_test, p.y_test, params, fraction, steps, lr)
    out = {}
    for name, fn in (("book", book_gsap), ("corrected", corrected_gsap)):
        new, kept, sel = fn(p.x, p.y, params, lr, steps)
        acc = _accuracy(p.x_test, p.y_test, new, kept)
        removed = float(np.mean(kept == 0))
        out[name] = PruneResult(removed, fraction, len(set(sel)), len(sel), dense, acc, control)
    return out


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: units removed by the book's loop and by the corrected one."""
    r = run(quick, seed)
    b, c = r["book"], r["corrected"]
    return (
        f"book: {b.selections} activations zeroed, {b.exact_zero_fraction:.0%} of the 32 units "
        f"removed, accuracy {b.acc:.3f}; corrected: {c.exact_zero_fraction:.0%} removed, "
        f"accuracy {c.acc:.3f} (outgoing-norm control {c.control_acc:.3f}, dense {c.acc_dense:.3f})"
    )
