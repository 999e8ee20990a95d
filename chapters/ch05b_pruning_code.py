# %% [markdown]
# # Chapter 5 (part 2) · 剪枝算法实现 — the book's pruning code (§5.3, Appendix B)
#
# 本课把书中 §5.3 的剪枝代码和附录 B.1、B.2 的伪代码原样运行，并在旁边运行修正版：两者函数名
# 相同、逐行对应。数据是 8x8 手写数字上的 softmax 回归（`output = np.dot(x, W)`，即书中的
# 形式），阈值是训练后 |W| 的 80% 分位数（绝对阈值，每次迭代都重新施加），普通 SGD（全批量，
# 无动量），与书中一致。
#
# This lesson runs the book's §5.3 pruning code and Appendix B.1 and B.2 as printed, each
# beside its correction: the same function names, line by line. The data: softmax
# regression on the 8x8 digits (`output = np.dot(x, W)`, the book's form); the threshold is
# the 80% quantile of the trained |W|, absolute and re-applied at every iteration; plain
# SGD (full batch, no momentum), as in the book. §5.1 and §5.2 are in
# `ch05_pruning_pipeline.py`.
#
# Run it as a script, `python chapters/ch05b_pruning_code.py [--quick] [--seed 0]`, or as a
# notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1`).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/pseudocode/...` 里的函数会改变本课打印的数字。
# Editing `nnprune/...` changes what this lesson prints (install with `pip install -e .`).

# %%
"""Chapter 5, part 2: the book's §5.3 code and Appendix B.1/B.2, run as printed and corrected.

Usage::

    python chapters/ch05b_pruning_code.py [--quick] [--seed 0] [--out figures/ch05]
"""

import dataclasses
import difflib
import inspect

import matplotlib.pyplot as plt
import numpy as np

from nnprune.lesson import Try, start
from nnprune.plots.fonts import label as zh_en
from nnprune.pseudocode import b1, b2, s5_3
from nnprune.pseudocode._toy import loop_result, loop_setup, run_verbatim
from nnprune.report import format_table

lesson = start(__doc__, "figures/ch05")
say = lesson.say
STEP = 0.5  # the book's learning_rate (plain SGD, full batch, no momentum)
setup = dataclasses.replace(loop_setup(lesson.quick, lesson.seed), learning_rate=STEP)
p, W0 = setup.problem, setup.W0
print(f"softmax regression, W of shape {W0.shape}, {len(p.y)} training images; "
      f"{setup.num_iterations} iterations at learning_rate {STEP:g};\nthreshold = 80% quantile of "
      f"the trained |W| = {setup.threshold:.3g}; test accuracy of the dense W "
      f"{loop_result(p, W0, W0, setup.threshold).acc_returned:.2%}")  # fmt: skip
COLS = ["version", "exact_0", "below_t", "max_below", "acc_returned", "acc_thresholded"]
FMT = {k: "{:.1%}" for k in COLS[1:]} | {"max_below": "{:.3g}"}


def row(version, r):
    """One table row from a :class:`LoopResult` (what a loop's returned W really is)."""
    return {"version": version, "exact_0": r.exact_zero_fraction,
            "below_t": r.below_threshold_fraction, "max_below": r.max_below,
            "acc_returned": r.acc_returned, "acc_thresholded": r.acc_thresholded}  # fmt: skip


# %% [markdown]
# ## §5.3 剪枝算法的代码实现 — the pruning code
#
# 先看书中原文（`BOOK_TEXT`），再看把它写成函数的 `book_s5_3`（只补上书中未定义的
# `compute_loss`、`compute_gradients` 和 `initialize_*`），再看修正版 `corrected_s5_3`
# （每处修正都有注释指向勘误），最后逐行列出两者不同的代码行。
#
# First the book's text (`BOOK_TEXT`), then the same code as a function, `book_s5_3` (only
# the helpers the book never defines, `compute_loss`, `compute_gradients` and the
# `initialize_*` calls, are supplied), then its twin `corrected_s5_3` (each fix carries a
# comment naming its erratum, [errata §5.3](../docs/errata.md#s5-3)), then the code lines in
# which the two differ.

# %%
lesson.section("5.3", "the book's loop as printed, beside the corrected one")
print(s5_3.BOOK_TEXT)
lesson.show(s5_3.book_s5_3)
lesson.show(s5_3.corrected_s5_3)


def code(text):
    """The code lines of ``text``: comment-only lines and one-line docstrings dropped."""
    return [line.strip() for line in text.splitlines()
            if line.strip()[:1] not in ("", "#") and not line.strip().startswith('"""')]


def changed(old, new):
    """The lines only in ``old`` (-) or only in ``new`` (+), in order."""
    return [d for d in difflib.unified_diff(old, new, lineterm="", n=0)
            if d[:1] in "+-" and d[:3] not in ("---", "+++")]  # fmt: skip


sources = [code(inspect.getsource(f)) for f in (s5_3.book_s5_3, s5_3.corrected_s5_3)]
print("corrected_s5_3 against book_s5_3, line by line (-: book only, +: corrected only)")
print("\n".join(f"    {d}" for d in changed(*sources)))

