# %% [markdown]
# # Chapter 3 · 神经网络剪枝方法 — pruning methods
#
# 同一个训练好的 MLP 用 §3.1 的三种剪枝（权重、神经元、层）和 §3.2 的三种准则（阈值、重要性、
# 自适应）剪枝，每种都给相同的再训练预算，并与等预算对照（稠密模型同样再训练）比较。§3.3 的
# 方法比较在 `ch03b_comparison.py`。
#
# One trained digits MLP (64-300-100-10), pruned by the three kinds of §3.1 (weights,
# neurons, a layer) and the three criteria of §3.2 (threshold, importance, adaptive), each
# copy given the same short retraining and compared with the equal-budget control (the
# dense model given the same epochs). §3.3's comparison of methods (accuracy, size, FLOPs,
# measured latency) is the second file, `ch03b_comparison.py`.
#
# `python chapters/ch03_pruning_methods.py [--quick] [--seed 0] [--out figures/ch03]`,
# or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
import copy
import textwrap

import numpy as np

from nnprune import metrics, nn, optim, prune
from nnprune.data import digits_splits
from nnprune.experiments import method_study as study
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.pipeline import GradualPruning, PolynomialDecay, weight_sparsity
from nnprune.plots.fonts import label
from nnprune.plots.methods import criteria
from nnprune.pseudocode.claims import prune_important
from nnprune.report import format_table
from nnprune.train import evaluate, fit

lesson = start("Chapter 3: pruning methods and criteria (book §3.1-3.2)", "figures/ch03")
EPOCHS = lesson.pick(full=20, quick=4)
RETRAIN_EPOCHS = lesson.pick(full=3, quick=1)  # the same budget for every row
splits = digits_splits(lesson.seed)
model = mlp((64, 300, 100, 10), seed=lesson.seed)
loss = nn.CrossEntropyLoss()
fit(
    model,
    loss,
    optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
    splits.train,
    epochs=EPOCHS,
    batch_size=64,
    seed=lesson.seed,
    backend=lesson.backend,
)
model.to("numpy")
dense_acc = evaluate(model, loss, splits.test)[1]
print(f"dense MLP, {EPOCHS} epochs: test split accuracy {dense_acc:.2%}")

# %% [markdown]
# ## §3.1 传统剪枝方法 — traditional pruning
#
# 权重剪枝用 0/1 掩码乘权重，矩阵形状不变；神经元剪枝删除整行，矩阵真正变小；层剪枝删除整层。
# 后面接 ReLU 的层不能无损删除：`remove_layer` 拒绝；这里去掉 ReLU，再把两个线性层合并为一个。
# 每行之后给同样的再训练预算，对照是同样再训练的稠密模型。
#
# **Weight** pruning multiplies weights by a 0/1 mask: the arrays keep their shape and the
# kept weights keep their values (the book calls this quantising to 0 or 1, which is
# binarisation: [errata §3.1](../docs/errata.md#s3-1)). **Neuron** pruning removes whole rows,
# so the matrices really shrink. **Layer** pruning removes a whole layer: a layer followed by a
# ReLU cannot go exactly (`remove_layer` refuses), so we drop the ReLU after layer 2 and merge
# the two linear maps around it (`merge_linear`), a lossy cut. Every row then gets the same
# retraining; the control is the dense model given the same epochs.

# %%
lesson.section("3.1")


def test_acc(m):
    return evaluate(m, loss, splits.test)[1]


def retrain(m, callbacks=()):  # the same budget for every row of §3.1 and §3.2
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    fit(m, loss, opt, splits.train, epochs=RETRAIN_EPOCHS, batch_size=64, seed=lesson.seed,
        progress=False, callbacks=callbacks)  # fmt: skip
    return test_acc(m)


weights, units, layer = (copy.deepcopy(model) for _ in range(3))
prune.l1_unstructured(weights[0], "weight", amount=0.5)  # half of layer 0's weights, masked
prune.prune_units(units, "0", 0.5, criterion="l1", input_shape=(64,))  # half of its units
try:
    prune.remove_layer(layer, "2")
except ValueError as err:
    print("remove_layer(model, '2') refuses:\n" + textwrap.fill(str(err), 96, initial_indent="  ",
                                                             subsequent_indent="  "))  # fmt: skip
