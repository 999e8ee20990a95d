# %% [markdown]
# # Chapter 8 · 总结与展望 — summary and outlook (§8.2, §8.3)
#
# 第8章的后两节：§8.2 未来研究的方向（动态剪枝、多粒度剪枝、跨领域剪枝、可解释性），§8.3
# 工业界应用（导出后的字节数与延迟）；§8.1 在 `chapters/ch08_trends.py`。全部在 8x8 数字与
# MLP 64-300-100-10 上测量，每个结论都对照等预算的基线。
#
# The second half of the book's last chapter: §8.2 the directions of future research
# (dynamic, multi-granularity and cross-domain pruning, interpretability), §8.3 what industry
# gets from a pruned model. §8.1 is `chapters/ch08_trends.py`. All on the 8x8 digits and the
# MLP 64-300-100-10, every claim against an equal-budget control. Run it as a script,
# `python chapters/ch08b_future_directions.py [--quick] [--seed 0] [--out figures/ch08]`, or
# as a notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 8 lesson, §8.2-8.3: SET/RigL, multi-granularity, cross-domain, export costs."""

import copy

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import nn, prune
from nnprune.backend import to_backend
from nnprune.casestudies import trends
from nnprune.data import digits_splits
from nnprune.export.costs import export_costs, onnx_available, onnx_latency
from nnprune.lesson import Try, start
from nnprune.metrics.latency import latency_with_noise_row
from nnprune.models import mlp
from nnprune.pipeline import evaluate, retrain, update_mask
from nnprune.pipeline.granularity import cross_domain_prune, domain_shift, multi_granularity_prune
from nnprune.plots.trends import granularity_and_domain
from nnprune.report import format_table
from nnprune.sparse import to_sparse_model

lesson = start(__doc__, "figures/ch08")
threadpool_limits(limits=1)  # small matrices: more BLAS threads only wait on a shared machine
EPOCHS = lesson.pick(full=30, quick=6)  # dense training, and each study's whole budget
SPARSITY = 0.9  # the sparsity of the sparse-training and cross-domain runs
PCT = trends.FORMATS  # how each column prints
CHANCE = 0.1  # ten digits
say = lesson.say
splits = digits_splits(lesson.seed)
build = lambda seed: trends.build_mlp(seed, lesson.backend)  # noqa: E731
dense = build(lesson.seed)
retrain(dense, splits, EPOCHS, trends.LR, seed=lesson.seed)
dense_test = evaluate(dense, splits.test)[1]
print(f"dense MLP, {EPOCHS} epochs: test accuracy {dense_test:.2%}")

# %% [markdown]
# ## §8.2 未来研究的方向 — future directions
#
# **动态剪枝。** 动态稀疏训练从第一步起固定稀疏度并移动连接：每 ΔT 步剪去最小幅值的一部分
# 活动权重（比例 ζ），再随机（SET）或按梯度最大处（RigL，ζ 按余弦衰减）重新生长同样多的连接，
# 新连接从零开始。下面是库中的一次更新。等预算对照是“静态随机”：同样的稀疏度、同样的轮数、
# 每步训练同样多的权重；“静态幅值”先稠密训练一半轮数，花费更多，不作排名。
#
# **Dynamic pruning.** Dynamic sparse training keeps the sparsity fixed from the first step
# and moves the connections: every ΔT steps it drops the smallest-magnitude fraction ζ of the
# active weights and regrows as many, at random (SET, Mocanu et al. 2018) or where the
# gradient is largest (RigL, Evci et al. 2020, ζ decayed by a cosine); grown weights start at
# zero. The update, as the library runs it, is below. Every layer at 90%
# (`distribution="uniform"`), the same epochs for all. The equal-budget control is *static
# random*: the same sparsity from the first step, so the same weights trained per step.
# *Static magnitude* trains dense for half the epochs first: the same epochs, but more
# weight updates (the `weight_updates` column), so it is shown, not ranked.

# %%
lesson.section("8.2", "dynamic, multi-granularity and cross-domain pruning")
lesson.show(update_mask)
dst = trends.dynamic_vs_static(splits, EPOCHS, SPARSITY, lesson.seed, build, lesson.out)
print(format_table(dst["rows"], None, PCT, f"sparse training at {SPARSITY:.0%} per layer, "
                   f"{EPOCHS} epochs (zeros = masked + grown, still 0)"))  # fmt: skip
lesson.figure(dst["figure"])

# %% [markdown]
# **多粒度剪枝。** 书中只点名"更细、更多样的粒度（神经元、层、连接）"而没有给方法；这里的
# 一种可测量的读法：在一个链式 MLP 上由粗到细，先删掉一整层，再删每个隐藏层一半的单元，最后
# 做全局幅值剪枝，每步后再训练。对照：同一个训练好的模型只剪权重，达到同样的非零权重数，
# 同样的再训练轮数。
#
# **Multi-granularity pruning.** The book names "finer, more diverse granularity (neurons,
# layers, connections)" without a method; one measurable reading (`nnprune.pipeline`'s, not
# the book's): on a chain MLP, coarse to fine, drop a whole layer (the one whose removal costs
# least), remove half the units of each hidden layer, then prune weights by global magnitude,
# retraining after each stage. The control prunes weights only, from the same trained model,
# to the same number of non-zero weights, with the same total retraining.

