# %% [markdown]
# # Chapter 5 · 剪枝算法实现 — implementing pruning
#
# 第5章把剪枝变成流程：§5.1 剪枝循环的各步（含偏置补偿），§5.2 参数调优（阈值方向、逐层敏感性、
# 稀疏度、学习率衰减、冻结层再训练）；§5.3 与附录 B 的代码见 `ch05b_pruning_code.py`。
#
# Chapter 5 turns pruning into a procedure: §5.1 the loop, step by step (with bias
# compensation); §5.2 its parameters (the threshold's direction, per-layer sensitivity,
# sparsity, learning-rate decay, frozen retraining); §5.3 and Appendix B are in
# `ch05b_pruning_code.py`. Each claim is against an equal-budget control. Data: the 8x8
# digits; model: the MLP 64-300-100-10.
#
# Run it as a script, `python chapters/ch05_pruning_pipeline.py [--quick] [--seed 0]
# [--out figures/ch05]`, or as a notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1`).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 5 (§5.1, §5.2): the pruning loop with compensation, and tuning its parameters."""

import copy

import numpy as np

from nnprune import nn, optim, pipeline
from nnprune.backend import to_numpy
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.optim.lr_scheduler import CosineAnnealingLR, LinearLR
from nnprune.pipeline import decide, evaluate, prune_retrain, retrain
from nnprune.plots.fonts import label as zh_en
from nnprune.prune import remove_units, remove_units_compensated
from nnprune.pseudocode import claims
from nnprune.report import format_table
from nnprune.train import fit

lesson = start(__doc__, "figures/ch05")
LR, MOMENTUM, LR_FACTOR = 0.05, 0.9, 0.1  # Han et al.: retrain at 1/10 of the training rate
RETRAIN = lesson.pick(full=3, quick=1)  # retraining epochs per round
TUNE = lesson.pick(full=6, quick=2)  # retraining epochs of every §5.2 retraining row
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
PCT = {k: "{:.2%}" for k in ("sparsity", "val_accuracy", "test_pruned", "test_retrained",
                             "plain", "compensated", "accuracy")}  # fmt: skip
say = lesson.say
splits = digits_splits(lesson.seed)
CHANCE = 1 / len(np.unique(splits.train[1]))
model = mlp((64, 300, 100, 10), seed=lesson.seed).to(lesson.backend)
retrain(model, splits, lesson.pick(full=20, quick=4), LR, momentum=MOMENTUM, seed=lesson.seed)
trained = copy.deepcopy(model)
dense_test, dense_val = evaluate(model, splits.test)[1], evaluate(model, splits.val)[1]
print(f"dense MLP: test accuracy {dense_test:.2%}, validation accuracy {dense_val:.2%}")

# %% [markdown]
# ## §5.1 剪枝算法的流程 — the pruning pipeline
#
# 书中的步骤：初始化 → 前向传播 → 反向传播 → 剪枝决策 → 参数更新 → 再训练 → 评估；每一步是
# `nnprune.pipeline` 的一个函数，各运行一次。The book's steps (initialise, forward, backward,
# decide, update, retrain, evaluate) are one `nnprune.pipeline` function each, run once here.

# %%
lesson.section("5.1", "step by step, compensation, one-shot vs iterative")
zh = "初始化 前向传播 反向传播 剪枝决策 参数更新 再训练 评估".split()
step = {s: f"  {i}. {z} {s}:" for i, (s, z) in enumerate(zip(pipeline.STEPS, zh, strict=True), 1)}
print(f"{step['initialise']} trained MLP, test accuracy {evaluate(model, splits.test)[1]:.2%}")
loss = pipeline.forward_backward(model, (splits.train[0][:64], splits.train[1][:64]))
grad = np.mean([float(np.abs(to_numpy(p.grad)).mean()) for p in model.parameters()])
print(f"{step['forward']} loss on one batch of 64 = {loss:.4f}\n{step['backward']} every "
      f"param.grad filled (mean |grad| {grad:.2e})")
decide(model, 0.5, "magnitude", "global")
print(f"{step['decide']} global magnitude masks, sparsity {pipeline.weight_sparsity(model):.2%}")
pipeline.update(optim.SGD(model.parameters(), lr=LR * LR_FACTOR, momentum=MOMENTUM))
print(f"{step['update']} one SGD step; sparsity still {pipeline.weight_sparsity(model):.2%}")
retrain(model, splits, 1, LR * LR_FACTOR, seed=lesson.seed)
print(f"{step['retrain']} 1 epoch at lr = 0.1 x the training rate, masks kept\n"
      f"{step['evaluate']} test accuracy {evaluate(model, splits.test)[1]:.2%}")

