r"""Appendix B.2 剪枝算法实现伪代码: the pruning loop that evaluates itself, as printed.

:data:`BOOK_TEXT` is the book's code. Like B.1 it fails at its first iteration on the
undefined ``loss`` (:func:`run_b2` reports the ``NameError``). With that line added
(:func:`book_b2`) it is the §5.3 loop plus ``evaluate_model_performance(W)`` after every
update, and the ``W`` it evaluates is the one the update returned: never exactly sparse.

:func:`corrected_b2` is the corrected §5.3 loop (mask kept, gradients at the pruned ``W``)
evaluating the pruned ``W``.

Book: appendix B.2 (corrected, see docs/errata.md#s5-3).
"""

from __future__ import annotations

import numpy as np

from ._toy import LoopResult, Setup, book_helpers, loop_result, loop_setup, run_verbatim

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

# 剪枝算法实现
for iteration in range(num_iterations):
    # 前向传播
    output = forward_propagation(x, W)

    # 反向传播
    gradients = backward_propagation(x, y, W)

    # 剪枝决策
    W_pruned = pruning_decision(W, threshold)

    # 参数更新
    W = update_parameters(W_pruned, gradients, learning_rate)

    # 评估模型性能
    evaluate_model_performance(W)
'''


def book_b2(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """B.2 as the book writes it, plus the one line it cannot run without."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    evaluate_model_performance = setup.evaluate_model_performance
    W = setup.initialize_weights()
    threshold = setup.initialize_threshold()
    learning_rate = setup.initialize_learning_rate()
    num_iterations = setup.initialize_iterations()

    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    def backward_propagation(x, y, W):
        loss = compute_loss(y, output)  # added: `loss` is undefined in B.2 (errata #s5-3)
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
        evaluate_model_performance(W)
    return W


def corrected_b2(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """B.2 corrected: the masked loop of :func:`~nnprune.pseudocode.s5_3.corrected_s5_3`."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    evaluate_model_performance = setup.evaluate_model_performance
    W = setup.initialize_weights()
    threshold = setup.initialize_threshold()
    learning_rate = setup.initialize_learning_rate()
    num_iterations = setup.initialize_iterations()

    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    def backward_propagation(x, y, W, output):  # fix: `loss` from this call's output
        loss = compute_loss(y, output)
        gradients = compute_gradients(loss, W)
        return gradients

    def pruning_decision(W, threshold):
        mask = np.abs(W) > threshold  # fix: keep the mask (errata #s5-3)
        W_pruned = np.where(mask, W, 0)
        return W_pruned, mask

    def update_parameters(W, gradients, learning_rate, mask):
        W_updated = W - learning_rate * gradients * mask  # fix: pruned weights stay 0
        return W_updated

    for _iteration in range(num_iterations):
        W_pruned, mask = pruning_decision(W, threshold)  # fix: decide before the gradient
        output = forward_propagation(x, W_pruned)
        gradients = backward_propagation(x, y, W_pruned, output)
        W = update_parameters(W_pruned, gradients, learning_rate, mask)
        evaluate_model_performance(W)  # W is exactly sparse here
    return W


def run_b2(quick: bool = True, seed: int = 0) -> dict[str, LoopResult]:
    """The book's text (fails), :func:`book_b2` (minimal fix) and :func:`corrected_b2`."""
    setup = loop_setup(quick, seed)
    p = setup.problem
    ns, error = run_verbatim(BOOK_TEXT, setup.namespace())
    out = {"verbatim": loop_result(p, ns["W"], setup.W0, setup.threshold, error=error)}
    for name, fn in (("book", book_b2), ("corrected", corrected_b2)):
        s = loop_setup(quick, seed)
        out[name] = loop_result(p, fn(p.x, p.y, s), s.W0, s.threshold, history=s.history)
    return out


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: the failure, then what the evaluated W is."""
    r = run_b2(quick, seed)
    b, c = r["book"], r["corrected"]
    return (
        f"as printed: {r['verbatim'].error or 'ran'}; with `loss` defined it evaluates a W "
        f"{b.exact_zero_fraction:.1%} exactly 0 ({b.below_threshold_fraction:.1%} below the "
        f"threshold), last accuracy {b.history[-1]:.3f}; corrected evaluates a W "
        f"{c.exact_zero_fraction:.1%} exactly 0, last accuracy {c.history[-1]:.3f}"
    )