# %% [markdown]
# 运行三者：书中原文（`exec` 执行）、`book_s5_3`、`corrected_s5_3`，迭代次数相同。
# `exact_0` 是恰好为 0 的权重比例，`below_t` 是 |w| ≤ 阈值的比例（阈值本想剪掉的），
# `acc_returned` 是循环返回的 W 的测试准确率，`acc_thresholded` 是再做一次阈值剪枝之后的。
# 最后一行是不迭代的对照：稠密 W 只做一次阈值剪枝。图：两个循环返回的非零 |w|（对数轴）。
#
# The three run for the same number of iterations: the text itself (`exec`), `book_s5_3`
# and `corrected_s5_3`. `exact_0`: fraction of W exactly 0; `below_t`: fraction with
# |w| ≤ threshold (what the threshold means to prune); `acc_returned`: test accuracy of the
# W the loop returns; `acc_thresholded`: after one more threshold pass. The last row is the
# control with no iterations at all: the dense W thresholded once. The figure: the non-zero
# |w| each loop returns, on a log axis, with the threshold.

# %%
ns, error = run_verbatim(s5_3.BOOK_TEXT, setup.namespace())
results = {"book text (exec)": loop_result(p, ns["W"], W0, setup.threshold, error=error),
           "book_s5_3": loop_result(p, s5_3.book_s5_3(p.x, p.y, setup), W0, setup.threshold),
           "corrected_s5_3": loop_result(p, s5_3.corrected_s5_3(p.x, p.y, setup), W0,
                                         setup.threshold),
           "dense W (0 iterations)": loop_result(p, W0, W0, setup.threshold)}  # fmt: skip
loop_rows = [row(k, r) for k, r in results.items()]
print(format_table(loop_rows, COLS, FMT, f"the §5.3 loop, {setup.num_iterations} iterations "
                   f"(test split; max_below = largest |w| at or below the threshold)"))  # fmt: skip
book, fixed = results["book_s5_3"], results["corrected_s5_3"]
blank = float(np.mean(~p.x.any(axis=0)))  # pixels that are 0 in every training image
say(f"The text ran ({error or 'no error'}) and gave the same W as book_s5_3: "
    f"{np.array_equal(ns['W'], book.W)}. Its exact zeros ({book.exact_zero_fraction:.1%}) are "
    f"the rows of the pixels that are blank in every training image ({blank:.1%} of W): their "
    f"gradient is 0. Every other pruned weight comes back as -learning_rate x gradient: small "
    f"(at most {book.max_below:.3g}, threshold {book.threshold:.3g}) but not zero, and it is "
    f"pruned again at the next iteration. So pruned weights do not grow back; the W the book "
    f"returns is just never sparse.")  # fmt: skip
nonzero = np.abs(np.concatenate([r.W[r.W != 0] for r in (book, fixed)]))
bins = np.logspace(np.floor(np.log10(nonzero.min())), np.ceil(np.log10(nonzero.max())), 40)
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
for name, r in (("book_s5_3", book), ("corrected_s5_3", fixed)):
    ax.hist(np.abs(r.W[r.W != 0]), bins=bins, histtype="step", lw=1.5,
            label=f"{name}: {r.exact_zero_fraction:.1%} {zh_en('恰为 0', 'exactly 0')}")
ax.axvline(setup.threshold, color="k", ls="--", label=zh_en("阈值", "threshold"))
ax.set(xscale="log", xlabel=zh_en("非零 |w|（对数轴）", "non-zero |w| (log axis)"),
       ylabel=zh_en("权重个数", "weights"), title=zh_en("§5.3 循环返回的 W", "the W §5.3 returns"))
ax.set_ylim(0, 1.45 * ax.get_ylim()[1])  # room for the legend above the bars
ax.legend(fontsize=8, loc="upper left")
lesson.figure(fig, "ch05b_returned_weights.png")  # fmt: skip

# %% [markdown]
# ### Appendix B.1 稀疏性优化算法伪代码 — "L1-penalty sparsity optimisation"
#
# 书中说 B.1 用 L1 惩罚优化稀疏性。去掉注释后与 §5.3 逐行比较：B.1 只少了一行，
# 且没有任何 L1 项。照原样运行会因 `loss` 未定义而停止。
#
# The book says B.1 optimises loss + L1. Compared with §5.3 line by line (comments
# dropped), B.1 is one line shorter and has no L1 term; as printed it stops on the
# undefined `loss` ([errata B.1](../docs/errata.md#b-1)).

# %%
lesson.part("Appendix B.1 稀疏性优化算法伪代码 — L1 sparsity optimisation")


for name, text in (("B.1", b1.BOOK_TEXT), ("B.2", b2.BOOK_TEXT)):
    diff = changed(code(s5_3.BOOK_TEXT), code(text))
    print(f"{name} against §5.3, code lines only ({len(code(text))} vs "
          f"{len(code(s5_3.BOOK_TEXT))}), -: only in §5.3, +: only in {name}")
    print("\n".join(f"    {d}" for d in diff))
