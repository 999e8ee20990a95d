r"""§4.3 AGSP: the book's adaptive gradient-sensitive pruning loop, as written, and corrected.

The book: forward, backward, α_ij = ∂J/∂W_ij · |W_ij|, select the minimum α_ij, set
W_ij = 0, update, repeat. The signed minimum is the largest *negative* first-order change,
not the smallest |change|, and as in GSP the update right after revives the weight
(:func:`book_agsp`). :func:`corrected_agsp` ranks by |∂J/∂W_ij · W_ij| (the first-order
Taylor estimate of the loss change when W_ij is removed) among kept weights, with a mask.

Book: §4.3 (corrected, see docs/errata.md#s4-3-agsp).
"""

from __future__ import annotations

import numpy as np

from ._toy import book_helpers
from .s4_3_gsp import run


def book_agsp(x: np.ndarray, y: np.ndarray, W: np.ndarray, learning_rate: float,
              num_iterations: int) -> tuple[np.ndarray, list]:  # fmt: skip
    """The book's AGSP loop; returns ``W`` and the (i, j) selected at each iteration."""
    helpers = book_helpers(x)
    W, selected = W.copy(), []
    for _iteration in range(num_iterations):
        output = x @ W  # forward propagation
        gradients = helpers["compute_gradients"](helpers["compute_loss"](y, output), W)
        alpha = gradients * np.abs(W)  # α_ij = ∂J/∂W_ij · |W_ij|
        i, j = np.unravel_index(np.argmin(alpha), W.shape)  # select min α_ij
        W[i, j] = 0
        W = W - learning_rate * gradients  # update model parameters
        selected.append((int(i), int(j)))
    return W, selected


def corrected_agsp(x: np.ndarray, y: np.ndarray, W: np.ndarray, learning_rate: float,
                   num_iterations: int) -> tuple[np.ndarray, list]:  # fmt: skip
    """The same loop: smallest |∂J/∂W · W| among kept weights, masked update."""
    helpers = book_helpers(x)
    W, selected = W.copy(), []
    mask = np.ones(W.shape, bool)  # fix: remember what is pruned (errata #s4-3-agsp)
    for _iteration in range(num_iterations):
        output = x @ W
        gradients = helpers["compute_gradients"](helpers["compute_loss"](y, output), W)
        alpha = np.where(mask, np.abs(gradients * W), np.inf)  # fix: |g·W|, kept weights only
        i, j = np.unravel_index(np.argmin(alpha), W.shape)
        W[i, j], mask[i, j] = 0, False
        W = W - learning_rate * gradients * mask  # fix: pruned weights stay 0
        selected.append((int(i), int(j)))
    return W, selected


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: book and corrected AGSP with their magnitude control."""
    r = run(book_agsp, corrected_agsp, quick, seed)
    return f"book: {r['book'].line()}; corrected: {r['corrected'].line()}"
