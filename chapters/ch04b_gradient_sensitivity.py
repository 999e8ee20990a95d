# %% [markdown]
# # Chapter 4 · 稀疏性优化算法 (§4.3) — gradient-sensitivity pruning
#
# 第四章的第二部分（§4.1–4.2 在 `ch04_sparsity_optimisation.py`）：书中的 GSP、AGSP、GSAP
# 三段伪代码照原样运行，与修正版并排比较；再在数字 MLP 64-128-64-10 上以多个剪枝率剪枝并
# 重训练，与幅值（L1）和随机剪枝在同等预算下比较；最后运行修正后的书中迭代 GSP 循环。
#
# The second part of chapter 4 (§4.1–4.2 are in `ch04_sparsity_optimisation.py`): the book's
# GSP, AGSP and GSAP blocks run as written beside their corrections; then AGSP, GSP and GSAP
# prune the digits MLP 64-128-64-10 at several sparsities and retrain, against magnitude (L1)
# and random pruning at the same budget; last, the book's iterative GSP loop, corrected.
#
# `python chapters/ch04b_gradient_sensitivity.py [--quick] [--seed 0] [--out figures/ch04]`, or
# as a notebook (`NNPRUNE_QUICK=1` for the quick run). 以 `pip install -e .`（可编辑安装）安装后，
# 修改 `nnprune/...` 会改变本课打印的数字 — editing `nnprune/...` changes what this lesson prints.

# %%
"""Chapter 4 (§4.3): gradient-sensitivity pruning: GSP, AGSP, GSAP, the iterative GSP loop."""
import copy

from nnprune import nn, optim, pipeline, saliency
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.plots import optimisation as plots
from nnprune.pseudocode import s4_3_agsp, s4_3_gsap, s4_3_gsp
from nnprune.report import format_table
from nnprune.saliency.units import taylor_terms
from nnprune.train import evaluate, fit

lesson = start(__doc__, "figures/ch04")
splits, CE = digits_splits(lesson.seed), nn.CrossEntropyLoss()
dense = mlp((64, 128, 64, 10), seed=lesson.seed)
fit(dense, CE, optim.SGD(dense.parameters(), lr=0.05, momentum=0.9), splits.train,
    epochs=lesson.pick(full=20, quick=4), batch_size=64, seed=lesson.seed,
    backend=lesson.backend)  # fmt: skip
dense.to("numpy")
dense_acc, CHANCE = evaluate(dense, CE, splits.test)[1], 0.1
print(f"dense MLP: test split accuracy {dense_acc:.2%} (chance {CHANCE:.0%})")

# %% [markdown]
# ## §4.3 基于梯度敏感性的优化算法 — gradient-sensitivity algorithms (GSP, AGSP, GSAP)
#
# GSP 按梯度幅值 |∂J/∂w|（多个批次累加）排序；AGSP 按一阶泰勒估计 |∂J/∂w · w|；GSAP 按神经元
# |z · ∂J/∂z| 的批均值整体删除神经元。书中取*有符号*梯度的最小值，即最负的梯度：那正是损失
# 最敏感的权重；而且置零后紧接着的更新又把它“复活”。修正版用幅值、保留掩码。
#
# GSP ranks weights by the gradient's *magnitude* `|∂J/∂w|`, accumulated over batches; AGSP by
# the first-order Taylor estimate `|∂J/∂w · w|`; GSAP removes whole neurons by the batch mean
# of `|z · ∂J/∂z|`. The book takes the minimum *signed* gradient, the most negative one: the
# weight the loss is most sensitive to; and its update right after `W_ij = 0` revives the
# weight. The corrections use magnitudes and keep a mask. Each block runs on its module's
# tiny problem (softmax regression on the digits; GSAP: an MLP 64-32-10), against magnitude
# pruning (units: smallest outgoing norm) with the same updates.

