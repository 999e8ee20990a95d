r"""§4.3 GSP: the book's gradient-sensitive pruning loop, as written, and corrected.

The book: forward, backward, select the (i, j) with the minimum ∂J/∂W_ij, set W_ij = 0,
update the parameters, repeat. Run as written (:func:`book_gsp`, softmax regression on the
digits, one selection per iteration) two things happen: the minimum of a *signed* gradient
is the most negative one, the weight the loss is most sensitive to; and the update right
after ``W_ij = 0`` gives the weight back −η·∂J/∂W_ij, so almost nothing stays zero.

:func:`corrected_gsp` keeps the same steps with a mask: the smallest |∂J/∂W| among the kept
weights is pruned, and the update is masked (errata #s4-3-gsp).

Book: §4.3 (corrected, see docs/errata.md#s4-3-gsp).
"""

from __future__ import annotations

import numpy as np

from ._toy import PruneResult, accuracy, book_helpers, loop_setup, magnitude_control


def book_gsp(x: np.ndarray, y: np.ndarray, W: np.ndarray, learning_rate: float,
             num_iterations: int) -> tuple[np.ndarray, list]:  # fmt: skip
    """The book's GSP loop; returns ``W`` and the (i, j) selected at each iteration."""
    helpers = book_helpers(x)
    W, selected = W.copy(), []
    for _iteration in range(num_iterations):
        output = x @ W  # forward propagation
        gradients = helpers["compute_gradients"](helpers["compute_loss"](y, output), W)
        i, j = np.unravel_index(np.argmin(gradients), W.shape)  # min ∂J/∂W_ij (signed)
        W[i, j] = 0
        W = W - learning_rate * gradients  # update model parameters
        selected.append((int(i), int(j)))
    return W, selected


def corrected_gsp(x: np.ndarray, y: np.ndarray, W: np.ndarray, learning_rate: float,
                  num_iterations: int) -> tuple[np.ndarray, list]:  # fmt: skip
    """The same loop: smallest |∂J/∂W| among the kept weights, masked update.

    On a network: :func:`nnprune.pipeline.gsp_iterative_prune`.
    """
    helpers = book_helpers(x)
    W, selected = W.copy(), []
    mask = np.ones(W.shape, bool)  # fix: remember what is pruned (errata #s4-3-gsp)
    for _iteration in range(num_iterations):
        output = x @ W
        gradients = helpers["compute_gradients"](helpers["compute_loss"](y, output), W)
        score = np.where(mask, np.abs(gradients), np.inf)  # fix: magnitude, kept weights only
        i, j = np.unravel_index(np.argmin(score), W.shape)
        W[i, j], mask[i, j] = 0, False
        W = W - learning_rate * gradients * mask  # fix: pruned weights stay 0
        selected.append((int(i), int(j)))
    return W, selected


def run(book, corrected, quick: bool = True, seed: int = 0, fraction: float = 0.5) -> dict:
    """Both loops from the trained dense W, ``fraction`` of W selected one at a time."""
    s = loop_setup(quick, seed)
    p, steps = s.problem, int(fraction * s.W0.size)
    control = magnitude_control(p, s.W0, fraction, steps, s.learning_rate)
    out = {}
    for name, fn in (("book", book), ("corrected", corrected)):
        W, sel = fn(p.x, p.y, s.W0, s.learning_rate, steps)
        out[name] = PruneResult(float(np.mean(W == 0)), fraction, len(set(sel)), len(sel),
                                accuracy(p.x_test, p.y_test, s.W0),
                                accuracy(p.x_test, p.y_test, W), control)  # fmt: skip
    return out


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: book and corrected GSP with their magnitude control."""
    r = run(book_gsp, corrected_gsp, quick, seed)
    return f"book: {r['book'].line()}; corrected: {r['corrected'].line()}"
