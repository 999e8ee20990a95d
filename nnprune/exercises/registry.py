r"""The list of exercises: id, title, book section and which imports the student may use.

An exercise ``chN.name`` is the student file ``chN_name.py`` (shipped in
``nnprune/exercises/stubs/`` and copied by ``nnprune exercises init``), its checks in
``nnprune/exercises/checks/chN.py`` and a reference solution in the repository's
``exercises/solutions/``.

``imports`` lists the modules the student's file may import. Anything else (``scipy``,
``torch``, another part of ``nnprune``, ``importlib``, ``__import__``, ``exec``) fails the
first check: that is how an exercise that re-implements a library function stops a student
from calling the library's version (see :mod:`nnprune.exercises.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Book sections: number -> (Chinese title, English title).
SECTIONS: dict[str, tuple[str, str]] = {
    "1.1": ("神经网络概述", "overview of neural networks"),
    "1.2": ("神经网络结构", "network structures"),
    "1.3": ("剪枝对神经网络性能的影响", "effect of pruning on performance"),
    "2.1": ("稀疏性的概念", "the concept of sparsity"),
    "2.2": ("稀疏性在神经网络中的重要性", "why sparsity matters"),
    "3.1": ("传统剪枝方法", "traditional pruning methods"),
    "3.2": ("基于稀疏性的剪枝方法", "sparsity-based pruning methods"),
    "4.1": ("稀疏性优化的目标函数", "the objective function"),
    "4.2": ("基于稀疏度的优化算法", "sparsity-driven algorithms (ADMM, IRLS, Lasso)"),
    "4.3": ("基于梯度敏感性的优化算法", "gradient-sensitivity algorithms"),
    "5.1": ("剪枝算法的流程", "the pruning pipeline"),
    "5.2": ("剪枝算法的参数调优", "tuning pruning"),
    "5.3": ("剪枝算法的代码实现", "pruning code"),
    "6.1": ("稀疏性剪枝优化在图像识别中的应用", "image recognition"),
    "6.2": ("稀疏性剪枝优化在自然语言处理中的应用", "natural-language processing"),
    "6.3": ("稀疏性剪枝优化在语音识别中的应用", "speech recognition"),
    "7.1": ("案例一：图像识别任务中的剪枝优化", "case study: image recognition"),
    "7.3": ("案例三：语音识别任务中的剪枝优化", "case study: speech recognition"),
    "8.1": ("神经网络剪枝优化的发展趋势", "trends"),
    "8.2": ("未来研究的方向", "future directions"),
    "C": ("神经网络剪枝优化项目实战", "hands-on project"),
}

NUMPY = ("numpy", "math")


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes
    ----------
    id : str
        ``"chN.name"`` (``"appc.name"`` for appendix C).
    title : str
        One line.
    section : str
        Book section, a key of :data:`SECTIONS`.
    imports : tuple of str
        Modules the student's file may import (a module also allows its sub-modules).
    """

    id: str
    title: str
    section: str
    imports: tuple[str, ...] = NUMPY

    @property
    def filename(self) -> str:
        """The student's file name, ``chN_name.py``."""
        return self.id.replace(".", "_", 1) + ".py"

    @property
    def chapter(self) -> str:
        """``"ch1"`` ... ``"ch8"`` or ``"appc"``: the checks module's name."""
        return self.id.split(".", 1)[0]

    @property
    def section_title(self) -> str:
        """``"§4.2 基于稀疏度的优化算法 / sparsity-driven algorithms (ADMM, IRLS, Lasso)"``."""
        zh, en = SECTIONS[self.section]
        mark = "Appendix " if self.section.isalpha() else "§"
        return f"{mark}{self.section} {zh} / {en}"


EXERCISES: tuple[Exercise, ...] = (
    Exercise("ch1.silu_backward", "SiLU layer: forward and hand-written backward", "1.1",
             NUMPY + ("nnprune.nn",)),
    Exercise("ch1.conv1d_backward", "Conv1d backward: dx, dW and db of a 1-D convolution", "1.2"),
    Exercise("ch1.softmax_ce_grad", "softmax cross-entropy: stable loss and its gradient", "1.1"),
    Exercise("ch1.masked_momentum", "SGD with momentum that keeps pruned weights at zero", "1.1"),
    Exercise("ch2.sparsity_measures", "weight, connection and activation sparsity", "2.1"),
    Exercise("ch2.csr_matvec", "CSR storage: build it, multiply with it, count its bytes", "2.2"),
    Exercise("ch3.l1_unstructured", "l1_unstructured's mask, rounding and ties as PyTorch", "3.1"),
    Exercise("ch3.ln_structured", "ln_structured's mask: prune whole channels by L_n norm", "3.1"),
    Exercise("ch3.threshold", "threshold criterion and Han et al.'s q * std(W) rule", "3.2"),
    Exercise("ch3.remove_neuron", "physically remove one hidden neuron of an MLP", "3.1"),
    Exercise("ch4.soft_threshold", "soft-thresholding and one ISTA (proximal) step", "4.2"),
    Exercise("ch4.admm_updates", "ADMM for pruning: Z-projection and U-update", "4.2"),
    Exercise("ch4.group_lasso_prox", "group-lasso proximal operator (block soft-threshold)", "4.1"),
    Exercise("ch4.taylor_importance", "Taylor (GSAP) importance of neurons and channels", "4.3"),
    Exercise("ch5.corrected_loop", "the §5.3 prune-retrain loop, corrected: masks stay", "5.3"),
    Exercise("ch5.polynomial_schedule", "Zhu & Gupta's polynomial sparsity schedule", "5.2"),
    Exercise("ch6.filter_removal", "remove a conv filter and the next layer's channel", "6.1"),
    Exercise("ch6.head_importance", "attention-head importance (Michel et al.)", "6.2"),
    Exercise("ch7.conv_flops", "FLOPs of a pruned convolution, as ShrinkBench counts", "7.1"),
    Exercise("ch7.recurrent_removal", "remove an LSTM/GRU hidden unit across all gates", "7.3"),
    Exercise("ch8.nm_mask", "N:M (2:4) semi-structured mask", "8.1"),
    Exercise("ch8.regrow", "dynamic sparse training: SET and RigL drop-and-grow", "8.2"),
    Exercise("appc.simple_cnn", "the corrected SimpleCNN of appendix C", "C",
             NUMPY + ("nnprune.nn", "nnprune.rng")),
    Exercise("appc.l1_weights_only", "the L1 term on weights only, as a subgradient", "C"),
)  # fmt: skip

BY_ID: dict[str, Exercise] = {ex.id: ex for ex in EXERCISES}


def get(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``, or ``ValueError`` listing the valid ids."""
    if exercise_id not in BY_ID:
        raise ValueError(
            f"unknown exercise {exercise_id!r}; `nnprune exercises list` shows the ids "
            f"({', '.join(BY_ID)})"
        )
    return BY_ID[exercise_id]