# %%
lesson.section("4.3")
lesson.show(saliency.gsp_scores)  # GSP: |∂J/∂w| accumulated over batches
lesson.show(saliency.agsp_scores)  # AGSP: |∂J/∂w · w|
lesson.show(taylor_terms)  # GSAP: z · ∂J/∂z per unit; gsap_scores averages |.| over batches
blocks = {}
for name, book, corrected in (("GSP", s4_3_gsp.book_gsp, s4_3_gsp.corrected_gsp),
                              ("AGSP", s4_3_agsp.book_agsp, s4_3_agsp.corrected_agsp)):  # fmt: skip
    lesson.show(book)  # as the book writes it
    lesson.show(corrected)  # the same names and line order, each fix marked
    blocks[name] = s4_3_gsp.run(book, corrected, lesson.quick, lesson.seed)  # same W0, same data
    lesson.say(f"{name} as the book writes it: {blocks[name]['book'].line()}")
    lesson.say(f"{name} corrected: {blocks[name]['corrected'].line()}")
lesson.show(s4_3_gsap.book_gsap)
lesson.show(s4_3_gsap.corrected_gsap)
blocks["GSAP"] = s4_3_gsap.run(lesson.quick, lesson.seed)
lesson.say(f"GSAP block: {s4_3_gsap.summary(lesson.quick, lesson.seed)}")

# %% [markdown]
# ### 剪枝率扫描 — pruning at several sparsities, equal budgets
#
# 同一个训练好的模型的副本，按各准则一次剪到目标稀疏度，然后同样轮数重训练（掩码保持）；
# 幅值（权重）、L1 范数（神经元）与随机剪枝是同等预算的对照。
#
# Copies of one trained model, pruned in one shot to each sparsity by each criterion, then
# retrained with the same epochs (masks kept): magnitude (weights), filter L1 norm (units)
# and random pruning are the equal-budget controls. GSAP removes the units of both hidden
# layers physically (one layer at a time: `saliency.gsap_prune`).

# %%
SPARSITIES = lesson.pick(full=(0.5, 0.8, 0.9, 0.95), quick=(0.8, 0.95))
AMOUNTS = lesson.pick(full=(0.25, 0.5, 0.75), quick=(0.5, 0.75))
SWEEP = dict(retrain_epochs=lesson.pick(full=2, quick=1), lr=0.01, seed=lesson.seed)
weights = []
for criterion in ("gsp", "agsp", "magnitude", "random"):
    rows = pipeline.saliency_sweep(dense, CE, splits.train, splits.test, SPARSITIES,
                                   criterion=criterion, **SWEEP)  # fmt: skip
    weights += [r | {"target": s} for r, s in zip(rows, SPARSITIES, strict=True)]
units = []
for criterion in ("gsap", "l1", "random"):
    units += pipeline.gsap_sweep(dense, CE, splits.train, splits.test, ["0", "2"], AMOUNTS,
                                 criterion=criterion, **SWEEP)  # fmt: skip
cols = {"criterion": "{}", "sparsity": "{:.0%}", "acc_pruned": "{:.2%}", "acc": "{:.2%}"}
title = f"\nWeights, one shot, then {SWEEP['retrain_epochs']} epoch(s) of retraining"
print(format_table(weights, list(cols), cols, f"{title}; acc_pruned: before it; test split"))
cols = {"criterion": "{}", "amount": "{:.0%}", "params": "{:,}", "acc_pruned": "{:.2%}",
        "acc": "{:.2%}"}  # fmt: skip
print(format_table(units, list(cols), cols, "\nUnits of both hidden layers removed, then the "
                   f"same retraining (dense {dense.num_parameters():,} parameters)"))  # fmt: skip
lesson.figure(plots.saliency_sweep(weights, units, dense_acc, lesson.out, CHANCE))

# %% [markdown]
# ### 书中的迭代 GSP 循环（修正版）— the book's iterative GSP loop, corrected
#
# 书中每次迭代删一个权重；修正版每步按 |梯度| 删去同样比例的剩余权重（剪枝率 1 − (1 − s)^{t/T}），
# 每步之后重训练一轮（书中的“更新参数”），并在新的权重上重新计算分数。对照：同样的步数和
# 重训练，按幅值或随机剪枝。
#
# The book prunes one weight per iteration; the corrected loop prunes, at step `t` of `T`, to
# sparsity `1 − (1 − s)^{t/T}` by `|gradient|`, retrains one epoch with the masks kept (the
# book's "update the parameters") and recomputes the scores at the new weights. Controls: the
# same steps and retraining, by magnitude and at random.