# %% [markdown]
# 书中第 5 步还要求调整权重和偏置，使损失变化最小。一种精确的形式：移除某层的若干神经元后，
# 下一层的偏置吸收它们在校准数据（训练集）上的平均贡献，b' = b + Σ W[:, j]·mean(a_j)；
# 下一层输出的均值因此在校准数据上保持不变。对照：移除同样的神经元，但不补偿，都不再训练。
#
# The book's update step also asks to adjust weights and biases so that the loss changes
# least. One exact form: when units are removed, the next layer's bias absorbs their mean
# contribution on calibration data (the training split), b' = b + Σ W[:, j]·mean(a_j): the
# next layer's output keeps its mean there. Control: the same units removed, uncompensated.

# %%
lesson.show(remove_units_compensated)
X = splits.train[0]
acts = np.maximum(to_numpy(trained[0].forward(X)), 0)  # layer 0's units after the ReLU
comp_rows, exact = [], []
for k in (150, 240, 270):  # of the 300 units of layer 0
    for how in ("least", "random"):  # the k least-varying units, or k at random
        units = (np.argsort(acts.var(axis=0))[:k] if how == "least" else
                 np.random.default_rng(lesson.seed).choice(300, k, replace=False))  # fmt: skip
        plain, comp = copy.deepcopy(trained), copy.deepcopy(trained)
        remove_units(plain, "0", np.sort(units))
        remove_units_compensated(comp, "0", np.sort(units), X)
        means = [to_numpy(m[2].forward(np.maximum(to_numpy(m[0].forward(X)), 0))).mean(axis=0)
                 for m in (trained, comp)]  # layer 2's output (before its ReLU), mean over X
        exact.append(float(np.abs(means[1] - means[0]).max()))
        acc_plain, acc_comp = evaluate(plain, splits.test)[1], evaluate(comp, splits.test)[1]
        comp_rows.append({"removed": f"{k}/300", "units": how, "plain": acc_plain,
                          "compensated": acc_comp, "gain_pts": 100 * (acc_comp - acc_plain)})
print(format_table(comp_rows, None, PCT | {"gain_pts": "{:+.2f}"},
                   "units of layer 0 removed (least: smallest activation variance), plain "
                   f"vs compensated,\nno retraining (test split; dense {dense_test:.2%})"))
print(f"next layer's mean output on the calibration data, compensated vs dense: max |difference| "
      f"{max(exact):.1e}")

# %% [markdown]
# 同样的最终稀疏度（90%）与再训练预算：一次剪完（one-shot）或分三轮。The same final
# sparsity (90%) and retraining budget, in one round or in three (each removes the same
# fraction of the survivors):

# %%
rounds = 3
lesson.show(prune_retrain)  # one round = decide, then retrain; `rounds` rounds in a row
schedules, final = [], {}
for n in (1, rounds):  # the same final sparsity and the same retraining epochs in all
    result = prune_retrain(copy.deepcopy(trained), splits, sparsity=0.9, rounds=n,
                           retrain_epochs=RETRAIN * rounds // n, lr=LR, lr_factor=LR_FACTOR,
                           momentum=MOMENTUM, seed=lesson.seed)  # fmt: skip
    schedules += [{"schedule": "one-shot" if n == 1 else "iterative", **r} for r in result.table()]
    final[n] = result.final_accuracy
for r in schedules:
    r["test_pruned"], r["test_retrained"] = r.pop("accuracy_pruned"), r.pop("accuracy_retrained")
print(format_table(schedules, "schedule round sparsity test_pruned test_retrained".split(), PCT,
                   f"one-shot vs {rounds} rounds to 90%, {RETRAIN * rounds} retraining epochs in "
                   f"all for each (test split; dense {dense_test:.2%})"))  # fmt: skip

