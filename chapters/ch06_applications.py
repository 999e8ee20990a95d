# %% [markdown]
# # Chapter 6 · 稀疏性剪枝优化在项目中的应用 — applications
#
# 第6章为每个领域配一种方法：图像用 Lasso（L1 惩罚），自然语言处理用 AGSP（梯度敏感性），
# 语音用 ADMM（§6.3 见 ch06b）。本课把书中的配对与常用的结构化方法（滤波器范数、注意力头
# 重要性）并排运行，预算相同：同样的初始化、训练轮数和删除的参数，剪枝后不再训练。
#
# Chapter 6 pairs each domain with a method: Lasso (an L1 penalty) for images, AGSP
# (gradient sensitivity) for language, ADMM for speech (§6.3, in `ch06b`). This lesson runs
# the book's pairing beside the usual structured method (filter norms, head importance) at
# an **equal budget**: the same initialisation, epochs and parameters removed; test accuracy
# right after pruning, without retraining (chapter 7 retrains).
#
# Run: `python chapters/ch06_applications.py [--quick] [--seed 0] [--out figures/ch06]
# [--backend numpy|cupy]`, or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 6 lesson (§6.1-6.2): the book's Lasso and AGSP beside filter norms and head scores."""

import copy

import numpy as np

from nnprune import nn, optim, prune
from nnprune.algorithms import SoftThresholdStep, ista_train
from nnprune.backend import get_backend
from nnprune.casestudies import applications as apps
from nnprune.data import digits_splits
from nnprune.data.splits import text_splits
from nnprune.experiments.casestudy import train_model
from nnprune.lesson import Try, start
from nnprune.metrics import model_size
from nnprune.models import small_cnn
from nnprune.models_text import TransformerClassifier
from nnprune.plots.applications import head_importance
from nnprune.report import format_table
from nnprune.saliency import agsp_scores

lesson = start(__doc__, "figures/ch06")
get_backend(lesson.backend)  # stop now, not after training, when CuPy or a GPU is missing
say, seed, CE = lesson.say, lesson.seed, nn.CrossEntropyLoss()


def acc(model, split):
    return 100 * apps.accuracy(model, split)  # test accuracy in %


# %% [markdown]
# ## §6.1 稀疏性剪枝优化在图像识别中的应用 — image recognition
#
# 书中：用 L1 惩罚（Lasso）训练，再设阈值剪枝。这里用近端梯度（ISTA，`ista_train`）：每步 SGD
# 后软阈值 W ← sign(W)·max(|W| − ηλ, 0)，得到精确的零。对照：同一初始化、同样轮数的 SGD
# （λ = 0）。两者都按 L1 范数物理删除每个卷积层一半的滤波器（Li 等 2017），随机删除为下限。
#
# The book trains with an L1 penalty (Lasso), then cuts by a threshold. Here: proximal
# gradient (ISTA, `ista_train`), a soft-threshold W ← sign(W)·max(|W| − ηλ, 0) after every
# SGD step (momentum 0.9), which gives exact zeros. Control: the same run with λ = 0. Both
# then lose half the filters of each convolution, lowest L1 norm first (Li et al. 2017),
# *physically*; random filters are the floor. Last, ISTA's own zeros against magnitude
# pruning of the SGD model to the same count.

# %%
lesson.section("6.1", "Lasso (ISTA) vs filter norms")
lesson.show(SoftThresholdStep.on_step_end)  # ista_train runs it after every SGD step
LAM, EPOCHS_CNN = 0.02, lesson.pick(full=8, quick=2)
image = digits_splits(seed, flatten=False)


def trained_cnn(lam):  # ISTA at lam for EPOCHS_CNN epochs (lam = 0: plain SGD)
    cnn = small_cnn(1, 10, 8, channels=(16, 32), seed=seed).to(lesson.backend)
    sgd = optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9)
    r = ista_train(cnn, CE, sgd, image.train, lam=lam, epochs=EPOCHS_CNN, seed=seed,
                   progress=False)  # fmt: skip
    return cnn, r.zero_fraction  # the fraction of exact zeros among the penalised weights


def cut_filters(cnn, criterion):  # half the filters of every convolution, physically
    for conv in [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]:
        prune.prune_units(cnn, conv, 0.5, criterion, input_shape=(1, 8, 8), seed=seed)
    return cnn


def row(train, how, trained, pruned):
    return {"training": train, "pruning": how, "params": pruned.num_parameters(),
            "nonzeros": model_size(pruned)[1], "acc dense": acc(trained, image.test),
            "acc pruned": acc(pruned, image.test)}  # fmt: skip


