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

from ..book import heading, section

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
        Book section number (``"4.2"``, ``"C"``), as :mod:`nnprune.book` numbers them.
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
        """``"§4.2 基于稀疏度的优化算法 — sparsity-driven ..."`` (:func:`nnprune.book.heading`)."""
        return heading(self.section)

    @property
    def difficulty(self) -> int:
        """1 (a few lines) to 3 (several ideas at once): :mod:`nnprune.exercises.levels`."""
        from .levels import difficulty

        return difficulty(self.id)

    @property
    def chinese_title(self) -> str:
        """The section's Chinese title, as the book prints it."""
        return section(self.section).zh


EXERCISES: tuple[Exercise, ...] = (
    Exercise("ch1.silu_backward", "SiLU layer: forward and hand-written backward", "1.1",
             NUMPY + ("nnprune.nn",)),
    Exercise("ch1.conv1d_backward", "Conv1d backward: dx, dW and db of a 1-D convolution", "1.2"),
    Exercise("ch1.softmax_ce_grad", "softmax cross-entropy: stable loss and its gradient", "1.1"),
    Exercise("ch1.masked_momentum", "SGD with momentum that keeps pruned weights at zero", "1.1"),
    Exercise("ch2.sparsity_measures", "weight, connection and activation sparsity", "2.1"),
    Exercise("ch2.csr_matvec", "CSR storage: build it, multiply with it, count its bytes", "2.2"),
    Exercise("ch2.weight_histogram", "read a weight histogram: kurtosis, exact vs near zeros",
             "2.1"),
    Exercise("ch3.l1_unstructured", "l1_unstructured's mask, rounding and ties as PyTorch", "3.1"),
    Exercise("ch3.ln_structured", "ln_structured's mask: prune whole channels by L_n norm", "3.1"),
    Exercise("ch3.threshold", "threshold criterion and Han et al.'s q * std(W) rule", "3.2"),
    Exercise("ch3.remove_neuron", "physically remove one hidden neuron of an MLP", "3.1"),
    Exercise("ch3.next_layer_importance", "rank channels by the next layer's input-channel norm",
             "3.1"),
    Exercise("ch3.fine_vs_channel", "fine-grained vs channel pruning at one weight budget",
             "3.3"),
    Exercise("ch4.soft_threshold", "soft-thresholding and one ISTA (proximal) step", "4.2"),
    Exercise("ch4.admm_updates", "ADMM for pruning: Z-projection and U-update", "4.2"),
    Exercise("ch4.group_lasso_prox", "group-lasso proximal operator (block soft-threshold)", "4.1"),
    Exercise("ch4.taylor_importance", "Taylor (GSAP) importance of neurons and channels", "4.3"),
    Exercise("ch4.irls_step", "one IRLS step for the Lasso: a reweighted ridge solve", "4.2"),
    Exercise("ch4.lasso_admm", "Lasso by ADMM (Boyd et al.): x-solve, soft-threshold, u-update",
             "4.2"),
    Exercise("ch5.corrected_loop", "the §5.3 prune-retrain loop, corrected: masks stay", "5.3"),
    Exercise("ch5.polynomial_schedule", "Zhu & Gupta's polynomial sparsity schedule", "5.2"),
    Exercise("ch5.sensitivity_budget", "per-layer sparsities from a sensitivity scan, on a budget",
             "5.2"),
    Exercise("ch5.book_loop", "the §5.3 loop run as written: measure its flaw, then fix it",
             "5.3"),
    Exercise("ch6.filter_removal", "remove a conv filter and the next layer's channel", "6.1"),
    Exercise("ch6.head_importance", "attention-head importance (Michel et al.)", "6.2"),
    Exercise("ch6.conv_bn_removal", "remove channels through Conv-BN-ReLU-Conv, exactly", "6.1"),
    Exercise("ch7.conv_flops", "FLOPs of a pruned convolution, as ShrinkBench counts", "7.1"),
    Exercise("ch7.recurrent_removal", "remove an LSTM/GRU hidden unit across all gates", "7.3"),
    Exercise("ch7.latency_vs_macs", "latency vs MACs: measure, predict, explain the gap", "7.1",
             NUMPY + ("time", "statistics")),
    Exercise("ch8.nm_mask", "N:M (2:4) semi-structured mask", "8.1"),
    Exercise("ch8.regrow", "dynamic sparse training: SET and RigL drop-and-grow", "8.2"),
    Exercise("ch8.erk_sparsities", "Erdős–Rényi-Kernel layer sparsities for sparse training",
             "8.2"),
    Exercise("appc.simple_cnn", "the corrected SimpleCNN of appendix C", "C",
             NUMPY + ("nnprune.nn", "nnprune.rng")),
    Exercise("appc.l1_weights_only", "the L1 term on weights only, as a subgradient", "C"),
)  # fmt: skip

# One-shot pruning of language models (§8.1); checks in checks/ch8_oneshot.py.
EXERCISES += (
    Exercise("ch8.wanda_mask", "Wanda: |W| * ||X_j|| scores and the per-row mask", "8.1"),
    Exercise("ch8.obs_update", "the OBS update for one removed weight (SparseGPT)", "8.1"),
)

BY_ID: dict[str, Exercise] = {ex.id: ex for ex in EXERCISES}


def get(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``, or ``ValueError`` listing the valid ids."""
    if exercise_id not in BY_ID:
        raise ValueError(
            f"unknown exercise {exercise_id!r}; `nnprune exercises list` shows the ids "
            f"({', '.join(BY_ID)})"
        )
    return BY_ID[exercise_id]