# %% [markdown]
# ## §5.2 剪枝算法的参数调优 — tuning the pruning parameters
#
# 书中说"过小的阈值可能导致模型性能下降，而过大的阈值可能无法有效剪枝"。方向反了：|w| ≤ 阈值
# 即被剪去，阈值小剪得少，阈值大剪得多并损失准确率（[勘误 §5.2](../docs/errata.md#s5-2)）。
# 参数在验证集上选择：逐层敏感性、全局稀疏度扫描、Han 等人的阈值 |w| < q·std(W) 扫描。
#
# The book says a too-small threshold may hurt accuracy and a too-large one may fail to
# prune: the other way round, as |w| ≤ threshold is pruned (ch05b's softmax regression;
# [errata §5.2](../docs/errata.md#s5-2)). Parameters are chosen on the **validation** split:
# per-layer sensitivity, then sweeps of the global sparsity and of Han et al.'s |w| < q·std(W).

# %%
lesson.section("5.2", "threshold, sweeps, lr decay, frozen layers")
direction = claims.threshold_direction(lesson.quick, lesson.seed)
print(format_table(direction, None, {"threshold": "{:.3g}"} | PCT,
                   "softmax regression W, |w| <= threshold zeroed (test split)"))  # fmt: skip
sens = pipeline.sensitivity_analysis(trained, splits, SPARSITIES)
layers = list(dict.fromkeys(r["layer"] for r in sens))  # one column per layer
table = [{"sparsity": "dense", **dict.fromkeys(layers, dense_val)}] + [{"sparsity": f"{sp:.0%}",
         **{r["layer"]: r["accuracy"] for r in sens if r["sparsity"] == sp}} for sp in SPARSITIES]
print(format_table(table, None, dict.fromkeys(layers, "{:.2%}"),
                   "\nvalidation accuracy, one layer pruned (columns)"))  # fmt: skip
print(pipeline.write_csv(sens, lesson.out / "ch05_sensitivity.csv"))
lesson.figure(pipeline.plot_sensitivity(sens, lesson.out, "ch05_sensitivity.png", dense=dense_val,
              title=zh_en("逐层敏感性，一次剪枝", "per-layer sensitivity, digits MLP, one-shot"),
              chance=CHANCE))  # fmt: skip
sweeps = {"sparsity": pipeline.sparsity_sweep(trained, splits, SPARSITIES, scope="global"),
          "threshold": pipeline.threshold_sweep(trained, splits, (0.25, 0.5, 1.0, 1.5, 2.0))}
how = {"sparsity": zh_en("稀疏度扫描，全局幅值", "sparsity sweep, global magnitude, digits MLP"),
       "threshold": zh_en("阈值扫描", "threshold sweep, per layer |w| < q std(W), digits MLP")}
for key, rows in sweeps.items():
    first = "target" if key == "sparsity" else "q"
    shown = [{first: r[first], "sparsity": r["sparsity"], "val_accuracy": r["accuracy"],
              "vs_dense_pts": 100 * (r["accuracy"] - dense_val)} for r in rows]  # fmt: skip
    print(format_table(shown, None, PCT | {"vs_dense_pts": "{:+.2f}"},
                       f"\n{key} sweep, one-shot, no retraining (validation split; "
                       f"dense {dense_val:.2%})"))  # fmt: skip
    lesson.figure(pipeline.plot_sweep(rows, lesson.out, f"ch05_{key}_sweep.png", how[key],
                                      dense=dense_val, chance=CHANCE))  # fmt: skip

# %% [markdown]
# 再训练的学习率：固定（训练率的 1/10 或训练率）、线性衰减、余弦退火（从训练率降到 0）；然后全部
# 再训练与冻结层再训练。都从同一个 90% 稀疏的模型开始，轮数相同。The retraining learning rate:
# constant (1/10 of the training rate, or the training rate), linear decay, cosine annealing
# (from the training rate to 0); then full vs frozen retraining. Same 90%-sparse start, same epochs.

# %%
lesson.show(CosineAnnealingLR.get_lr)  # eta_min + (base - eta_min)(1 + cos(pi e / T)) / 2
pruned = copy.deepcopy(trained)
decide(pruned, 0.9, "magnitude", "global")
tune = [{"retraining": "none (control)", "lr": "-", "accuracy": evaluate(pruned, splits.val)[1]}]
for label, lr in (("constant, 0.1x", LR * LR_FACTOR), ("constant, 1x", LR), ("linear decay", LR),
                  ("cosine annealing", LR)):  # fmt: skip
    m = copy.deepcopy(pruned)
    opt = optim.SGD(m.parameters(), lr=lr, momentum=MOMENTUM)
    sched = (LinearLR(opt, 1.0, 0.0, total_iters=TUNE) if label == "linear decay" else
             CosineAnnealingLR(opt, T_max=TUNE) if label == "cosine annealing" else None)
    hist = fit(m, nn.CrossEntropyLoss(), opt, splits.train, splits.val, epochs=TUNE,
               seed=lesson.seed, scheduler=sched, progress=False)  # fmt: skip
    tune.append({"retraining": label, "lr": " ".join(f"{x:.3g}" for x in hist.lr),
                 "accuracy": evaluate(m, splits.val)[1]})  # fmt: skip