(sgd_cnn, _), (lasso_cnn, zeros) = trained_cnn(0.0), trained_cnn(LAM)
SGD, ISTA = "SGD (λ=0)", f"ISTA λ={LAM:g}"
image_rows = [
    row(SGD, "filters -50% (L1 norm)", sgd_cnn, cut_filters(copy.deepcopy(sgd_cnn), "l1")),
    row(SGD, "filters -50% random", sgd_cnn, cut_filters(copy.deepcopy(sgd_cnn), "random")),
    row(ISTA, "filters -50% (L1 norm)", lasso_cnn, cut_filters(copy.deepcopy(lasso_cnn), "l1")),
    row(ISTA, f"its own exact zeros ({zeros:.0%})", lasso_cnn, lasso_cnn),
    row(SGD, f"magnitude to {zeros:.0%} zeros", sgd_cnn,
        prune.to_sparsity(copy.deepcopy(sgd_cnn), min(zeros, 0.999))),  # ISTA's zero count
]  # fmt: skip
print(format_table(image_rows, formats={"acc dense": "{:.1f}", "acc pruned": "{:.1f}"},
                   title=f"CNN 16-32, 8x8 digits, {EPOCHS_CNN} epochs each, test %"))  # fmt: skip

# %% [markdown]
# 残差网络中，残差相加 `y = F(x) + x` 把 `F` 最后一层的通道与 `x` 的通道绑在一起，只能一起
# 删除；`prune.channel_groups` 找出这些组。In a ResNet, the residual addition ties the
# channels of `F`'s last layer to those of `x`: they go together (`prune.channel_groups`).

# %%
if not lesson.quick:  # the ResNet needs more time than the quick run has
    res = apps.resnet_channels(seed, 4, lesson.backend)
    print(f"ResNet 16-32: {res['row']['size']}, test {res['row']['test_acc']}")
    for g in res["groups"]:
        why = f"  [not prunable: {g.reason}]" if g.reason else ""
        say(f"  {g.name or '(input)'}: {g.channels} channels, producers {g.producers}, "
            f"consumers {g.consumers}{why}")  # fmt: skip
else:
    print("(the ResNet's channel groups are shown in a full run, without --quick)")

# %% [markdown]
# ## §6.2 稀疏性剪枝优化在自然语言处理中的应用 — natural language processing
#
# 书中的方法是 AGSP：权重重要性 |∂J/∂w · w|（一阶泰勒估计）。常用的是 Michel 等（2019）的
# 头重要性：每个头乘门 ξ_h = 1，取验证集上 |∂L/∂ξ_h| 的均值——这正是"删除整个头"的 AGSP 分数；
# 把逐权重 AGSP 按头求和是另一种头分数。各删一半的头，再按 AGSP 或幅值剪掉同样多的投影权重。
#
# The book names AGSP: importance |∂J/∂w · w| (first-order Taylor). The usual structured
# method is Michel et al. (2019)'s head importance, the mean |∂L/∂ξ_h| of a gate ξ_h = 1
# on each head: at ξ_h = 1 this *is* AGSP's score for removing the whole head. Summing the
# per-weight AGSP scores over a head's weights is another head score (signs cannot cancel).
# Each head score (and random) removes half the heads (of the `MultiHeadSelfAttention`
# layers of a 2-layer Transformer); then the same number of attention-projection weights is
# cut unstructured, by AGSP or by magnitude.

# %%
lesson.section("6.2", "AGSP vs head scores, top-k")
lesson.show(prune.head_importance)  # mean |∂L/∂ξ_h| of a gate ξ_h = 1 on each head
HEAD_FRACTION = 0.5
text, vocab = text_splits(seed, lesson.pick(full=2000, quick=600), None)
tf = TransformerClassifier(len(vocab), 4, num_layers=2, pad_id=vocab.pad_id, seed=seed)
train_model(tf.to(lesson.backend), text.train, None, epochs=lesson.pick(full=25, quick=3),
            lr=3e-3, seed=seed, optimizer="adam", batch_size=32)  # fmt: skip
attn = prune.attention_modules(tf)  # {"encoder.0.self_attn": layer, ...}
michel = prune.head_importance(tf, CE, text.val, batch_size=1)
agsp = agsp_scores(tf, CE, text.val, batch_size=64)  # {parameter name: |g·w| per weight}


def head_sums(layer, a):  # AGSP over head h's rows of q, k, v, columns of out_proj
    d, w = a.head_dim, {p: agsp[f"{layer}.{p}.weight"] for p in ("q_proj", "k_proj", "v_proj")}
    s = np.array([sum(x[h * d:(h + 1) * d].sum() for x in w.values())
                  + agsp[f"{layer}.out_proj.weight"][:, h * d:(h + 1) * d].sum()
                  for h in range(a.num_heads)])  # fmt: skip
    return s / np.linalg.norm(s)


rng = np.random.default_rng(seed)
head_scores = {"Michel gate |dL/dξ|": michel,
               "AGSP summed per head": {n: head_sums(n, a) for n, a in attn.items()},
               "random heads": {n: rng.random(a.num_heads) for n, a in attn.items()}}  # fmt: skip