has_l1 = any(w in b1.BOOK_TEXT.lower() for w in ("l1", "abs(w).sum", "lambda", "sign("))
print(f"an L1 term (l1, lambda, sign, |W| summed) anywhere in B.1: {has_l1}")
lesson.show(b1.book_b1)
lesson.show(b1.corrected_b1)

# %% [markdown]
# 照原样、加上缺失的一行（最小修正）、以及加上 L1 近端步（软阈值 η·λ，最后阈值一次）的修正版。
#
# B.1 as printed, with the one missing line (the minimal fix), and corrected: the L1 term
# as its proximal step (soft-threshold by learning_rate x λ after each update), then one
# threshold at the end. All for the same iterations.

# %%
b1_setup = dataclasses.replace(setup, l1_lambda=b1.L1_LAMBDA)
ns1, error1 = run_verbatim(b1.BOOK_TEXT, b1_setup.namespace())
say(f"B.1 as printed stops at its first iteration: {error1}; `loss` is used and never set.")
b1_W = b1.book_b1(p.x, p.y, b1_setup)
b1_rows = [row("book_b1 (loss line added)", loop_result(p, b1_W, W0, setup.threshold)),
           row(f"corrected_b1 (L1, λ={b1_setup.l1_lambda:g})",
               loop_result(p, b1.corrected_b1(p.x, p.y, b1_setup), W0, setup.threshold)),
           row("corrected_s5_3 (no L1)", fixed)]  # fmt: skip
print(format_table(b1_rows, COLS, FMT, "Appendix B.1, same iterations (test split)"))
say(f"With the line added, B.1 returns the same W as book_s5_3: "
    f"{np.array_equal(b1_W, book.W)}. B.1 is the §5.3 loop minus one line, with no L1 term.")

# %% [markdown]
# ### Appendix B.2 剪枝算法实现伪代码 — the loop that evaluates itself
#
# B.2 是 §5.3 的循环加上每次迭代后的 `evaluate_model_performance(W)`，同样缺 `loss`。
# 它评估的 W 是更新后返回的那个，从不真正稀疏。
#
# B.2 is the §5.3 loop plus `evaluate_model_performance(W)` after every update, with the
# same undefined `loss`. The W it evaluates is the one the update returned.

# %%
lesson.part("Appendix B.2 剪枝算法实现伪代码 — the loop with evaluation")
lesson.show(b2.corrected_b2)
_, error2 = run_verbatim(b2.BOOK_TEXT, setup.namespace())
say(f"B.2 as printed stops at its first iteration: {error2}.")
b2_rows = []
for name, fn in (("book_b2 (loss line added)", b2.book_b2), ("corrected_b2", b2.corrected_b2)):
    s = dataclasses.replace(setup, history=[])
    r = loop_result(p, fn(p.x, p.y, s), W0, setup.threshold, history=s.history)
    b2_rows.append(row(name, r) | {"first_eval": r.history[0], "last_eval": r.history[-1]})
print(format_table(b2_rows, COLS[:3] + ["acc_returned", "first_eval", "last_eval"],
                   FMT | {"first_eval": "{:.1%}", "last_eval": "{:.1%}"},
                   "Appendix B.2: the W evaluate_model_performance saw (test split)"))  # fmt: skip

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
say(f"- §5.3: the book's loop ({setup.num_iterations} iterations, absolute threshold, plain SGD) "
    f"returns a W with {book.exact_zero_fraction:.1%} exact zeros although "
    f"{book.below_threshold_fraction:.1%} of it is at or below the threshold; test accuracy "
    f"{book.acc_returned:.2%} as returned, {book.acc_thresholded:.2%} after a final threshold. "
    f"The corrected loop: {fixed.exact_zero_fraction:.1%} exact zeros, {fixed.acc_returned:.2%} "
    f"(the dense W thresholded once, no iterations: "
    f"{results['dense W (0 iterations)'].acc_thresholded:.2%}; one test image = "
    f"{100 / len(p.y_test):.2f} points).")  # fmt: skip
c1 = b1_rows[1]
say(f"- B.1: as printed, {error1}; with `loss` defined it is the §5.3 loop exactly; with the "
    f"L1 step it makes {c1['exact_0']:.1%} of W exactly 0 at {c1['acc_returned']:.2%}.")
say(f"- B.2: as printed, {error2}; the W it evaluates is {b2_rows[0]['exact_0']:.1%} exactly 0 "
    f"(corrected: {b2_rows[1]['exact_0']:.1%}).")

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this("ch5", [
    Try("Set STEP = 0.05 (a smaller learning_rate): the weights the book's loop leaves below "
        "the threshold shrink with it. Are they ever exactly 0?",
        ("STEP = 0.5  #", "STEP = 0.05  #"), "loop_rows"),
    Try("Raise B.1's λ (b1.L1_LAMBDA) tenfold: how many weights does the L1 step zero, and "
        "at what accuracy?", ("l1_lambda=b1.L1_LAMBDA)", "l1_lambda=10 * b1.L1_LAMBDA)"),
        "b1_rows"),
])  # fmt: skip
