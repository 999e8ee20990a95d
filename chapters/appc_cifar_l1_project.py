# %% [markdown]
# # §C 神经网络剪枝优化项目实战 — hands-on project
#
# 附录C用 PyTorch 在 CIFAR-10 上训练 `SimpleCNN`：先用 SGD（学习率 0.001，动量 0.9，
# 批大小 64）训练 10 个 epoch，再在损失上加 L1 正则项 `0.001 * Σ|p|`（所有参数）再训练
# 10 个 epoch，最后测准确率。本课按书中原样运行这段代码（nnprune 的 NumPy 引擎，PyTorch
# 的 reshape 语义），复现它真正的失败方式，再按书中设置（book settings）运行只修正了展平
# 尺寸的版本，旁边是修正版（加 padding、池化、fc1 与 fc2 之间的 ReLU，L1 只作用于权重且用
# 近端步骤/软阈值），以及训练预算相同的稠密对照（同样的代码，λ = 0）。
#
# The book's appendix C trains `SimpleCNN` on CIFAR-10 with SGD (lr 0.001, momentum 0.9,
# batch 64) for 10 epochs, then 10 more on `loss + 0.001 * Σ|p|` over all parameters, then
# measures test accuracy. This lesson runs that code as written (nnprune's NumPy engine,
# PyTorch's reshape semantics) to show how it really fails; then at the book's settings with
# only the flatten size fixed (the "book settings" row); beside it the corrected version
# (padding, pooling, a ReLU between fc1 and fc2, L1 on the weights as a proximal step), and
# each one's equal-budget dense control: the same code with λ = 0
# ([errata](../docs/errata.md#app-c)).
#
# 数据 / Data: 不需下载的替身——scikit-learn 的 8x8 手写数字，每个像素重复 4x4、灰度复制到
# 3 个通道，成为 3x32x32 的"CIFAR 形状"图像（1,169 张训练、359 张测试）；`--cifar-root DIR`
# 读取本地 CIFAR-10（从不下载），`--limit N` 取 N 张。The stand-in needs no download:
# the 8x8 digits rendered as 3x32x32 (pixels repeated 4x4, grey copied to 3 channels);
# `--cifar-root DIR` reads a local CIFAR-10 copy (never downloaded), `--limit N` keeps N images.
# 快速模式只用 96 张训练与测试图像、每阶段 1 个 epoch，只说明代码能运行；完整模式按书中的
# 10 + 10 个 epoch 在整个替身数据上训练四个模型（40 分钟以上）。Quick mode (`--quick`): 96
# training and test images, 1 epoch per phase, only to show the code runs (measured: 18 s).
# Full mode: the book's 10 + 10 epochs on the whole stand-in, four trainings; two of them
# (`appc.run_appc(quick=False)`) took 19 min on 2 shared CPU cores, the λ = 0 controls cost as
# much again: expect 40 minutes or more. The lesson prints how long its trainings took.
# Run: `python chapters/appc_cifar_l1_project.py [--quick] [--cifar-root DIR] [--limit N]`.
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Appendix C lesson: the book's CIFAR-10 L1 project, as written, at its settings, corrected.

