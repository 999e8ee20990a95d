# %% [markdown]
# # Chapter 6 · 稀疏性剪枝优化在项目中的应用 — applications
#
# 第6章把剪枝用于三类模型：图像的卷积网络、语言的 Transformer、语音的循环网络；每
# 类按其结构剪枝，并在不再训练的情况下测量测试准确率。
#
# Chapter 6 of the book applies pruning to three kinds of models: convolutional networks
# for images (§6.1), Transformers for language (§6.2) and recurrent networks for speech
# (§6.3). Each family has its own structure to remove: filters and channels, attention
# heads, recurrent weights and hidden units. This lesson trains one small model of each,
# prunes it the way its structure allows, and measures the test accuracy right after
# pruning, **without retraining** (chapter 7 retrains, against an equal-budget control).
#
# Run: `python chapters/ch06_applications.py [--quick] [--seed 0] [--out figures/ch06]
# [--backend numpy|cupy]`, or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 6 lesson: pruning a CNN, a ResNet, a Transformer and a GRU, each its own way."""

import numpy as np

from nnprune import prune
from nnprune.backend import get_backend
from nnprune.casestudies import applications as apps
from nnprune.lesson import Try, start
from nnprune.plots.applications import head_importance
from nnprune.report import format_table

lesson = start(__doc__, "figures/ch06")
get_backend(lesson.backend)  # stop now, not after training, when CuPy or a GPU is missing
say = lesson.say
rows = []

# %% [markdown]
# ## §6.1 稀疏性剪枝优化在图像识别中的应用 — image recognition
#
# 按 L1 范数从小到大物理删除每个卷积层一半的滤波器（Li 等
# 2017），下一层的输入通道随之删除。
#
# A CNN with convolutions of 16 and 32 filters on the 8x8 digits. Half of the filters of
# each convolution go, lowest L1 norm first (Li et al. 2017), *physically*: the layer
# shrinks and so do the next layer's inputs.

# %%
lesson.section("6.1", "filters of a CNN, channels of a ResNet")
cnn = apps.cnn_filters(lesson.seed, lesson.pick(full=8, quick=1), lesson.backend)
rows.append(cnn["row"])
print(f"convolution widths after removal: {cnn['widths']}")

# %% [markdown]
# In a ResNet, a residual addition `y = F(x) + x` ties the channels of `F`'s last layer to
# those of `x`: they can only be removed together. `prune.channel_groups` finds these
# groups; channels *inside* a block are free.

# %%
if not lesson.quick:  # the ResNet needs more time than the quick run has
    res = apps.resnet_channels(lesson.seed, 4, lesson.backend)
    rows.append(res["row"])
    for g in res["groups"]:
        why = f"  [not prunable: {g.reason}]" if g.reason else ""
        say(f"  {g.name or '(input)'}: {g.channels} channels, producers {g.producers}, "
            f"consumers {g.consumers}{why}")  # fmt: skip
else:
    print("(the ResNet's channel groups are shown in a full run, without --quick)")

# %% [markdown]
# ## §6.2 稀疏性剪枝优化在自然语言处理中的应用 — natural language processing
#
# 每个注意力头有一个门 ξ_h = 1，其重要性是验证集上 |∂L/∂ξ_h|
# 的均值（Michel 等 2019），删除重要性较低的头。
#
# A 2-layer Transformer encoder on a synthetic text task that needs word order and
# negation. Each head gets a gate ξ_h = 1; its importance is the mean |∂L/∂ξ_h| over the
# validation sentences (Michel et al. 2019). The lower half of the heads, ranked over
# both layers, is removed: the rows of `q_proj`, `k_proj`, `v_proj` and the columns of
# `out_proj` that belong to them.

# %%
lesson.section("6.2", "attention heads")
lesson.show(prune.head_importance)  # mean |∂L/∂ξ_h| of a gate ξ_h = 1 on each head
tf = apps.transformer_heads(lesson.seed, lesson.pick(full=25, quick=1),
                            lesson.pick(full=2000, quick=600), lesson.backend, scope="global",
                            fraction=0.5)
rows.append(tf["row"])
for name, s in tf["scores"].items():
    print(f"importance of the heads of {name}: {np.round(s, 3)}")
print(f"removed heads: {tf['removed']}")
attn = tf["model"].encoder[0].self_attn
print(f"encoder.0 now: q_proj.weight {attn.q_proj.weight.shape}, "
      f"out_proj.weight {attn.out_proj.weight.shape}")  # fmt: skip
lesson.figure(head_importance(tf["scores"], tf["removed"], lesson.out))

# %% [markdown]
# ## §6.3 稀疏性剪枝优化在语音识别中的应用 — speech recognition
#
# 按幅值把 GRU 80% 的循环权重置零；掩码保留在参数上，优化器一步更新也不会让它们恢复。
#
# A Conv1d front end and a GRU on synthetic spoken-word features. 80% of the recurrent
# weights (`weight_ih_l0`, `weight_hh_l0`) are set to zero by magnitude. The mask stays on
# the parameters, so an optimiser step cannot bring them back.

# %%
lesson.section("6.3", "recurrent weights of a GRU")
gru = apps.gru_recurrent(lesson.seed, lesson.pick(full=10, quick=1),
                         lesson.pick(full=1000, quick=300), backend=lesson.backend)  # fmt: skip
rows.append(gru["row"])
print(f"GRU weight_hh_l0 zeros after one Adam step: {gru['zeros_after_step']:.1%} (mask kept)")

# %% [markdown]
# ## What we measured
# The table and sentences below come from this run.

# %%
lesson.part("What we measured")
print(
    format_table(
        rows,
        ["model", "change", "size", "test_acc"],
        title="each family pruned once, no retraining (test split, before -> after)",
    )
)
for r in rows:
    before, after = 100 * r["acc_before"], 100 * r["acc_after"]
    if before - 100 * r["chance"] < 2:  # a model that learned nothing cannot lose anything
        say(f"- {r['model']}: {before:.1f}% before pruning, within 2 points of chance "
            f"({r['chance']:.0%}): no finding about pruning.")  # fmt: skip
        continue
    say(f"- {r['model']}: {r['change']} moved test accuracy by {after - before:+.1f} points "
        f"without retraining ({r['size']}).")  # fmt: skip

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch6",
    [
        'Call apps.transformer_heads with scope="layer" instead of "global": does the choice of '
        "heads change (it can coincide with the global one)?",
        Try("Remove three quarters of the heads (fraction=0.75): what is left of the accuracy?",
            ("fraction=0.5)", "fraction=0.75)"), "tf"),
        "Retrain each pruned model 2 epochs (nnprune.experiments.casestudy.train_model): what "
        "comes back?",
    ],
)
