# %% [markdown]
# # Chapter 3 · 神经网络剪枝方法 — pruning methods
#
# 同一个训练好的 MLP 用本章每种方法剪枝，给相同的掩码再训练预算，并与等预算对照（稠密模型
# 同样再训练）比较准确率、大小、FLOPs 和实测延迟。
#
# One trained digits MLP (64-300-100-10), pruned by every method of the chapter,
# each copy given the same short masked retraining, then measured: accuracy,
# size, FLOPs and *measured* latency. The book ranks the methods in §3.3 without
# evidence ([errata §3.3](../docs/errata.md#s3-3)); here the ranking comes from the table.
#
# `python chapters/ch03_pruning_methods.py [--quick] [--seed 0] [--out figures/ch03]`,
# or as a notebook (`NNPRUNE_QUICK=1` for the quick run). The full run adds the
# small CNN with filter pruning.
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
import copy

import numpy as np

from nnprune import nn, optim, prune
from nnprune.data import digits_splits
from nnprune.experiments import method_study as study
from nnprune.lesson import Try, start
from nnprune.models import mlp, small_cnn
from nnprune.plots.methods import accuracy_and_speed
from nnprune.report import write_csv
from nnprune.train import evaluate, fit

lesson = start("Chapter 3: pruning methods compared (book §3.1-3.3)", "figures/ch03")
EPOCHS = lesson.pick(full=20, quick=4)
RETRAIN_EPOCHS = lesson.pick(full=3, quick=1)  # the same budget for every method
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
# 非结构化剪枝用 0/1 掩码乘权重，矩阵形状不变；结构化剪枝删除整个神经元，矩阵真正变小。
#
# **Unstructured** pruning multiplies weights by a 0/1 mask: the arrays keep their
# shape and the kept weights keep their values (the book calls this quantising to
# 0 or 1, which is binarisation: [errata §3.1](../docs/errata.md#s3-1)). **Structured** pruning
# removes whole neurons, so the matrices really shrink.

# %%
lesson.section("3.1")
masked, shrunk = copy.deepcopy(model), copy.deepcopy(model)
prune.l1_unstructured(masked[0], "weight", amount=0.5)  # half of layer 0's weights, masked
prune.prune_units(shrunk, "0", 0.5, criterion="l1", input_shape=(64,))  # half of its units
print("layer 0 loses half of its weights both ways;\nweight shapes of layers 0 and 2, "
      "non-zeros of layer 0, test split accuracy:")  # fmt: skip
for name, m in (("50% of layer 0 masked", masked), ("half of layer 0 removed", shrunk)):
    w = m[0].weight.data
    print(
        f"  {name:>23}: {w.shape} and {m[2].weight.shape}, {np.count_nonzero(w):,} "
        f"non-zeros, test {evaluate(m, loss, splits.test)[1]:.2%}"
    )

# %% [markdown]
# ## §3.2 基于稀疏性的剪枝方法 — sparsity-based pruning
#
# 剪枝准则决定剪哪些权重，工作点决定剪多少：幅值剪枝给定稀疏度，Han 等人的阈值
# q·std(W) 则让每层稀疏度不同。
#
# A criterion decides *which* weights go; an operating point says *how many*.
# Magnitude pruning takes a sparsity (ranked over all layers, or per layer);
# Han et al.'s threshold keeps `|w| >= q·std(W)` in each layer, so `q` sets a
# different sparsity per layer. Here is what each `q` gives on the trained model:

# %%
lesson.section("3.2")
for q in (0.5, 1.0, 1.5, 2.0):
    m = copy.deepcopy(model)
    study.prune_model(m, "Han q*std", q, (64,))
    per_layer = ", ".join(
        f"{t.name} {1 - t.param.mask.mean():.0%}" for t in m.prunable_parameters()
    )
    print(f"  q={q:g}: zeros per layer {per_layer}")
POINTS = {  # method -> operating points (a sparsity, a q, a fraction of units)
    "global magnitude": lesson.pick(full=(0.5, 0.75, 0.9, 0.95), quick=(0.5, 0.9)),
    "layer-wise magnitude": lesson.pick(full=(0.5, 0.75, 0.9, 0.95), quick=(0.9,)),
    "Han q*std": lesson.pick(full=(0.5, 1.0, 1.5, 2.0), quick=(1.0,)),
    study.STRUCTURED: (0.25, 0.5, 0.75),
}