for label, kw in (("full (every layer)", {}), ("first layer frozen", {"freeze": ["0"]}),
                  ("only the output layer", {"layers": ["4"]})):  # fmt: skip
    m = copy.deepcopy(pruned)
    retrain(m, splits, TUNE, LR * LR_FACTOR, momentum=MOMENTUM, seed=lesson.seed, **kw)
    tune.append({"retraining": label, "lr": f"{LR * LR_FACTOR:g}",
                 "accuracy": evaluate(m, splits.val)[1]})  # fmt: skip
print(format_table(tune, None, PCT, f"90% sparse, {TUNE} retraining epochs each, lr per epoch, "
                   f"momentum {MOMENTUM} (validation split; dense {dense_val:.2%})"))  # fmt: skip

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
val_img, test_img = 100 / len(splits.val[1]), 100 / len(splits.test[1])
gain = {u: [r["gain_pts"] for r in comp_rows if r["units"] == u] for u in ("least", "random")}
say(f"- §5.1: compensation kept the next layer's mean output (moved by at most {max(exact):.0e}, "
    f"float32 rounding); it raised test accuracy in {sum(g > 0 for g in sum(gain.values(), []))} "
    f"of {len(comp_rows)} removals, on average {np.mean(gain['least']):+.2f} points for the "
    f"least-varying units, {np.mean(gain['random']):+.2f} for random ones: keeping the mean is "
    f"not keeping each image's signal.")
say(f"- §5.1: at 90% sparsity, one-shot reached {final[1]:.2%}, {rounds} rounds "
    f"{final[rounds]:.2%} on the test split (dense {dense_test:.2%}): "
    f"{100 * (final[rounds] - final[1]):+.2f} points, one test image = {test_img:.2f} points.")
lo, hi = direction[0], direction[-1]
say(f"- §5.2: the threshold {lo['threshold']:.2g} pruned {lo['sparsity']:.0%} at "
    f"{lo['accuracy']:.2%}, {hi['threshold']:.2g} pruned {hi['sparsity']:.0%} at "
    f"{hi['accuracy']:.2%}: a large threshold prunes more and costs accuracy, not the reverse.")
by_layer = {r["layer"]: r["accuracy"] for r in sens if r["sparsity"] == SPARSITIES[-1]}
fragile = min(by_layer, key=by_layer.get)
say(f"- §5.2: at {SPARSITIES[-1]:.0%} of one layer, {fragile} is the most sensitive "
    f"({by_layer[fragile]:.2%} validation accuracy vs dense {dense_val:.2%}).")
for part, rows in (("learning-rate", tune[1:5]), ("frozen-layer", tune[5:])):
    top, low = (f(r["accuracy"] for r in rows) for f in (max, min))
    say(f"- §5.2, {part} rows ({TUNE} epochs at 90% sparsity; none: {tune[0]['accuracy']:.2%}): "
        f"best {' = '.join(r['retraining'] for r in rows if r['accuracy'] == top)} at {top:.2%}; "
        f"worst {' = '.join(r['retraining'] for r in rows if r['accuracy'] == low)}, "
        f"{(top - low) * 100 / val_img:.0f} validation images fewer.")

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this("ch5", [
    Try("Sweep with scope=\"layer\" instead of \"global\": which layer drags accuracy down "
        "first?", ('SPARSITIES, scope="global"', 'SPARSITIES, scope="layer"'), "sweeps"),
    Try("Remove fewer units (30, 90 and 150 of 300): does compensation help more or less?",
        ("for k in (150, 240, 270):", "for k in (30, 90, 150):"), "comp_rows"),
    Try("Retrain the §5.2 rows longer (TUNE = lesson.pick(full=20, quick=4)): do the "
        "learning-rate schedules separate?", ("full=6, quick=2)", "full=20, quick=4)"),
        "tune"),
])  # fmt: skip
