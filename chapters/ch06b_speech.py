# %% [markdown]
# # Chapter 6 (b) · 稀疏性剪枝优化在项目中的应用 — applications: speech
#
# 第6章的第二课（§6.3）：语音模型（一维卷积 + GRU）。书中为语音配的方法是 ADMM，并提到
# "基于激活稀疏性的剪枝策略"。我们与常用的幅值剪枝并排运行，预算相同：同一个训练好的稠密
# 模型、同样的稀疏度、同样的再训练轮数和优化器。
#
# Chapter 6's second lesson (§6.3): a speech model, a Conv1d front end and a GRU. The book
# pairs speech with ADMM and mentions activation-sparsity pruning. Both run beside plain
# magnitude pruning at an **equal budget**: the same trained dense model, the same
# sparsity, the same retraining epochs and optimiser. (§6.1–6.2 are in `ch06_applications`.)
#
# Run: `python chapters/ch06b_speech.py [--quick] [--seed 0] [--out figures/ch06]
# [--backend numpy|cupy]`, or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 6 lesson (§6.3): ADMM and APoZ beside magnitude pruning on a speech model."""

import copy

import numpy as np

from nnprune import nn, optim, prune
from nnprune.algorithms import ADMMState, admm_prune
from nnprune.backend import get_backend, to_backend, to_numpy
from nnprune.casestudies.speech import prune_recurrent, speech_model
from nnprune.data.splits import speech_splits
from nnprune.experiments.casestudy import train_model
from nnprune.lesson import Try, start
from nnprune.metrics import model_size
from nnprune.models import mlp
from nnprune.plots.applications import method_bars
from nnprune.plots.fonts import label
from nnprune.report import format_table
from nnprune.saliency import apoz_prune, apoz_scores
from nnprune.train import evaluate, fit

lesson = start(__doc__, "figures/ch06")
get_backend(lesson.backend)  # stop now, not after training, when CuPy or a GPU is missing
say, seed, CE = lesson.say, lesson.seed, nn.CrossEntropyLoss()


def acc(model, split):
    """Test accuracy in %."""
    return 100 * evaluate(model, CE, split)[1]


# %% [markdown]
# ## §6.3 稀疏性剪枝优化在语音识别中的应用 — speech recognition
#
# 先训练稠密模型（合成的口语单词特征，10 类），再用常用方法：按幅值把 GRU 80% 的循环权重
# （`weight_ih_l0`、`weight_hh_l0`）置零。掩码保留在参数上，优化器一步更新也不会让它们恢复。
#
# The dense model first (synthetic spoken-word features, 10 classes). The usual method:
# 80% of the GRU's recurrent weights (`weight_ih_l0`, `weight_hh_l0`) set to zero by
# magnitude. The mask stays on the parameters, so an optimiser step cannot bring them back.

# %%
lesson.section("6.3", "ADMM, APoZ vs magnitude")
SPARSITY, EPOCHS = 0.8, lesson.pick(full=10, quick=6)
speech = speech_splits(seed, lesson.pick(full=1000, quick=300), None)
chance = 100 / (int(speech.train[1].max()) + 1)
dense = speech_model(speech.train[0].shape[2], 10, 16, 48, seed).to(lesson.backend)
train_model(dense, speech.train, None, epochs=EPOCHS, lr=3e-3, seed=seed, optimizer="adam",
            batch_size=32)  # fmt: skip
dense_acc = acc(dense, speech.test)
gru = prune_recurrent(copy.deepcopy(dense), SPARSITY)
gru_acc = acc(gru, speech.test)
adam = optim.Adam(gru.parameters(), lr=1e-3)
gru.forward(to_backend(speech.train[0][:32], lesson.backend))
gru.backward(get_backend(lesson.backend).ones((32, 10), np.float32))
adam.step()
zeros = float((to_numpy(gru.rnn.weight_hh_l0.data) == 0).mean())
say(f"dense {dense_acc:.1f}% (chance {chance:.0f}%); recurrent weights {SPARSITY:.0%} zero by "
    f"magnitude: {gru_acc:.1f}%; weight_hh_l0 zeros after one Adam step: {zeros:.1%}")