# %% [markdown]
# ## §3.3 剪枝方法的比较与评估 — comparing and evaluating methods
#
# 每种方法使用相同的模型、数据、随机种子和再训练预算，另加等预算对照“稠密 + 再训练”。
#
# Same trained model, data, seed and retraining budget for every method, plus the
# control `dense + retraining` (the dense model given the same extra epochs). Two
# tables: accuracy (test split, differences in points), then size and speed
# (`theory x` = FLOP ratio; `x dense`/`x csr` = measured speed-up over the dense
# model, batch 256, one thread). Every column is in the CSV.

# %%
lesson.section("3.3")
networks = {"MLP 64-300-100-10": (model, splits, POINTS)}

# %% [markdown]
# A full run adds the small CNN: whole filters removed (structured) against global
# magnitude. Then, for every network: the study, two tables, a figure and the CSV.

# %%
if not lesson.quick:
    cnn_splits = digits_splits(lesson.seed, flatten=False)
    cnn = small_cnn(1, 10, 8, channels=(16, 32), seed=lesson.seed)
    fit(
        cnn,
        loss,
        optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9),
        cnn_splits.train,
        epochs=EPOCHS,
        batch_size=64,
        seed=lesson.seed,
        backend=lesson.backend,
    )
    cnn.to("numpy")
    cnn_points = {
        "global magnitude": POINTS["global magnitude"],
        study.STRUCTURED: (0.25, 0.5, 0.75),
    }
    networks["CNN 16-32 (filters)"] = (cnn, cnn_splits, cnn_points)
results = {}
for title, (net, data, points) in networks.items():
    res = study.study(
        net,
        data,
        points,
        retrain_epochs=RETRAIN_EPOCHS,
        seed=lesson.seed,
        repeats=lesson.pick(full=40, quick=10),
    )
    rows = res["rows"]
    print(study.accuracy_table(rows, f"\n{title}"))
    print(study.speed_table(rows, f"\n{title}"))
    slug = title.split()[0].lower()
    lesson.figure(accuracy_and_speed(
        rows,
        f"{title} on digits, seed {lesson.seed}",
        lesson.out,
        f"ch03_{slug}_accuracy_vs_sparsity.png",
        study.CONTROL,
    ))
    print(f"table: {write_csv(lesson.out / f'ch03_{slug}_table.csv', rows)}")  # every column
    results[slug] = res


# %% [markdown]
# ## What we measured
# Computed from the MLP's table above (and the CNN's, in a full run).

# %%
lesson.part("What we measured")
for slug, res in results.items():
    rows = res["rows"]
    ctrl = next(r for r in rows if r["method"] == study.CONTROL)
    noise = max(study.NOISE, abs(ctrl["x dense"] - 1))  # the dense model timed against itself
    print(
        f"{slug.upper()}: the control (dense + retraining) moved accuracy "
        f"{100 * (ctrl['acc retrained'] - rows[0]['acc retrained']):+.2f} points and timed "
        f"{ctrl['x dense']:.2f}x:\n  speed-ups within ±{noise:.0%} are noise."
    )
    for method in dict.fromkeys(r["method"] for r in rows[2:]):
        rs = [r for r in rows if r["method"] == method]
        xs = [r["x dense"] for r in rs] + [r["x csr"] for r in rs if "x csr" in r]
        print(
            f"  {method}: compression {study.span([r['compress'] for r in rs], '{:.1f}x')},"
            f" FLOPs {study.span([r['theory x'] for r in rs], '{:.1f}x')},\n    measured "
            f"{study.span(xs)} (dense and CSR kernels): {study.speed_verdict(xs, noise)}"
        )

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch3",
    [
        Try("Set `RETRAIN_EPOCHS = lesson.pick(full=10, quick=3)`: which gap to dense closes?",
            ("RETRAIN_EPOCHS = lesson.pick(full=3, quick=1)",
             "RETRAIN_EPOCHS = lesson.pick(full=10, quick=3)"), "results"),
        Try("Add 0.98 to the points of layer-wise magnitude: where does it break?",
            ("quick=(0.9,)),", "quick=(0.9, 0.98)),"), "results"),
    ],
)