# %%
lesson.show(pipeline.gsp_iterative_prune)
GSP_TARGET, GSP_STEPS = 0.95, lesson.pick(full=5, quick=3)
iterative = []
for criterion in ("gsp", "agsp", "magnitude", "random"):
    model = copy.deepcopy(dense)
    res = pipeline.gsp_iterative_prune(model, CE, splits.train, GSP_TARGET, GSP_STEPS,
                                       criterion=criterion, val=splits.test, retrain_epochs=1,
                                       lr=0.01, seed=lesson.seed)  # fmt: skip
    iterative.append({"criterion": criterion, "sparsity": res.sparsities[-1],
                      "steps": " ".join(f"{a:.1%}" for a in res.accuracies),
                      "acc": res.accuracies[-1]})  # fmt: skip
cols = {"criterion": "{}", "sparsity": "{:.2%}", "steps": "{}", "acc": "{:.2%}"}
title = f"\nIterative loop, {GSP_STEPS} steps to {GSP_TARGET:.0%}, 1 epoch after each"
print(format_table(iterative, list(cols), cols, f"{title}; test accuracy after each step"))

# %% [markdown]
# ## What we measured
# 由上面的数字计算；对照组在机会水平 2 个百分点以内时不做排名 — computed from the numbers
# above; no ranking where the control is within 2 points of chance.

# %%
lesson.part("What we measured")


def compare(rows, key, value, control, methods):
    """One sentence: each method's accuracy at ``key == value`` against ``control``'s."""
    at = {r["criterion"]: r["acc"] for r in rows if key is None or r[key] == value}
    ref = at[control]
    if ref - CHANCE < 0.02:
        return f"{control} is within 2 points of chance ({ref:.2%}): no ranking at this budget"
    return ", ".join(f"{m} {100 * (at[m] - ref):+.2f} points" for m in methods) + \
        f" against {control} ({ref:.2%}; random {at['random']:.2%})"  # fmt: skip


for sentence in (
    f"Weights at {max(SPARSITIES):.0%} after retraining: "
    + compare(weights, "target", max(SPARSITIES), "magnitude", ("gsp", "agsp")) + ".",
    f"Units, {max(AMOUNTS):.0%} of each hidden layer removed: "
    + compare(units, "amount", max(AMOUNTS), "l1", ("gsap",)) + ".",
    f"Iterative loop to {GSP_TARGET:.0%} in {GSP_STEPS} steps: "
    + compare(iterative, None, None, "magnitude", ("gsp", "agsp")) + ".",
    f"As the book writes them, GSP's {blocks['GSP']['book'].selections} selections hit "
    f"{blocks['GSP']['book'].distinct_selected} distinct weight(s), AGSP's "
    f"{blocks['AGSP']['book'].distinct_selected}, and "
    f"{blocks['GSP']['book'].exact_zero_fraction:.1%} of W ends exactly 0 (target "
    f"{blocks['GSP']['book'].target_fraction:.0%}); GSAP removed "
    f"{blocks['GSAP']['book'].exact_zero_fraction:.0%} of the units. Corrected, each reaches its "
    "target.",
):
    lesson.say(sentence)

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — graded exercises, then open
# questions.

# %%
lesson.try_this(
    "ch4",
    [
        Try("Retrain longer after pruning (`retrain_epochs` in `SWEEP`, quick=3): does the gap "
            "between GSP and magnitude close?",
            ("retrain_epochs=lesson.pick(full=2, quick=1)",
             "retrain_epochs=lesson.pick(full=2, quick=3)"), "weights"),
        Try("Give the iterative loop more steps (`GSP_STEPS`, quick=5): which criterion gains?",
            ("GSP_STEPS = 0.95, lesson.pick(full=5, quick=3)",
             "GSP_STEPS = 0.95, lesson.pick(full=5, quick=5)"), "iterative"),
        "Score GSAP on one layer only (`[\"2\"]` instead of `[\"0\", \"2\"]`): which layer's units "
        "matter more?",
    ],
)
