# %% [markdown]
# # Chapter 7 · 神经网络剪枝优化案例研究 — case studies
#
# 三个案例各训练一个稠密模型，用适合该模型的方法剪枝，每个副本给相同的再训练预算；未剪枝副本同
# 样再训练，作为等预算对照，准确率变化都相对它计算。
#
# Three case studies, one per section of the book's chapter 7: image recognition, natural
# language processing and speech recognition. Each trains a dense model, prunes copies of
# it with the methods that fit the model family, and retrains every copy with the **same
# budget**. One more copy is retrained without pruning: the control `dense+retrain`.
# Accuracy changes are measured against that control, so the gain of the extra epochs is
# not credited to pruning.
#
# The book's chapter 7 quotes "ResNet-50 ... 138 million parameters" (that is VGG-16;
# ResNet-50 has about 25.6M) and accuracy gains without a source
# ([errata §7](../docs/errata.md#s7)). Here every number is measured by this run.
#
# Run: `python chapters/ch07_case_studies.py [--quick] [--seed 0] [--seeds 0 1 2]
# [--study image text speech] [--cifar-root DIR] [--ag-news DIR] [--fsdd-root DIR]
# [--out figures/ch07] [--backend numpy|cupy]`, or as a notebook (`NNPRUNE_QUICK=1`).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 7 lesson: three case studies (image, text, speech), each against its control.

Besides the options below: --seeds 0 1 2 (mean ± std over seeds), --study image text speech
(a subset), --cifar-root DIR, --ag-news DIR, --fsdd-root DIR (real data, never downloaded).
"""

import argparse
import sys

from nnprune.backend import get_backend
from nnprune.casestudies import CONTROL, run_image_study, run_speech_study, run_text_study
from nnprune.lesson import Try, in_notebook, start

more = argparse.ArgumentParser(add_help=False)
more.add_argument("--seeds", type=int, nargs="+", default=None)
more.add_argument("--study", nargs="+", choices=("image", "text", "speech"),
                  default=["image", "text", "speech"])  # fmt: skip
for name in ("--cifar-root", "--ag-news", "--fsdd-root"):
    more.add_argument(name, default=None)
opts, rest = more.parse_known_args([] if in_notebook() else sys.argv[1:])
lesson = start(__doc__, "figures/ch07", argv=rest)
get_backend(lesson.backend)  # stop now, not after training, when CuPy or a GPU is missing
seeds = tuple(opts.seeds or (lesson.seed,))
out = str(lesson.out)
results: dict[str, list[dict]] = {}
say = lesson.say
print(f"seeds {seeds}; one line per finished training, then the tables (test split)")

# %% [markdown]
# ## §7.1 案例一：图像识别任务中的剪枝优化 — case 1: pruning for image recognition
#
# CNN 与小型 ResNet：全局幅值剪枝
# 80%（再训练时保留掩码），以及物理删除每个卷积一半的滤波器。
#
# A plain CNN and a small ResNet on the 8x8 digits (CIFAR-10 with `--cifar-root`).
# Methods: global magnitude pruning to 80% of the weights (Han et al. 2015, masks kept
# while retraining), and half of the filters of every convolution removed physically,
# lowest L1 norm first (Li et al. 2017). In the ResNet the channels that the residual
# additions couple are removed together.

# %%
lesson.section("7.1", "a CNN and a ResNet")
if "image" in opts.study:
    models = lesson.pick(full=("cnn", "resnet"), quick=("cnn",))  # the ResNet takes minutes
    if lesson.quick:
        print("  (the ResNet runs in a full run, without --quick)")
    results["image"] = run_image_study(
        seeds, lesson.quick, out, models=models, cifar_root=opts.cifar_root, backend=lesson.backend
    )
    lesson.figure(lesson.out / "ch07_image.png")

# %% [markdown]
# ## §7.2 案例二：自然语言处理任务中的剪枝优化 — case 2: pruning for NLP
#
# Transformer 编码器：删除一半注意力头（Michel 等 2019
# 的重要性），以及 Linear 权重的幅值剪枝 80%。
#
# A 2-layer Transformer encoder (1 layer in the quick run) on a synthetic task that needs
# word order and negation (AG News with `--ag-news`). Methods: half of the attention heads
# removed (importance of Michel et al. 2019, ranked over all layers), and magnitude 80% of
# the `Linear` weights.

# %%
lesson.section("7.2", "a Transformer")
if "text" in opts.study:
    results["text"] = run_text_study(seeds, lesson.quick, out, ag_news=opts.ag_news,
                                     backend=lesson.backend)  # fmt: skip
    lesson.figure(lesson.out / "ch07_text.png")

# %% [markdown]
# ## §7.3 案例三：语音识别任务中的剪枝优化 — case 3: pruning for speech recognition
#
# Conv1d + GRU：循环权重 80% 幅值剪枝（Narang 等 2017），以及删除
# GRU 一半的隐藏单元。
#
# A Conv1d front end and a GRU on synthetic spoken-word features (the Free Spoken Digit
# Dataset with `--fsdd-root`). Methods: 80% of the recurrent weights (magnitude, Narang et
# al. 2017), and half of the GRU's hidden units removed across all three gates.

# %%
lesson.section("7.3", "a Conv1d + GRU")
if "speech" in opts.study:
    results["speech"] = run_speech_study(seeds, lesson.quick, out, fsdd_root=opts.fsdd_root,
                                         backend=lesson.backend)  # fmt: skip
    lesson.figure(lesson.out / "ch07_speech.png")

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers: for each study, the method that stayed
# closest to its equal-budget control and the one that lost most.

# %%
lesson.part("What we measured")
for study, rows in results.items():
    pruned = [r for r in rows if r["method"] not in ("dense", CONTROL)]
    best = max(pruned, key=lambda r: r["delta_mean"])
    worst = min(pruned, key=lambda r: r["delta_mean"])
    control = {r["model"]: r["acc_mean"] for r in rows if r["method"] == CONTROL}
    smaller = worst["nonzeros"] / next(r["nonzeros"] for r in rows if r["model"] == worst["model"])
    near = [m for m, a in control.items() if a - rows[0]["chance"] < 0.02]
    if near:  # a control at chance learned nothing: no method can be ranked against it
        say(f"- {study}: the control of {', '.join(near)} is within 2 points of chance "
            f"({rows[0]['chance']:.0%}): no ranking.")  # fmt: skip
        continue
    if best["delta_mean"] == worst["delta_mean"]:  # a tie: no best and no worst
        say(f"- {study}: every pruned model ended {best['delta_mean']:+.2f} points from its "
            f"control ({len(seeds)} seed(s), test split).")  # fmt: skip
        continue
    say(f"- {study}: best vs its control ({100 * control[best['model']]:.2f}%): {best['model']} "
        f"{best['method']}, {best['delta_mean']:+.2f} points; worst: {worst['model']} "
        f"{worst['method']}, {worst['delta_mean']:+.2f} points with {smaller:.0%} of the "
        f"non-zeros ({len(seeds)} seed(s), test split).")  # fmt: skip

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch7",
    [
        "Run with --seeds 0 1 2: which differences stay larger than the spread over seeds?",
        Try("Pass cell=\"lstm\" to run_speech_study: does the LSTM tolerate 80% recurrent "
            "sparsity?", ("fsdd_root=opts.fsdd_root,", 'fsdd_root=opts.fsdd_root, cell="lstm",'),
            "results"),
    ],
)
