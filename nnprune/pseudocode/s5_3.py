r"""§5.3 剪枝算法的代码实现: the book's pruning loop, as printed and corrected.

:data:`BOOK_TEXT` is the book's code, character for character. :func:`book_s5_3` is the
same code as a function (the ``initialize_*`` calls and the two helpers the book never
defines, ``compute_loss`` and ``compute_gradients``, come from a
:class:`~nnprune.pseudocode._toy.Setup`); nothing else is changed, so it returns exactly what
:func:`run_verbatim` gets by executing the text. :func:`corrected_s5_3` is its twin, line
for line, with the fixes marked.

What the book's loop does (docs/errata.md#s5-3): the ``output`` that
``backward_propagation`` reads is the loop's own variable, so the code runs. It computes the
gradient at the unpruned ``W``, prunes, then steps: ``W = W_pruned − η·g``. Every pruned
entry comes back as −η·g, small but not zero, and is pruned again next time: iterative hard
thresholding whose returned ``W`` is never exactly sparse.

Book: §5.3 (corrected, see docs/errata.md#s5-3).
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

# 初始化迭代次数
num_iterations = initialize_iterations()

# 前向传播
def forward_propagation(x, W):
    # 计算输出
    output = np.dot(x, W)
    return output

# 反向传播
def backward_propagation(x, y, W):
    # 计算损失
    loss = compute_loss(y, output)

    # 计算梯度
    gradients = compute_gradients(loss, W)

    return gradients

# 剪枝决策
def pruning_decision(W, threshold):
    # 剪除权重值小于阈值的连接
    W_pruned = np.where(np.abs(W) > threshold, W, 0)
    return W_pruned

# 参数更新
def update_parameters(W, gradients, learning_rate):
    # 更新权重
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
'''


def book_s5_3(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """The §5.3 loop as the book writes it; returns the final ``W``."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    # 初始化模型参数
    W = setup.initialize_weights()
    # 初始化剪枝阈值
    threshold = setup.initialize_threshold()
    # 初始化学习率
    learning_rate = setup.initialize_learning_rate()
    # 初始化迭代次数
    num_iterations = setup.initialize_iterations()

    # 前向传播
    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    # 反向传播
    def backward_propagation(x, y, W):
        loss = compute_loss(y, output)  # `output`: the loop's variable, set just before
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
    for _iteration in range(num_iterations):
        output = forward_propagation(x, W)
        gradients = backward_propagation(x, y, W)
        W_pruned = pruning_decision(W, threshold)
        W = update_parameters(W_pruned, gradients, learning_rate)
    return W


def corrected_s5_3(x: np.ndarray, y: np.ndarray, setup: Setup) -> np.ndarray:
    """The §5.3 loop corrected: decide first, gradients at the pruned ``W``, masked update."""
    helpers = book_helpers(x)
    compute_loss, compute_gradients = helpers["compute_loss"], helpers["compute_gradients"]
    W = setup.initialize_weights()
    threshold = setup.initialize_threshold()
    learning_rate = setup.initialize_learning_rate()
    num_iterations = setup.initialize_iterations()

    def forward_propagation(x, W):
        output = np.dot(x, W)
        return output

    def backward_propagation(x, y, W, output):  # fix: `output` passed in (errata #s5-3)
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
    W, mask = pruning_decision(W, threshold)  # fix: return the pruned W
    return W


def run_s5_3(quick: bool = True, seed: int = 0) -> dict[str, LoopResult]:
    """Run the book's text, :func:`book_s5_3` and :func:`corrected_s5_3` on the digits.

    Returns ``{"verbatim", "book", "corrected"}`` results (:class:`LoopResult`).
    """
    setup = loop_setup(quick, seed)
    p = setup.problem
    ns, error = run_verbatim(BOOK_TEXT, setup.namespace())
    out = {"verbatim": loop_result(p, ns["W"], setup.W0, setup.threshold, error=error)}
    out["book"] = loop_result(p, book_s5_3(p.x, p.y, setup), setup.W0, setup.threshold)
    out["corrected"] = loop_result(p, corrected_s5_3(p.x, p.y, setup), setup.W0, setup.threshold)
    return out


def summary(quick: bool = True, seed: int = 0) -> str:
    """One line: what the book's loop and the corrected one did."""
    r = run_s5_3(quick, seed)
    same = np.array_equal(r["verbatim"].W, r["book"].W)
    return (
        f"book text runs ({'same W as book_s5_3' if same else 'W differs from book_s5_3'}): "
        f"{r['book'].line()}; corrected: {r['corrected'].exact_zero_fraction:.1%} exactly 0, "
        f"accuracy {r['corrected'].acc_returned:.3f}"
    )
