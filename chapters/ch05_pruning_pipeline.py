# %% [markdown]
# # Chapter 5 · 剪枝算法实现 — implementing pruning
#
# 第5章把剪枝变成流程：§5.1 剪枝循环，§5.2
# 参数调优（剪哪些层、多稀疏、什么阈值），§5.3
# 代码实现；本课运行每一步，并运行书中代码以展示其缺陷。
#
# Chapter 5 of the book turns pruning into a procedure: §5.1 the loop, step by step;
# §5.2 how to choose its parameters (which layers, how sparse, which threshold); §5.3 the
# code, including its pseudocode (Appendix B). This lesson runs each on the 8x8 digits and
# the MLP 64-300-100-10, and shows one flaw of the book's code by running it.
#
# Run it as a script, `python chapters/ch05_pruning_pipeline.py [--quick] [--seed 0]
# [--out figures/ch05]`, or as a notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1`).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 5 lesson: the pruning loop, tuning its parameters, and the book's code corrected.

Usage::

    python chapters/ch05_pruning_pipeline.py [--quick] [--seed 0] [--out figures/ch05]
"""

import copy

import numpy as np

from nnprune import optim, prune
from nnprune.backend import to_numpy
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.pipeline import (
    decide,
    evaluate,
    forward_backward,
    plot_sensitivity,
    plot_sweep,
    prune_retrain,
    retrain,
    sensitivity_analysis,
    sparsity_sweep,
    threshold_sweep,
    update,
    weight_sparsity,
    write_csv,
)
from nnprune.report import format_table

lesson = start(__doc__, "figures/ch05")
LR, MOMENTUM, LR_FACTOR = 0.05, 0.9, 0.1  # Han et al.: retrain at 1/10 of the training rate
RETRAIN = lesson.pick(full=3, quick=1)  # retraining epochs per round
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
PCT = {
    k: "{:.2%}" for k in ("revived", "sparsity", "val_accuracy", "test_pruned", "test_retrained")
}
say = lesson.say
splits = digits_splits(lesson.seed)
model = mlp((64, 300, 100, 10), seed=lesson.seed).to(lesson.backend)
retrain(model, splits, lesson.pick(full=20, quick=4), LR, momentum=MOMENTUM, seed=lesson.seed)
trained = copy.deepcopy(model)
dense_test, dense_val = evaluate(model, splits.test)[1], evaluate(model, splits.val)[1]
print(f"dense MLP: test accuracy {dense_test:.2%}, validation accuracy {dense_val:.2%}")

# %% [markdown]
# ## §5.1 剪枝算法的流程 — the pruning pipeline
#
# 书中的七步：初始化 → 前向 → 反向 → 剪枝决策 → 更新 → 再训练 →
# 评估；之后比较一次剪枝（one-shot）与迭代剪枝。
#
# The book's loop has seven steps: initialise → forward → backward → decide → update →
# retrain → evaluate. Each is one function of `nnprune.pipeline`; here they run once each.

# %%
lesson.section("5.1", "the loop one step at a time, then one-shot vs iterative")
print(f"  initialise: trained MLP, test accuracy {evaluate(model, splits.test)[1]:.2%}")
loss = forward_backward(model, (splits.train[0][:64], splits.train[1][:64]))
print(f"  forward:    loss on one batch of 64 = {loss:.4f}")
grad = np.mean([float(np.abs(to_numpy(p.grad)).mean()) for p in model.parameters()])
print(f"  backward:   every param.grad filled (mean |grad| {grad:.2e})")
decide(model, 0.5, "magnitude", "global")
print(f"  decide:     global magnitude masks, sparsity {weight_sparsity(model):.2%}")
update(optim.SGD(model.parameters(), lr=LR * LR_FACTOR, momentum=MOMENTUM))
print(f"  update:     one SGD step; sparsity still {weight_sparsity(model):.2%}")
retrain(model, splits, 1, LR * LR_FACTOR, seed=lesson.seed)
print("  retrain:    1 epoch at lr = 0.1 x the training rate, masks kept")
print(f"  evaluate:   test accuracy {evaluate(model, splits.test)[1]:.2%}")

# %% [markdown]
# The same final sparsity (90%) and the same retraining budget, reached in one round or
# in three (each round removes the same fraction of the survivors):

# %%
rounds = 3
lesson.show(prune_retrain)  # one round = decide, then retrain; `rounds` rounds in a row
schedules = []
for n in (1, rounds):  # the same final sparsity and the same retraining epochs in all
    result = prune_retrain(copy.deepcopy(trained), splits, sparsity=0.9, rounds=n,
                           retrain_epochs=RETRAIN * rounds // n, lr=LR, lr_factor=LR_FACTOR,
                           momentum=MOMENTUM, seed=lesson.seed)  # fmt: skip
    schedules += [{"schedule": "one-shot" if n == 1 else "iterative", **r} for r in result.table()]
for r in schedules:
    r["test_pruned"], r["test_retrained"] = r.pop("accuracy_pruned"), r.pop("accuracy_retrained")
columns = ["schedule", "round", "sparsity", "test_pruned", "test_retrained"]
print(format_table(schedules, columns, PCT,
                   f"one-shot vs {rounds} rounds to 90%, {RETRAIN * rounds} retraining epochs in "
                   f"all for each (test split; dense {dense_test:.2%})"))  # fmt: skip

# %% [markdown]
# ## §5.2 剪枝算法的参数调优 — tuning the pruning parameters
#
# 参数在验证集上选择，绝不在测试集上选：逐层敏感性分析、稀疏度扫描和阈值扫描。
#
# Parameters are chosen on the **validation** split, never on the test split. Sensitivity:
# prune one layer at a time and watch the validation accuracy; then sweep the global
# sparsity, and Han et al.'s threshold |w| < q·std(W). The dense row is the same model
# unpruned, on the same split.

# %%
lesson.section("5.2", "sensitivity, sparsity and threshold sweeps")
sens = sensitivity_analysis(trained, splits, SPARSITIES)
layer_names = list(dict.fromkeys(r["layer"] for r in sens))
table = [{"sparsity": "dense", **dict.fromkeys(layer_names, dense_val)}]  # one column per layer
for sp in SPARSITIES:
    table.append({"sparsity": f"{sp:.0%}",
                  **{r["layer"]: r["accuracy"] for r in sens if r["sparsity"] == sp}})  # fmt: skip
fmt = {k: "{:.2%}" for k in table[0] if k != "sparsity"}
print(format_table(table, None, fmt, "validation accuracy, one layer pruned (columns)"))
print(write_csv(sens, lesson.out / "ch05_sensitivity.csv"))
title = "Per-layer sensitivity of the digits MLP, one-shot, no retraining"
lesson.figure(plot_sensitivity(sens, lesson.out, "ch05_sensitivity.png", dense=dense_val,
                               title=title))  # fmt: skip

# %%
sweeps = {"sparsity": sparsity_sweep(trained, splits, SPARSITIES, scope="global", seed=lesson.seed),
          "threshold": threshold_sweep(trained, splits, (0.25, 0.5, 1.0, 1.5, 2.0))}  # fmt: skip
how = {"sparsity": "global magnitude", "threshold": "per layer |w| < q std(W)"}
for key, rows in sweeps.items():
    first = "target" if key == "sparsity" else "q"
    shown = [{first: r[first], "sparsity": r["sparsity"], "val_accuracy": r["accuracy"],
              "vs_dense_pts": 100 * (r["accuracy"] - dense_val)} for r in rows]  # fmt: skip
    print(format_table(shown, None, PCT | {"vs_dense_pts": "{:+.2f}"},
                       f"\n{key} sweep, one-shot, no retraining (validation split; "
                       f"dense {dense_val:.2%})"))  # fmt: skip
    lesson.figure(plot_sweep(rows, lesson.out, f"ch05_{key}_sweep.png",
                     f"{key} sweep ({how[key]}), digits MLP", dense=dense_val))  # fmt: skip

# %% [markdown]
# ## §5.3 剪枝算法的代码实现 — the pruning code
#
# 书中的循环只把权重置零而不保留掩码，随后的更新会让被剪的权重重新变为非零；修正做法是保留掩码
# 并在每次更新后重新施加。
#
# The book's loop ([errata §5.3](../docs/errata.md#s5-3)) prunes by zeroing weights and
# keeps no mask, then goes on updating with SGD + momentum. The momentum buffer and the
# gradients move the zeros again. Corrected: keep the mask and re-apply it after every
# update (nnprune's optimisers do).

# %%
lesson.section("5.3", "the book's loop taken literally, and corrected")
literal = []
for version in ("literal (book)", "corrected"):
    m = copy.deepcopy(trained)
    decide(m, 0.8, "magnitude", "global")  # the book's pruning_decision
    weights = {t.name: t.param for t in m.prunable_parameters()}
    pruned = {n: ~to_numpy(p.mask) for n, p in weights.items()}  # True = pruned
    if version.startswith("literal"):  # the book zeroes the weights and keeps no mask
        for t in list(m.prunable_parameters()):
            prune.remove(t.module, t.attr)
    opt = optim.SGD(m.parameters(), lr=LR * LR_FACTOR, momentum=0.9)  # with momentum
    for epoch in range(1, RETRAIN + 2):
        order = np.random.default_rng(lesson.seed + epoch).permutation(len(splits.train[1]))
        for i in range(0, len(order), 64):
            batch = order[i : i + 64]
            forward_backward(m, (splits.train[0][batch], splits.train[1][batch]))  # fwd + bwd
            update(opt)  # the book's update_parameters
        back = sum(int((to_numpy(weights[n].data)[k] != 0).sum()) for n, k in pruned.items())
        literal.append({"version": version, "epoch": epoch, "sparsity": weight_sparsity(m),
                        "revived": back / sum(int(k.sum()) for k in pruned.values()),
                        "val_accuracy": evaluate(m, splits.val)[1]})  # fmt: skip
print(
    format_table(
        literal,
        None,
        PCT,
        "pruned once to 80%, then SGD + momentum (validation "
        f"split, dense {dense_val:.2%})\nrevived = pruned weights non-zero again",
    )
)

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
final = {r["schedule"]: r for r in schedules if r["round"] == (1 if r["schedule"] == "one-shot"
                                                               else rounds)}  # fmt: skip
by_layer = {r["layer"]: r["accuracy"] for r in sens if r["sparsity"] == SPARSITIES[-1]}
fragile = min(by_layer, key=by_layer.get)
best = max(sweeps["sparsity"], key=lambda r: (r["accuracy"], r["sparsity"]))
lit = [r for r in literal if r["version"].startswith("literal")][-1]
one_shot, iterative = (final[k]["test_retrained"] for k in ("one-shot", "iterative"))
say(
    f"- §5.1: at 90% sparsity, one-shot reached {one_shot:.2%}, {rounds} rounds "
    f"{iterative:.2%} on the test split (dense {dense_test:.2%}), "
    f"{100 * (iterative - one_shot):+.2f} points for iterative (one test image = "
    f"{100 / len(splits.test[1]):.2f} points)."
)
say(
    f"- §5.2: at {SPARSITIES[-1]:.0%} of one layer, {fragile} is the most sensitive "
    f"({by_layer[fragile]:.2%} validation accuracy vs dense {dense_val:.2%}). The best sweep "
    f"point was {best['sparsity']:.0%} sparse at {best['accuracy']:.2%}, "
    f"{100 * (best['accuracy'] - dense_val):+.2f} points from dense on the same split "
    f"(one validation image = {100 / len(splits.val[1]):.2f} points)."
)
say(
    f"- §5.3: after {lit['epoch']} epoch(s) the book's loop had revived {lit['revived']:.2%} of "
    f"the pruned weights (sparsity {lit['sparsity']:.2%}, target 80%); the corrected loop none."
)

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch5",
    [
        Try("Sweep with scope=\"layer\" instead of \"global\": which layer drags accuracy down "
            "first?", ('SPARSITIES, scope="global"', 'SPARSITIES, scope="layer"'), "sweeps"),
        Try("Give the §5.3 loops momentum=0.0: do the pruned weights still come back?",
            ("momentum=0.9)  # with momentum", "momentum=0.0)"), "literal"),
    ],
)