Besides the options below: --cifar-root DIR (CIFAR-10 batches, binary or python) and
--limit N (N training and test images; 0: all).
"""

import argparse
import copy
import sys
import time

import numpy as np

from nnprune import prune
from nnprune.lesson import Try, in_notebook, start
from nnprune.plots.appc import weight_histograms
from nnprune.pseudocode import appc
from nnprune.report import format_table

more = argparse.ArgumentParser(add_help=False)
more.add_argument("--cifar-root", default=None)
more.add_argument("--limit", type=int, default=0)
opts, rest = more.parse_known_args([] if in_notebook() else sys.argv[1:])
lesson = start(__doc__, "figures/appc", argv=rest)
say = lesson.say
lesson.section("C", "the book's SimpleCNN run and corrected")

# %% [markdown]
# ### 1. 书中的 `SimpleCNN`（原样）/ The book's `SimpleCNN`, as written
# 两个无 padding 的 3x3 卷积把 32x32 变成 64x28x28（没有池化），而 `x.view(-1, 64*8*8)`
# 并不报错：它把一个批次的 64x64x28x28 个数重排成 784 行、每行 4096 个，前向传播返回
# (784, 10)，直到损失函数才失败——与 PyTorch 的报错相同。
# Two unpadded 3x3 convolutions leave 64x28x28 (there is no pooling); `view(-1, 64*8*8)`
# does not fail: it reshapes a batch's 64x64x28x28 numbers into 784 rows of 4096, the forward
# pass returns (784, 10), and only the loss fails, with PyTorch's message.

# %%
lesson.show(appc.book_simple_cnn)
lesson.show(appc.View)
failure = appc.show_book_failure(lesson.seed)
say(f"a batch {failure['input']} -> SimpleCNN -> outputs {failure['output']}; "
    f"criterion(outputs, labels) -> ValueError: {failure['error']}")  # fmt: skip

# %% [markdown]
# ### 2. 按书中设置训练 / The book's training code at the book's settings
# 书中的训练与 L1 代码，按原有顺序；唯一改动是展平尺寸（64*28*28）。L1 项 `λΣ|p|` 对所有
# 参数（含偏置）求次梯度 λ·sign(p)，再与梯度一起进入带动量 0.9 的 SGD——这是"带动量的
# 次梯度法"，不是近端步骤。λ = 0 的同一段代码就是训练预算相同的稠密对照。
# The book's training and L1 code in its order; only the flatten size is changed. The L1 term
# adds its subgradient λ·sign(p) (all parameters, biases too) to the gradient, and SGD with
# momentum 0.9 takes the step: a subgradient method with momentum, not a proximal step. The
# same code with λ = 0 is the equal-budget dense control. (In the library this step, without
# momentum, is `nnprune.algorithms.subgradient_l1_train`; the proximal one is `ista_train`.)

# %%
lesson.show(appc.book_appc)
LAMBDA = appc.BOOK["l1_lambda"]  # the book's l1_lambda = 0.001
EPOCHS = lesson.pick(full=appc.BOOK["epochs"], quick=1)  # per phase: dense, then L1
limit = lesson.pick(full=opts.limit, quick=opts.limit or 96)
if opts.cifar_root:
    train, test, data_name = appc.cifar_data(opts.cifar_root, limit, lesson.seed)
else:
    train, test, data_name = appc.standin_data(lesson.seed, limit)
say(f"data: {data_name}; {len(train[1])} training, {len(test[1])} test images; "
    f"{EPOCHS} + {EPOCHS} epochs of batch {appc.BOOK['batch_size']}")  # fmt: skip
tic = time.perf_counter()
as_printed = appc.book_appc(train, test, seed=lesson.seed, flatten=appc.BOOK_FLATTEN,
                            epochs=EPOCHS, l1_lambda=LAMBDA)  # fmt: skip
runs = {
    "book as printed": as_printed,
    "book settings": appc.book_appc(train, test, seed=lesson.seed, epochs=EPOCHS,
                                    l1_lambda=LAMBDA),
    "book settings, λ = 0": appc.book_appc(train, test, seed=lesson.seed, epochs=EPOCHS,
                                           l1_lambda=0.0),
}  # fmt: skip

# %% [markdown]
# ### 3. 修正版 / The corrected version, side by side
# 修正：卷积加 padding 1、每个卷积后 2x2 最大池化（32x32 才真正得到 64x8x8），fc1 与 fc2
# 之间加 ReLU；L1 只作用于权重，并写成近端步骤（软阈值，能得到精确的 0）；再补上书中文字
# 所说、代码却从未做的"剪枝前后"比较（全局按幅值剪去 90% 的权重，不再训练）。
# Fixed: padding 1 and 2x2 max-pooling after each convolution (so 32x32 really gives
# 64x8x8), a ReLU between fc1 and fc2; L1 on the weights only, as its proximal step (soft
# threshold: exact zeros); and the before/after-pruning comparison the text describes but the
# code never makes (90% of the weights pruned by global magnitude, no retraining).

# %%
lesson.show(appc.corrected_simple_cnn)
lesson.show(appc.corrected_appc)
runs["corrected"] = appc.corrected_appc(train, test, seed=lesson.seed, epochs=EPOCHS,
                                        l1_lambda=LAMBDA)  # fmt: skip
runs["corrected, λ = 0"] = appc.corrected_appc(train, test, seed=lesson.seed, epochs=EPOCHS,
                                               l1_lambda=0.0)  # fmt: skip
seconds = time.perf_counter() - tic
rows = []
for name, r in list(runs.items())[1:]:  # "book as printed" stopped at its first loss
    if r.trained is not None and r.acc_pruned_90 is None:  # the book never prunes: we do
        r.acc_pruned_90 = appc.pruned_accuracy(r.trained, test, 0.9)
    lam = LAMBDA if "λ = 0" not in name else 0.0
    rows.append({"row": name, "λ": lam, "parameters": r.parameters,
                 f"test, {EPOCHS} ep": r.acc_before_l1, f"test, {2 * EPOCHS} ep": r.acc_after_l1,
                 "w == 0": r.zero_fraction, "|w| < 1e-3": r.small_fraction,
                 "90% pruned": r.acc_pruned_90})  # fmt: skip
pct = {k: "{:.2%}" for k in ("|w| < 1e-3", "90% pruned")} | {"w == 0": "{:.3%}"}
pct |= {f"test, {EPOCHS} ep": "{:.2%}", f"test, {2 * EPOCHS} ep": "{:.2%}"}
print(format_table(rows, None, {"λ": "{:g}", "parameters": "{:,}"} | pct,
                   f"test accuracy after the dense phase ({EPOCHS} epoch(s)) and after the L1 "
                   f"phase ({2 * EPOCHS} in all); weights\nexactly 0 and below 1e-3; test accuracy"
                   f" with 90% of the weights pruned (global |w|, no retraining)"))  # fmt: skip
say(f"book as printed stops at its first loss: {as_printed.error}")

# %% [markdown]
# ### 4. fc1 → fc2 之间没有非线性，就是一个线性映射 / fc1 → fc2 is one linear map
# 书中说模型"最后是一个全连接层"，代码却有两个，且中间没有激活函数：fc2·(fc1·x + b1) + b2
# 就是一个 `Linear`。`prune.merge_linear` 把按书中设置训练好的 fc2 并入 fc1：输出相同，
# 参数更少。The text says "one fully connected layer"; the code has two with nothing between
# them, so they are one `Linear`: `prune.merge_linear` folds the trained fc2 into fc1.

# %%
book_model = runs["book settings"].trained
merged_model = copy.deepcopy(book_model)
record = prune.merge_linear(merged_model, "5")  # fc1 is layer 5; fc2 (layer 6) folds into it
merge_diff = float(np.abs(book_model(test[0][:64]) - merged_model(test[0][:64])).max())
say(f"fc1 -> fc2 of the book-settings model: {record.params_before:,} parameters; merged into "
    f"one Linear: {record.params_after:,}; largest output difference {merge_diff:.1e}")  # fmt: skip

# %% [markdown]
# ### 5. 权重分布：次梯度 vs 近端步骤 / The weights: subgradient against proximal step
# 左图中精确为 0 的权重单独画成黑边柱；其余柱子只含非零权重，所以 0 附近没有虚假的尖峰。
# Left: exact zeros are their own black-edged bar; the other bars hold non-zero weights only,
# so there is no false spike at 0 from the bin around it. Right: how small the non-zeros get.

# %%
weights = {name: appc.weight_vector(runs[name].trained) for name in ("book settings", "corrected")}
lesson.figure(weight_histograms(weights, LAMBDA, lesson.out))

# %% [markdown]
# ## What we measured
# 以下句子由本次运行的数字生成。Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
book, book0 = runs["book settings"], runs["book settings, λ = 0"]
fixed, fixed0 = runs["corrected"], runs["corrected, λ = 0"]
chance = 1 / 10
say(f"- The book's code as written: outputs {failure['output']} for a batch of "
    f"{failure['input'][0]}, then the loss fails: {failure['error']}")
zeros = {name: int(np.sum(appc.weight_vector(r.trained) == 0)) for name, r in runs.items()
         if r.trained is not None}  # fmt: skip
say(f"- Book settings (λ = {LAMBDA:g}, subgradient with momentum): {zeros['book settings']:,} of "
    f"{weights['book settings'].size:,} weights exactly 0 (λ = 0: "
    f"{zeros['book settings, λ = 0']:,}), {book.small_fraction:.2%} below 1e-3 (λ = 0: "
    f"{book0.small_fraction:.2%}). Corrected (proximal step): {zeros['corrected']:,} of "
    f"{weights['corrected'].size:,} exactly 0 (λ = 0: {zeros['corrected, λ = 0']:,}).")  # fmt: skip
for label, a, control in (("book settings", book, book0), ("corrected", fixed, fixed0)):
    if control.acc_after_l1 - chance < 0.02:  # no claim against a control at chance
        say(f"- {label}: its dense control is at {control.acc_after_l1:.2%}, within 2 points "
            f"of chance ({chance:.0%}): no comparison is made.")
        continue
    say(f"- {label}: {2 * EPOCHS} epochs with L1 {a.acc_after_l1:.2%} against "
        f"{control.acc_after_l1:.2%} for the same {2 * EPOCHS} epochs without "
        f"({100 * (a.acc_after_l1 - control.acc_after_l1):+.2f} points); with 90% of the weights "
        f"pruned {a.acc_pruned_90:.2%} against {control.acc_pruned_90:.2%} "
        f"({100 * (a.acc_pruned_90 - control.acc_pruned_90):+.2f} points).")  # fmt: skip
say(f"- fc1 and fc2 are one Linear: {record.params_before:,} -> {record.params_after:,} "
    f"parameters, outputs equal to {merge_diff:.1e}. Training and evaluation took "
    f"{seconds:.0f} s here ({EPOCHS} + {EPOCHS} epochs, {len(train[1])} training images).")

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题。
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "appc",
    [
        Try("Ten times the book's λ (0.01): do exact zeros appear at the book settings?",
            ('LAMBDA = appc.BOOK["l1_lambda"]', 'LAMBDA = 10 * appc.BOOK["l1_lambda"]'), "rows"),
        "Run on real CIFAR-10 with --cifar-root DIR --limit 5000 (782 batches an epoch at "
        "full size, not 19): does the L1 phase now make exact zeros, and beat its λ = 0 row?",
    ],
)  # fmt: skip