dense_tf = acc(tf, text.test)
names = [f"{n}.{p}.weight" for n in attn for p in ("q_proj", "k_proj", "v_proj", "out_proj")]
head_scores |= {"AGSP |g·w| weights": {n: agsp[n] for n in names}, "magnitude |w| weights": None}
heads, removed = [], {}
for how, scores in head_scores.items():
    m = copy.deepcopy(tf)
    if how.endswith("weights"):  # the same count: HEAD_FRACTION of the attention projections
        prune.to_sparsity(m, HEAD_FRACTION, scores, "global", names=names)
        where = f"{HEAD_FRACTION:.0%} of q/k/v/out weights"
    else:
        removed[how] = prune.prune_heads(m, scores, HEAD_FRACTION, scope="global")
        where = "heads " + " ".join(f"L{n[8]}:{list(h)}" for n, h in removed[how].items())
    heads.append({"method": how, "removed": where, "nonzeros": model_size(m)[1],
                  "acc": acc(m, text.test)})  # fmt: skip
chance_tf = 100 / (int(text.train[1].max()) + 1)
print(format_table(heads, formats={"acc": "{:.1f}"}, title=f"2-layer Transformer, test "
                   f"{dense_tf:.1f}% dense, chance {chance_tf:.0f}%, no retraining"))  # fmt: skip
lesson.figure(head_importance(michel, removed["Michel gate |dL/dξ|"], lesson.out))

# %% [markdown]
# 书中的"稀疏注意力矩阵"：每个查询只保留得分最高的 k 个键（top-k），softmax 在保留的键上
# 重新归一化；k = T 即稠密注意力（对照）。The book's sparse attention matrices: each query
# keeps its k largest scores (top-k), softmax renormalised over them; k = T is dense (control).

# %%
lesson.show(nn.topk_attention)  # one layer; sparse_attention_eval swaps every layer, measures
T = text.test[0].shape[1]
sparse_attn = prune.sparse_attention_eval(tf, CE, text.test, [1, 2, 4, 8, T])
for r in sparse_attn:
    r["accuracy"] = 100 * r["accuracy"]
    r["k"] = f"{r['k']} (= T, dense)" if r["k"] == T else r["k"]
print(format_table(sparse_attn, ["k", "kept_fraction", "accuracy"],
                   {"kept_fraction": "{:.1%}", "accuracy": "{:.1f}"},
                   title="top-k attention in both layers, test %"))  # fmt: skip

# %% [markdown]
# ## What we measured
# From this run; a method is ranked only when its control is more than 2 points above chance.

# %%
lesson.part("What we measured")
chance = 10.0
if image_rows[0]["acc dense"] - chance < 2:  # a model that learned nothing cannot lose anything
    say(f"- §6.1: the SGD CNN is at {image_rows[0]['acc dense']:.1f}%, within 2 points of chance "
        f"({chance:.0f}%): no finding about pruning.")  # fmt: skip
else:
    fn, rnd, lasso, own, mag = (r["acc pruned"] for r in image_rows)
    say(f"- §6.1: half the filters by L1 norm: {fn:.1f}% after SGD, {lasso:.1f}% after the "
        f"book's Lasso (ISTA λ={LAM:g}), {rnd:.1f}% for random filters; "
        + (f"{'Lasso' if lasso > fn else 'plain SGD'} training wins the filter cut by "
           f"{abs(lasso - fn):.1f} points. " if lasso != fn else "a tie. ")
        + f"ISTA's own {zeros:.0%} exact zeros keep {own:.1f}% against {mag:.1f}% "
        "for magnitude pruning of the SGD model to the same count.")  # fmt: skip
if dense_tf - chance_tf < 2:
    say(f"- §6.2: the Transformer is at {dense_tf:.1f}%, within 2 points of chance "
        f"({chance_tf:.0f}%): no ranking of head scores or of top-k attention.")  # fmt: skip
else:
    best = max(heads[:3], key=lambda r: r["acc"])
    say(f"- §6.2: removing {HEAD_FRACTION:.0%} of the heads keeps "
        + ", ".join(f"{r['acc']:.1f}% ({r['method']})" for r in heads[:3])
        + f" of {dense_tf:.1f}% dense: "
        + (f"{best['method']} wins. " if [r["acc"] for r in heads[:3]].count(best["acc"]) == 1
           else "a tie at the top. ") + f"The same count of attention weights cut unstructured "
        f"keeps {heads[3]['acc']:.1f}% by AGSP and {heads[4]['acc']:.1f}% by magnitude.")
    full = sparse_attn[-1]["accuracy"]
    ok = [r for r in sparse_attn[:-1] if r["accuracy"] >= full - 1]  # within 1 point of dense
    say("- §6.2 top-k attention: " + (f"k={ok[0]['k']} keeps {ok[0]['kept_fraction']:.1%} of the "
        f"scores at {ok[0]['accuracy']:.1f}% (dense {full:.1f}%)." if ok else f"every k < T "
        f"loses more than 1 point of {full:.1f}%."))  # fmt: skip

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch6",
    [
        Try("A stronger L1 penalty (λ = 0.05): how many exact zeros, and at what accuracy?",
            ("LAM, EPOCHS_CNN = 0.02,", "LAM, EPOCHS_CNN = 0.05,"), "image_rows"),
        Try("Remove three quarters of the heads: which head score holds up best?",
            ("HEAD_FRACTION = 0.5", "HEAD_FRACTION = 0.75"), "heads"),
        'Call prune.prune_heads with scope="layer" instead of "global": does the choice of '
        "heads change (it can coincide with the global one)?",
    ],
)