# %%
CE, RE = nn.CrossEntropyLoss(), lesson.pick(full=3, quick=1)  # retraining epochs per stage
chain = mlp((64, 100, 100, 100, 10), seed=lesson.seed)  # two square hidden layers: droppable
retrain(chain, splits, EPOCHS, trends.LR, seed=lesson.seed)
control = copy.deepcopy(chain)
stages = multi_granularity_prune(chain, CE, splits.train, splits.val, splits.test, n_layers=1,
                                 unit_fraction=0.5, sparsity=0.7, retrain_epochs=RE,
                                 lr=0.01, seed=lesson.seed)  # fmt: skip
prune.to_sparsity(control, 1 - stages[-1]["weight_nonzeros"] / stages[0]["weights"])
retrain(control, splits, 3 * RE, 0.01, seed=lesson.seed)  # the three stages' epochs
weights = [t.param.data for t in control.prunable_parameters()]
ctrl = {"stage": "control: weights only", "params": control.num_parameters(),
        "weight_nonzeros": sum(int(np.count_nonzero(w)) for w in weights),
        "accuracy": evaluate(control, splits.test)[1]}  # fmt: skip
print(format_table([*stages, ctrl], ["stage", "params", "weight_nonzeros", "accuracy"],
                   {"accuracy": "{:.2%}"}, f"\nlayers -> units -> weights, {RE} epoch(s) "
                   "after each (test split; params: stored, with biases)"))  # fmt: skip

# %% [markdown]
# **跨领域剪枝。** 在源领域（原始数字）上选掩码，再在目标领域（翻转、旋转或反色的数字）上
# 微调；对照在目标领域上选掩码，两者训练同样的轮数、达到同样的稀疏度。
#
# **Cross-domain pruning.** Choose the masks on the source domain (the digits), fine-tune
# with them on a shifted target domain (the digits flipped, rotated or inverted); the control
# chooses its masks on the target after the same dense fine-tuning. Same epochs, same sparsity.

# %%
FT = lesson.pick(full=5, quick=1)  # epochs before and after choosing the masks
domain = []
for shift in ("flip", "rotate", "invert"):
    train, test = ((domain_shift(x, shift), y) for x, y in (splits.train, splits.test))
    domain += [{"shift": shift, **r} for r in cross_domain_prune(
        dense, CE, splits.train, train, test, SPARSITY, finetune_epochs=FT, lr=trends.LR,
        seed=lesson.seed)]  # fmt: skip
print(format_table(domain, None, {"sparsity": "{:.2%}", "accuracy": "{:.2%}", "loss": "{:.3f}"},
                   f"\ncross-domain at {SPARSITY:.0%}, {FT} + {FT} epochs (target test split)"))
lesson.figure(granularity_and_domain(stages, ctrl, domain, lesson.out, CHANCE))

# %% [markdown]
# **可解释性。** 剪枝后的网络还读哪些输入？对 64 个像素逐一数第一层留下的连接；训练集中从不
# 变化的像素（标 x）不携带信息。
#
# **Interpretability.** Which inputs does a pruned network still read? For each of the 64
# pixels, count the first-layer connections that survive. Pixels that never vary in the
# training set (marked x) carry no information.

# %%
chosen = {m: dst["models"][m] for m in ("static magnitude", "RigL")}
seen = trends.surviving_inputs(chosen, splits, lesson.out)
dead = seen["constant"]
per_dead = {m: float(k[dead].mean()) if dead.any() else 0.0 for m, k in seen["kept"].items()}
per_live = {m: float(k[~dead].mean()) for m, k in seen["kept"].items()}
for m in chosen:
    print(f"{m}: {per_dead[m]:.1f} kept connections per constant pixel ({int(dead.sum())}), "
          f"{per_live[m]:.1f} per varying pixel ({int((~dead).sum())})")  # fmt: skip
lesson.figure(seen["figure"])

# %% [markdown]
# ## §8.3 剪枝优化在工业界的应用前景 — industrial outlook
#
# 剪枝后的模型离开训练脚本后的代价：每种导出格式的磁盘字节数和前向时间（交错测量的中位数，
# 附噪声行）。剪枝模型是 §8.2 的 RigL 模型；“shrunk dense” 从稠密模型中物理删除一半隐藏单元。
#
# What does a pruned model cost once it leaves the training script? Bytes on disk of each
# exported form, and the forward time of each (interleaved medians, with the noise row). The
# pruned model is the RigL one of §8.2; "shrunk dense" removes half the hidden units
# physically from the dense model instead. The ONNX rows need the `onnx` extra.

