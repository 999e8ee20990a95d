# %% [markdown]
# # Chapter 3 (continued) · 剪枝方法的比较与评估 — comparing pruning methods
#
# 第 3 章的第二个文件（§3.3）。同一个训练好的 MLP 用 §3.1–§3.2 的每种方法在多个工作点剪枝，
# 给相同的掩码再训练预算，并与等预算对照（稠密模型同样再训练）比较准确率、大小、FLOPs 和实测
# 延迟。书在 §3.3 中没有证据地给方法排名（[勘误 §3.3](../docs/errata.md#s3-3)），这里排名来自表格。
#
# The second file of chapter 3 (§3.3; `ch03_pruning_methods.py` holds §3.1–§3.2). One trained
# digits MLP (64-300-100-10), pruned by every method of the chapter at several operating
# points, each copy given the same short masked retraining, then measured: accuracy, size,
# FLOPs and *measured* latency. The book ranks the methods in §3.3 without evidence
# ([errata §3.3](../docs/errata.md#s3-3)); here the ranking comes from the table.
#
# `python chapters/ch03b_comparison.py [--quick] [--seed 0] [--out figures/ch03]`, or as a
# notebook (`NNPRUNE_QUICK=1` for the quick run). The full run adds the small CNN with
# filter pruning.
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
from nnprune import nn, optim
from nnprune.data import digits_splits
from nnprune.experiments import method_study as study
from nnprune.lesson import Try, start
from nnprune.models import mlp, small_cnn
from nnprune.plots.methods import accuracy_and_speed
from nnprune.report import write_csv
from nnprune.train import evaluate, fit

lesson = start("Chapter 3: pruning methods compared (book §3.3)", "figures/ch03")
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
POINTS = {  # method -> operating points (a sparsity, a q, a fraction of units)
    "global magnitude": lesson.pick(full=(0.5, 0.75, 0.9, 0.95), quick=(0.5, 0.9)),
    "layer-wise magnitude": lesson.pick(full=(0.5, 0.75, 0.9, 0.95), quick=(0.9,)),
    "Han q*std": lesson.pick(full=(0.5, 1.0, 1.5, 2.0), quick=(1.0,)),
    study.STRUCTURED: (0.25, 0.5, 0.75),
}
networks = {"MLP 64-300-100-10": (model, splits, POINTS)}

# %% [markdown]
# 完整运行再加入小型 CNN：删除整个滤波器（结构化）与全局幅值剪枝对比。
#
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
# 由上面 MLP 的表格（完整运行时还有 CNN 的表格）计算得出 — computed from the MLP's table
# above (and the CNN's, in a full run).

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
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — the graded exercises of this
# chapter, then open questions.

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
