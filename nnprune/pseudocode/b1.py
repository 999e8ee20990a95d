r"""Appendix B.1 稀疏性优化算法伪代码: the "L1-penalty sparsity optimisation", as printed.

:data:`BOOK_TEXT` is the book's code. Run as printed it stops at its first iteration:
``backward_propagation`` calls ``compute_gradients(loss, W)`` and ``loss`` is never defined
(:func:`run_b1` catches and reports the ``NameError``). With the one missing line added
(:func:`book_b1`) it is the §5.3 loop exactly (:func:`nnprune.pseudocode.s5_3.book_s5_3`):
there is no L1 term anywhere, although the text says it minimises loss + L1.

:func:`corrected_b1` is what the text describes: the same loop with the L1 term, as the
proximal (ISTA) step that makes weights exactly zero, and the threshold only at the end.

Book: appendix B.1 (corrected, see docs/errata.md#b-1).
"""

from __future__ import annotations

import numpy as np

from ._toy import LoopResult, Setup, book_helpers, loop_result, loop_setup, run_verbatim
from ._toy import soft_threshold as _soft_threshold

BOOK_TEXT = '''\
# 初始化模型参数
W = initialize_weights()

# 初始化剪枝阈值
threshold = initialize_threshold()

# 初始化学习率
learning_rate = initialize_learning_rate()

# 迭代次数
num_iterations = initialize_iterations()

# 前向传播
def forward_propagation(x, W):
    output = np.dot(x, W)
    return output

# 反向传播
def backward_propagation(x, y, W):
    gradients = compute_gradients(loss, W)
    return gradients

# 剪枝决策
def pruning_decision(W, threshold):
    W_pruned = np.where(np.abs(W) > threshold, W, 0)
    return W_pruned

# 参数更新
def update_parameters(W, gradients, learning_rate):
    W_updated = W - learning_rate * gradients
    return W_updated

# 稀疏性优化算法实现
for iteration in range(num_iterations):
    # 前向传播
    output = forward_propagation(x, W)

    # 反向传播
    gradients = backward_propagation(x, y, W)

    # 剪枝决策
    W_pruned = pruning_decision(W, threshold)

    # 参数更新
    W = update_parameters(W_pruned, gradients, learning_rate)
'''


def book_b1(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """B.1 as the book writes it, plus the one line it cannot run without."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    W = setup.initialize_weights()
    threshold = setup.initialize_threshold()
    learning_rate = setup.initialize_learning_rate()
    num_iterations = setup.initialize_iterations()

    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    def backward_propagation(x, y, W):
        loss = compute_loss(y, output)  # added: `loss` is undefined in B.1 (errata #b-1)
        gradients = compute_gradients(loss, W)
        return gradients

    def pruning_decision(W, threshold):
        W_pruned = np.where(np.abs(W) > threshold, W, 0)
        return W_pruned

    def update_parameters(W, gradients, learning_rate):
        W_updated = W - learning_rate * gradients
        return W_updated

    for _iteration in range(num_iterations):
        output = forward_propagation(x, W)
        gradients = backward_propagation(x, y, W)
        W_pruned = pruning_decision(W, threshold)
        W = update_parameters(W_pruned, gradients, learning_rate)
    return W


def corrected_b1(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """B.1 with the L1 term it claims: a proximal (soft-threshold) step after each update."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    W = setup.initialize_weights()
    threshold = setup.initialize_threshold()
    learning_rate = setup.initialize_learning_rate()
    num_iterations = setup.initialize_iterations()
    l1_lambda = setup.initialize_l1_lambda()  # fix: the L1 strength (errata #b-1)

    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    def backward_propagation(x, y, W, output):  # fix: `loss` from this call's output
        loss = compute_loss(y, output)
        gradients = compute_gradients(loss, W)
        return gradients

    def pruning_decision(W, threshold):
        W_pruned = np.where(np.abs(W) > threshold, W, 0)
        return W_pruned

    def update_parameters(W, gradients, learning_rate):
        W_updated = W - learning_rate * gradients
        W_updated = _soft_threshold(W_updated, learning_rate * l1_lambda)  # fix: the L1 term
        return W_updated

    for _iteration in range(num_iterations):
        output = forward_propagation(x, W)
        gradients = backward_propagation(x, y, W, output)
        W = update_parameters(W, gradients, learning_rate)
    W = pruning_decision(W, threshold)  # fix: threshold once, at the end
    return W


L1_LAMBDA = 0.002  # the L1 strength of corrected_b1 on the digits


def run_b1(quick: bool = True, seed: int = 0) -> dict[str, LoopResult]:
    """The book's text (fails), :func:`book_b1` (the minimal fix) and :func:`corrected_b1`.

    Returns ``{"verbatim", "book", "corrected"}``; ``verbatim.error`` is the ``NameError``.
    """
    setup = loop_setup(quick, seed, l1_lambda=L1_LAMBDA)
    p = setup.problem
    ns, error = run_verbatim(BOOK_TEXT, setup.namespace())
    out = {"verbatim": loop_result(p, ns["W"], setup.W0, setup.threshold, error=error)}
    out["book"] = loop_result(p, book_b1(p.x, p.y, setup), setup.W0, setup.threshold)
    out["corrected"] = loop_result(p, corrected_b1(p.x, p.y, setup), setup.W0, setup.threshold)
    return out


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: the book's failure, the minimal fix, and the loop with the L1 term."""
    from .s5_3 import book_s5_3

    r, setup = run_b1(quick, seed), loop_setup(quick, seed)
    same = np.array_equal(r["book"].W, book_s5_3(setup.problem.x, setup.problem.y, setup))
    c = r["corrected"]
    return (
        f"as printed: {r['verbatim'].error or 'ran'}; with `loss` defined it is "
        f"{'the §5.3 loop exactly (same W)' if same else 'not the §5.3 loop'}, no L1 term; "
        f"with the L1 step (lambda {L1_LAMBDA:g}): {c.exact_zero_fraction:.1%} exactly 0, "
        f"accuracy {c.acc_returned:.3f} (dense {c.acc_dense:.3f})"
    )
