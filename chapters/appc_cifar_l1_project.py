# %% [markdown]
# # §C 神经网络剪枝优化项目实战 — hands-on project
#
# 本课先按书中原样运行附录C的
# SimpleCNN（它在第一个批次就出错），再运行修正后的项目：只对权重加 L1，比较次梯度
# SGD 与近端梯度（ISTA，软阈值），最后剪枝并再训练。
#
# The book's appendix C trains `SimpleCNN` on CIFAR-10 (conv 3→32 3x3, ReLU, conv 32→64
# 3x3, ReLU, view as 64·8·8, fc1 → 128, fc2 → 10), then retrains it with plain SGD on
# `loss + 0.001 * sum(|p| for p in model.parameters())`. As printed it does not run, and
# its L1 step cannot produce zeros ([errata, appendix C](../docs/errata.md#app-c)). This
# lesson runs the book's code to show where it fails, then the corrected project: L1 on
# the weights only, subgradient SGD against the proximal step (ISTA), pruning and
# retraining.
#
# Data: the bundled 8x8 digits by default (1x8x8, runs anywhere); real CIFAR-10 with
# `--cifar-root DIR` (never downloaded) and `--limit N` images (NumPy-only training).
# Run: `python chapters/appc_cifar_l1_project.py [--quick] [--seed 0] [--out figures/appc]`.
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Appendix C lesson: the book's CIFAR-10 L1 project, run as written, then corrected.