del layer[3]  # the ReLU after layer 2: from here on the change is lossy
prune.merge_linear(layer, "2")  # Linear 300->100 then 100->10 become one Linear 300->10
rows = []
for name, m in (("dense + retraining", copy.deepcopy(model)), ("weights: 50% of layer 0", weights),
                ("neurons: 50% of layer 0", units), ("layer: layer 2 merged", layer)):  # fmt: skip
    shapes = " ".join("x".join(map(str, p.data.shape)) for p in m.parameters() if p.data.ndim == 2)
    nonzero = sum(np.count_nonzero(p.data) for p in m.parameters())
    rows.append({"pruned": name, "weight shapes": shapes, "non-zeros": nonzero,
                 "acc now": test_acc(m), "acc retrained": retrain(m)})  # fmt: skip
for r in rows:
    r["vs control"] = 100 * (r["acc retrained"] - rows[0]["acc retrained"])
print(format_table(rows, formats={"non-zeros": "{:,}", "acc now": "{:.2%}",
      "acc retrained": "{:.2%}", "vs control": "{:+.2f}"}, title=f"Test split; the same "
      f"{RETRAIN_EPOCHS} retraining epoch(s) each; vs control in points"))  # fmt: skip

# %% [markdown]
# ## §3.2 基于稀疏性的剪枝方法 — sparsity-based pruning
#
# 书中的三种准则：阈值（|w| < τ 的权重剪去）、重要性（剪去最不重要的，这里按 |w|）、自适应（在
# 训练中逐步调整剪枝）。书写的是“剪除重要的连接”，应为不重要的
# （[勘误 §3.2](../docs/errata.md#s3-2)）；下面实测两种方向。所有行使用相同的再训练预算。书中说连接
# 稀疏度“衡量非零连接的数量，越高越稀疏”，自相矛盾：这里连接稀疏度是失去全部连接的单元所占比例。
#
# The book's three criteria: **threshold** (prune `|w| < τ`), **importance** (prune the
# *least* important, here by |w|) and **adaptive** (the sparsity rises step by step during
# training, Zhu & Gupta's cubic schedule). The book says importance pruning removes the
# *important* connections ([errata §3.2](../docs/errata.md#s3-2)): we run both directions.
# All rows share the sparsity that τ gives and the same retraining budget. The book also
# says connection sparsity "measures the number of non-zero connections; the higher, the
# sparser", which contradicts itself: here it is the share of units left with no connection.

# %%
lesson.section("3.2")
TAU = 0.1  # the threshold criterion: one absolute τ for every layer
thresholded = copy.deepcopy(model)
for _, module, attr, _ in thresholded.prunable_parameters():
    prune.threshold_unstructured(module, attr, threshold=TAU)
S = weight_sparsity(thresholded)  # the sparsity τ gave
smallest, largest, adaptive = (copy.deepcopy(model) for _ in range(3))
prune.global_unstructured([(mod, a) for _, mod, a, _ in smallest.prunable_parameters()],
                          prune.L1Unstructured, amount=S)  # fmt: skip
prune.global_unstructured([(mod, a) for _, mod, a, _ in largest.prunable_parameters()],
                          prune.L1Unstructured, amount=S,  # the book's words: the largest go
                          importance_scores={(mod, a): 1 / (np.abs(p.data) + 1e-12) for _, mod,
                                             a, p in largest.prunable_parameters()})  # fmt: skip