# %% [markdown]
# 书中的方法：ADMM。把剪枝写成约束问题 min f(W)，W = Z，Z 至多保留 k 个非零（Zhang 等
# 2018）：W 步是带 ρ/2‖W − Z + U‖² 的几轮 SGD，Z 步保留 |W + U| 最大的 k 个，U 步累加差值；
# 最后按 Z 的支撑剪枝并带掩码再训练。对照：同一稠密模型按幅值剪到同样的逐层稀疏度，用同样
# 的 SGD 再训练同样多的轮数（ADMM 的 W 步轮数 + 再训练轮数）。书中写的是 L1 形式的 ADMM
# （`admm_l1_train`，见第4章 §4.2），其稀疏度由 λ 决定；这里用基数约束形式，稀疏度才能相同。
#
# The book's method: ADMM. Pruning as the constrained problem min f(W) s.t. W = Z, Z with
# at most k non-zeros (Zhang et al. 2018): the W-step is a few SGD epochs on
# f(W) + ρ/2‖W − Z + U‖², the Z-step keeps the k largest |W + U|, the U-step adds up the
# gap; then W is pruned to Z's support and retrained with the mask. The control: the same
# dense model cut by magnitude to the same per-layer sparsity (every weight of the conv, the
# GRU and the head), then the same SGD for as many epochs as ADMM used in all. The book
# writes ADMM for the L1 problem (`admm_l1_train`, chapter 4 §4.2), whose sparsity follows
# from λ; the cardinality form is used here so that both methods reach the same sparsity.

# %%
lesson.show(ADMMState.update)  # the Z-step: projection onto the k-sparse set
lesson.show(ADMMState.u_step)  # the U-step: U ← U + W − Z, and the residuals
ROUNDS, RETRAIN = lesson.pick(full=5, quick=2), lesson.pick(full=3, quick=1)
RHO = 1.0  # ADMM's penalty ρ
admm = copy.deepcopy(dense)
res = admm_prune(admm, CE, speech.train, sparsity=SPARSITY, rho=RHO, admm_iterations=ROUNDS,
                 retrain_epochs=RETRAIN, lr=0.01, seed=seed)  # fmt: skip
magnitude = prune.to_sparsity(copy.deepcopy(dense), SPARSITY, scope="layer")
cut_acc = acc(magnitude, speech.test)
fit(magnitude, CE, optim.SGD(magnitude.parameters(), lr=0.01, momentum=0.9), speech.train,
    epochs=ROUNDS + RETRAIN, seed=seed, progress=False)  # fmt: skip
speech_rows = [
    {"method": "recurrent weights, magnitude", "sparsity": f"{SPARSITY:.0%} of GRU weights",
     "nonzeros": model_size(gru)[1], "epochs after": 0, "acc": gru_acc},
    {"method": "all weights, magnitude", "sparsity": f"{SPARSITY:.0%} per layer",
     "nonzeros": model_size(magnitude)[1], "epochs after": 0, "acc": cut_acc},
    {"method": f"ADMM (ρ={RHO:g}) + retrain", "sparsity": f"{res.sparsity:.0%} per layer",
     "nonzeros": model_size(admm)[1], "epochs after": ROUNDS + RETRAIN,
     "acc": acc(admm, speech.test)},
    {"method": "magnitude + retrain", "sparsity": f"{SPARSITY:.0%} per layer",
     "nonzeros": model_size(magnitude)[1], "epochs after": ROUNDS + RETRAIN,
     "acc": acc(magnitude, speech.test)},
]  # fmt: skip
residuals = res.primal_residuals  # ‖W − Z‖ after each round: how far W still is from sparse
say("ADMM primal residual ‖W − Z‖ per round: " + ", ".join(f"{r:.2f}" for r in residuals))

# %% [markdown]
# 书中的"激活稀疏性剪枝"：APoZ（Hu 等 2016）统计每个单元在 ReLU 之后输出为零的比例，
# 很少激活的单元被删除。本模型唯一的 ReLU 在一维卷积之后，而 `apoz_scores` 只处理 Linear 与
# Conv2d，所以这里在同样的语音特征上训练一个 MLP（帧展平），按 APoZ、L1 范数或随机删除隐藏层
# 一半的单元，再用同样的轮数再训练。
#
# The book's activation-sparsity pruning: APoZ (Hu et al. 2016), the fraction of zeros of
# each unit's output after its ReLU; units that are rarely active are removed. Our speech
# model's only ReLU follows its Conv1d, and `apoz_scores` handles Linear and Conv2d layers,
# so an MLP on the same features (frames flattened) is used: half of its hidden units go,
# by highest APoZ, lowest L1 norm, or at random, then the same retraining for each.

# %%
lesson.show(apoz_scores)


def flat(split):
    return split[0].reshape(len(split[0]), -1), split[1]