Besides the options below: --cifar-root DIR (CIFAR-10 batches, binary or python) and
--limit N (N random training and test images; 0: all).
"""

import argparse
import copy
import sys

from nnprune.casestudies import l1_project as project
from nnprune.lesson import in_notebook, start
from nnprune.metrics import model_size
from nnprune.report import format_table
from nnprune.train import fit

more = argparse.ArgumentParser(add_help=False)
more.add_argument("--cifar-root", default=None)
more.add_argument("--limit", type=int, default=0)
opts, rest = more.parse_known_args([] if in_notebook() else sys.argv[1:])
lesson = start(__doc__, "figures/appc", argv=rest)
kw = dict(batch_size=project.BATCH_SIZE, seed=lesson.seed, progress=None, backend=lesson.backend)
say = lesson.say
lesson.section("C", "the book's CIFAR-10 L1 project, run and corrected")

# %% [markdown]
# ### 1. The book's `SimpleCNN`, as printed
# Two unpadded 3x3 convolutions on 32x32 leave 64x28x28 = 50176 features (there is no
# pooling), but fc1 expects 64·8·8 = 4096. nnprune says so on the first batch:

# %%
literal_error = project.show_literal_error(lesson.seed)
say(f"SimpleCNN on a (2, 3, 32, 32) batch -> ValueError: {literal_error}")
train, test, data_name = project.load_data(opts.cifar_root, opts.limit, lesson.seed)
in_ch, side = train[0].shape[1], train[0].shape[2]
print(f"data: {data_name} (accuracies below: test split)")

# %% [markdown]
# ### 2. fc1 → fc2 without a non-linearity is one linear map
# With the flatten size fixed, the book's layers train; but fc2·(fc1·x + b1) + b2 is a
# single `Linear`. `prune.merge_linear` folds fc2 into fc1: same outputs, fewer parameters.

# %%
merge = project.merge_demo(in_ch, side, train, test, kw)
say(
    f"fc1 -> fc2: {merge['params_before']:,} parameters; merged into one Linear: "
    f"{merge['params_after']:,}; largest output difference {merge['max_abs_diff']:.2e}"
)

# %% [markdown]
# ### 3. The corrected CNN, trained dense
# Padding 1 and a 2x2 max-pool after each convolution (so 32x32 really gives 64x8x8) and
# a ReLU between fc1 and fc2.

# %%
dense = project.simple_cnn(in_ch, project.CHANNELS[1] * (side // 4) ** 2, lesson.seed, fixed=True)
fit(dense, project.LOSS, project.sgd(dense), train, epochs=lesson.pick(full=15, quick=4), **kw)
dense_acc = project.accuracy(dense, test)
print(f"corrected CNN, dense: {model_size(dense)[0]:,} parameters, test accuracy {dense_acc:.2%}")

# %% [markdown]
# ### 4. L1 on the weights only: subgradient SGD against ISTA
# The book's step adds λ·sign(w) to the gradient: weights shrink and cross zero, but land
# on it only by chance. ISTA's proximal step soft-thresholds, w ← sign(w)·max(|w| − ηλ, 0),
# and sets small weights to exactly 0. The last run penalises the biases too, as the book.

# %%
lams = lesson.pick(full=(1e-3, 3e-3, 1e-2), quick=(3e-3, 1e-2))
l1_epochs = lesson.pick(full=10, quick=3)
l1_rows, l1_models = project.l1_training(dense, lams, l1_epochs, train, test, kw)
print(format_table(l1_rows, None, project.FORMATS, f"L1 training from the dense CNN, {l1_epochs} "
                   f"epochs of SGD (lr {project.LR}, no momentum) each; test split"))  # fmt: skip
lesson.figure(project.plot(l1_models, project.PRUNE_LAM, lesson.out))

# %% [markdown]
# ### 5. Prune 90% of the weights by global magnitude, retrain with the masks kept

# %%
starts = [("dense", dense)] + [(f"{m} {project.PRUNE_LAM:g}", l1_models[m, project.PRUNE_LAM])
                               for m in ("subgradient", "ista")]  # fmt: skip
retrain_epochs = lesson.pick(full=5, quick=2)
prune_rows = [project.prune_and_retrain(s, m, retrain_epochs, train, test, kw) for s, m in starts]
control = copy.deepcopy(dense)  # the equal-budget control: dense, trained as many more epochs
fit(control, project.LOSS, project.sgd(control), train, epochs=l1_epochs + retrain_epochs, **kw)
control_acc = project.accuracy(control, test)
print(format_table(prune_rows, None, project.FORMATS, f"global magnitude pruning to "
                   f"{project.SPARSITY:.0%} of the weights, {retrain_epochs} epochs of masked "
                   f"retraining;\ntest split (dense {dense_acc:.2%}; dense with the same "
                   f"{l1_epochs + retrain_epochs} more epochs {control_acc:.2%})"))  # fmt: skip

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
by = {(r["method"], r["lam"]): r for r in l1_rows}
lam = project.PRUNE_LAM if project.PRUNE_LAM in lams else lams[0]
sub, ista = by["subgradient", lam], by["ista", lam]
book = next(r for r in l1_rows if "biases too" in r["method"])
say(f"- The book's SimpleCNN fails on its first batch: {literal_error}")
say(f"- At lambda {lam:g}, subgradient SGD left {sub['zero_fraction']:.2%} of the weights exactly "
    f"0 ({sub['small_fraction']:.2%} below {project.SMALL:g}); ISTA {ista['zero_fraction']:.2%} "
    f"({ista['small_fraction']:.2%}); test accuracy {sub['test_acc']:.2%} vs {ista['test_acc']:.2%}"
    f" (dense {dense_acc:.2%}, {l1_epochs} epochs less training).")  # fmt: skip
say(
    f"- Penalising the biases too (the book) zeroed {book['bias_zero_fraction']:.2%} of them; "
    "the weights-only runs zeroed "
    f"{max(r['bias_zero_fraction'] for r in l1_rows if r is not book):.2%}."
)
best = max(prune_rows, key=lambda r: r["test_retrained"])
say(
    f"- After pruning to {project.SPARSITY:.0%} and retraining, '{best['start']}' did best: "
    f"{best['test_retrained']:.2%} ({100 * (best['test_retrained'] - control_acc):+.2f} points vs "
    f"the dense model given the same {l1_epochs + retrain_epochs} more epochs), stored in "
    f"{best['csr_bytes'] / best['dense_bytes']:.0%} of the dense bytes as CSR."
)

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "appc",
    [
        "Add momentum 0.9 to the ISTA run: are the zeros still exact? (see nnprune.algorithms)",
        "Run on real CIFAR-10 with --cifar-root DIR --limit 5000: does the ranking hold?",
    ],
)