pairs = zip(thresholded.prunable_parameters(), smallest.prunable_parameters(), strict=True)
same = all(np.array_equal(a.param.mask, b.param.mask) for a, b in pairs)
steps = RETRAIN_EPOCHS * -(-len(splits.train[1]) // 64)
freq = max(1, steps // 8)
schedule = PolynomialDecay(0.0, S, begin_step=0, end_step=freq * (2 * steps // 3 // freq),
                           frequency=freq)  # fmt: skip
lesson.show(PolynomialDecay.sparsity)
crit = []
for name, m, cbs in (("dense + retraining", copy.deepcopy(model), ()),
                     (f"threshold |w| < {TAU:g}", thresholded, ()),
                     ("importance: smallest |w|", smallest, ()),
                     ("importance: largest |w| (book)", largest, ()),
                     ("adaptive: cubic schedule", adaptive, [GradualPruning(schedule)]),
                     ):  # fmt: skip
    crit.append({"criterion": name, "acc now": test_acc(m), "acc retrained": retrain(m, cbs),
                 "sparsity": weight_sparsity(m)})  # fmt: skip
print(format_table(crit, formats={"acc now": "{:.2%}", "acc retrained": "{:.2%}",
      "sparsity": "{:.1%}"}, title=f"Test split, the same {RETRAIN_EPOCHS} retraining epoch(s); "
      "adaptive prunes during them"))  # fmt: skip
lesson.figure(criteria(crit, label("§3.2 的剪枝准则", "§3.2 criteria") + f": digits MLP, "
                       f"{RETRAIN_EPOCHS} retraining epoch(s) each", lesson.out,
                       "ch03_criteria.png"))  # fmt: skip
print(f"τ = {TAU:g} for every layer prunes exactly the mask of global magnitude: {same}")
claim = prune_important(quick=lesson.quick, seed=lesson.seed)
print(f"The §3.2 claim on a softmax regression, 50% of W zeroed: dense {claim['acc_dense']:.1%},"
      f"\n  smallest |w| {claim['acc_prune_unimportant']:.1%}, largest |w| "
      f"{claim['acc_prune_important']:.1%}")
conn = metrics.connection_sparsity(smallest)
nonzero = sum(np.count_nonzero(t.param.data) for t in smallest.prunable_parameters())
print(f"connection sparsity at {S:.0%}, per layer (dead neurons, unused inputs): " + ", ".join(
      f"{n} {r['output_sparsity']:.0%} {r['input_sparsity']:.0%}" for n, r in conn.items())
      + f";\n  {nonzero:,} non-zero weights remain: fewer non-zeros is sparser, not more")

# %% [markdown]
# Han 等人的阈值 q·std(W) 让每层稀疏度不同（再训练后的比较见 `ch03b_comparison.py`）— Han et
# al.'s threshold keeps `|w| >= q·std(W)` in each layer, so `q` sets a different sparsity per
# layer (retrained and compared in `ch03b_comparison.py`):

# %%
for q in (0.5, 1.0, 1.5, 2.0):
    m = copy.deepcopy(model)
    study.prune_model(m, "Han q*std", q, (64,))
    per_layer = ", ".join(
        f"{t.name} {1 - t.param.mask.mean():.0%}" for t in m.prunable_parameters()
    )
    print(f"  q={q:g}: zeros per layer {per_layer}")

# %% [markdown]
# ## What we measured
# 下面的句子由上面的数字计算得出 — computed from the numbers above.

# %%
lesson.part("What we measured")
ctrl = rows[0]["acc retrained"]
lesson.say("In §3.1, " + "; ".join(f"{r['pruned']} keeps {r['non-zeros']:,} non-zeros and ends "
           f"{r['vs control']:+.2f} points from the control" for r in rows[1:]) +
           f" (one test image is {100 / len(splits.test[1]):.2f} points).")  # fmt: skip
by = {r["criterion"]: r["acc retrained"] for r in crit}
lesson.say(
    f"In §3.2, at {S:.1%} sparsity and after the same retraining, threshold and smallest-|w| "
    f"importance prune the same weights (mask identical: {same}) and reach "
    f"{by['importance: smallest |w|']:.2%}; pruning the largest |w| as the book words it reaches "
    f"{by['importance: largest |w| (book)']:.2%}; the adaptive schedule reaches "
    f"{by['adaptive: cubic schedule']:.2%}; the dense control {ctrl:.2%}."
)
lesson.say(
    f"On the softmax regression, zeroing the 50% largest |w| leaves "
    f"{claim['acc_prune_important']:.1%} test accuracy, the 50% smallest "
    f"{claim['acc_prune_unimportant']:.1%} (dense {claim['acc_dense']:.1%})."
)

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — the graded exercises of this
# chapter, then open questions.

# %%
lesson.try_this(
    "ch3",
    [
        Try("Set `RETRAIN_EPOCHS = lesson.pick(full=10, quick=3)`: does the adaptive schedule "
            "catch up with one-shot pruning?", ("RETRAIN_EPOCHS = lesson.pick(full=3, quick=1)",
            "RETRAIN_EPOCHS = lesson.pick(full=10, quick=3)"), "crit"),
        Try("Set `TAU = 0.05`: what sparsity does it give, and what does it cost?",
            ("TAU = 0.1 ", "TAU = 0.05 "), "crit"),
    ],
)