frames = [flat(s) for s in (speech.train, speech.val, speech.test)]
net = mlp((frames[0][0].shape[1], 64, 10), seed=seed).to(lesson.backend)
train_model(net, frames[0], None, epochs=EPOCHS, lr=3e-3, seed=seed, optimizer="adam",
            batch_size=32)  # fmt: skip
apoz = apoz_scores(net, frames[1], "0")
say(f"MLP {acc(net, frames[2]):.1f}%; APoZ of its 64 hidden units: {(apoz == 1).sum()} never "
    f"active on the validation split, {(apoz < 0.5).sum()} active on most samples")  # fmt: skip
units = []
for how in ("APoZ", "l1", "random"):
    m = copy.deepcopy(net)
    if how == "APoZ":
        apoz_prune(m, frames[1], 0.5, layers="0")  # highest APoZ first
    else:
        prune.prune_units(m, "0", 0.5, how, seed=seed)
    pruned = acc(m, frames[2])
    train_model(m, frames[0], None, epochs=RETRAIN, lr=1e-3, seed=seed, optimizer="adam",
                batch_size=32)  # fmt: skip
    units.append({"method": f"units -50% ({how})", "params": m.num_parameters(),
                  "acc pruned": pruned, f"acc +{RETRAIN} ep": acc(m, frames[2])})  # fmt: skip
print(format_table(units, formats={"acc pruned": "{:.1f}", f"acc +{RETRAIN} ep": "{:.1f}"},
                   title=f"MLP on the speech frames, {acc(net, frames[2]):.1f}% dense, test %"))
print(format_table(speech_rows, formats={"acc": "{:.1f}"},
                   title=f"Conv1d+GRU, {dense_acc:.1f}% dense, test %"))  # fmt: skip
lesson.figure(method_bars(speech_rows, dense_acc, chance, label("§6.3 语音模型剪枝",
                                                               "§6.3 speech model, pruned")),
              "ch06_speech.png")

# %% [markdown]
# ## What we measured
# The sentences below come from this run; methods are ranked only when the control learned.

# %%
lesson.part("What we measured")
if dense_acc - chance < 2:  # a model that learned nothing cannot lose anything
    say(f"- §6.3: the Conv1d+GRU is at {dense_acc:.1f}%, within 2 points of chance "
        f"({chance:.0f}%): no ranking of ADMM and magnitude.")  # fmt: skip
elif max(speech_rows[2]["acc"], speech_rows[3]["acc"]) - chance < 2:
    say(f"- §6.3: ADMM and magnitude + retraining both end within 2 points of chance "
        f"({chance:.0f}%): no ranking.")  # fmt: skip
else:
    a, m = speech_rows[2]["acc"], speech_rows[3]["acc"]
    say(f"- §6.3: {SPARSITY:.0%} of every layer's weights, {ROUNDS + RETRAIN} epochs after the "
        f"dense model: ADMM {a:.1f}%, magnitude + retraining {m:.1f}% (dense {dense_acc:.1f}%): "
        + (f"{'ADMM' if a > m else 'magnitude'} wins by {abs(a - m):.1f} points." if a != m
           else "a tie.")
        + f" Without retraining, magnitude keeps {cut_acc:.1f}% (all layers) and "
        f"{gru_acc:.1f}% (recurrent weights only).")  # fmt: skip
mlp_acc = acc(net, frames[2])
if mlp_acc - chance < 2:
    say(f"- §6.3 APoZ: the MLP is at {mlp_acc:.1f}%, within 2 points of chance: no ranking.")
else:
    key = f"acc +{RETRAIN} ep"
    say(f"- §6.3 APoZ: half the hidden units removed, then {RETRAIN} epoch(s): "
        + ", ".join(f"{r['method'][12:-1]} {r['acc pruned']:.1f}% -> {r[key]:.1f}%" for r in units)
        + f" (dense {mlp_acc:.1f}%); {(apoz == 1).sum()} of 64 units were never active.")

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch6",
    [
        Try("A ten times smaller ρ: does ADMM still reach a point near Z (the primal residual)?",
            ("RHO = 1.0", "RHO = 0.1"), "residuals"),
        Try("Prune 95% instead of 80%: does the gap between ADMM and magnitude grow?",
            ("SPARSITY, EPOCHS = 0.8,", "SPARSITY, EPOCHS = 0.95,"), "speech_rows"),
        "Prune the GRU's hidden units instead (prune.prune_hidden_units): what does a "
        "structured cut of the same size cost?",
    ],
)