# %%
lesson.section("8.3", "bytes on disk and latency once exported")
shrunk = trends.shrunk_copy(dense, splits, lesson.seed, EPOCHS // 3)
exported = {"dense": dense, "RigL 90%": dst["models"]["RigL"], "shrunk dense": shrunk}
disk = export_costs(exported, (64,), splits.test)
print(format_table(disk, None, PCT, "each file written, read back and evaluated (test split)"))
big = np.repeat(splits.test[0], 8, axis=0)  # 8 copies of the test split: one batch
fast = {"dense": dense, "RigL 90%, CSR kernels": to_sparse_model(exported["RigL 90%"], "sparse"),
        "shrunk dense": shrunk}  # fmt: skip
latency = latency_with_noise_row(fast, to_backend(big, lesson.backend))
print(format_table(latency, None, PCT, "\nnnprune forward pass, interleaved medians"))
if onnx_available():  # the onnx extra: ONNX Runtime runs the exported files
    ort = onnx_latency(exported, (64,), big)
    print(f"ONNX Runtime, batch {len(big)}: " + ", ".join(
        f"{name} {1000 * t:.3f} ms" for name, t in ort.items()))  # fmt: skip

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers; a difference is ranked only when its control
# is more than 2 points above chance.

# %%
lesson.part("What we measured")
acc = {r["method"]: r["test_accuracy"] for r in dst["rows"]}
upd = {r["method"]: r["weight_updates"] for r in dst["rows"]}
pts = lambda a, b: f"{100 * (a - b):+.2f} points"  # noqa: E731
above = acc["static random"] > CHANCE + 0.02
say(
    f"- Sparse training at {SPARSITY:.0%}, {EPOCHS} epochs, against the equal-budget control "
    f"static random ({acc['static random']:.2%}): "
    + (f"RigL {pts(acc['RigL'], acc['static random'])}, SET "
       f"{pts(acc['SET'], acc['static random'])}" if above else "within 2 points of chance, "
       "no ranking")
    + f". Static magnitude, dense for {EPOCHS // 2} epochs first ({upd['static magnitude']:.2f}x "
    f"the weight updates of dense, RigL {upd['RigL']:.2f}x): {acc['static magnitude']:.2%}, "
    f"not ranked (more budget). One test image = {100 / len(splits.test[1]):.2f} points."
)  # fmt: skip
last = stages[-1]
say(
    f"- Multi-granularity: {last['weight_nonzeros']:,} non-zero weights in {last['params']:,} "
    f"stored parameters, {last['accuracy']:.2%}; weights only at the same non-zeros and epochs "
    f"({ctrl['params']:,} stored): {ctrl['accuracy']:.2%}"
    + (f", a difference of {pts(last['accuracy'], ctrl['accuracy'])}."
       if ctrl["accuracy"] > CHANCE + 0.02 else " (within 2 points of chance: no ranking).")
)  # fmt: skip
by = {(r["shift"], r["run"].split(",")[0]): r["accuracy"] for r in domain}
say("- Cross-domain, masks from the source minus masks from the target (same epochs): " + ", ".join(
    f"{s} " + (pts(by[s, "pruned on source"], by[s, "pruned on target"])
               if by[s, "pruned on target"] > CHANCE + 0.02 else "no ranking (near chance)")
    for s in ("flip", "rotate", "invert")) + ".")  # fmt: skip
kb = {(r["model"], r["format"]): r["kB_disk"] for r in disk}
ms = {r["model"]: r["ms_forward"] for r in latency}
say(
    f"- Constant pixels keep {per_dead['static magnitude']:.1f} connections each under "
    f"magnitude pruning and {per_dead['RigL']:.1f} under RigL. RigL 90% on disk: CSR "
    f"{kb['RigL 90%', 'csr']:.1f} kB, dense checkpoint {kb['RigL 90%', 'checkpoint']:.1f} kB; "
    f"shrunk dense {kb['shrunk dense', 'checkpoint']:.1f} kB. Forward: CSR kernels "
    f"{ms['RigL 90%, CSR kernels']:.2f} ms, shrunk {ms['shrunk dense']:.2f} ms, dense "
    f"{ms['dense']:.2f} ms (noise row {latency[1]['vs_dense']:.2f}x)."
)

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch8",
    [
        Try("Set SPARSITY = 0.97: does the gap between RigL and static random grow?",
            ("SPARSITY = 0.9 ", "SPARSITY = 0.97 "), "dst"),
        Try("Pass update_every=5 to trends.dynamic_vs_static: how many connections move now?",
            ("lesson.seed, build, lesson.out)\nprint(format_table(dst",
             "lesson.seed, build, lesson.out, update_every=5)\nprint(format_table(dst"), "dst"),
        Try("Drop no layer (n_layers=0): do units and weights alone do better?",
            ("n_layers=1", "n_layers=0"), "stages"),
        "pipeline.layer_sparsities(build(0), 0.9) is RigL's default split: train with it?",
    ],
)
