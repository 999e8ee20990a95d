# %% [markdown]
# # Chapter 8 · 总结与展望 — summary and outlook (§8.1)
#
# 第8章展望剪枝的方向。本文件是 §8.1 发展趋势：硬件友好的 2:4 稀疏、逐步剪枝、彩票假设，
# 以及本书之外、今天最常用的一次性（不重新训练）语言模型剪枝（Wanda、SparseGPT）；
# §8.2 与 §8.3 在 `chapters/ch08b_future_directions.py`。
#
# The book's last chapter looks at where pruning is going. This file is §8.1, the trends:
# hardware-friendly 2:4 sparsity, gradual schedules, lottery tickets on the 8x8 digits and the
# MLP 64-300-100-10, then, beyond the book, today's one-shot pruning of a language model
# without retraining (Wanda, SparseGPT). §8.2 and §8.3 are in
# `chapters/ch08b_future_directions.py`. Run it as a script,
# `python chapters/ch08_trends.py [--quick] [--seed 0] [--out figures/ch08]`, or as a
# notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 8 lesson, §8.1: 2:4, gradual pruning, lottery tickets, one-shot LM pruning."""

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import prune
from nnprune.backend import to_backend, to_numpy
from nnprune.casestudies import trends
from nnprune.data import digits_splits
from nnprune.data.pydoc_corpus import char_windows, load_pydoc_corpus
from nnprune.lesson import Try, start
from nnprune.metrics.latency import latency_with_noise_row
from nnprune.metrics.storage import nm_bytes as nm_format_bytes
from nnprune.models_lm import CharTransformerLM, lm_perplexity, train_char_lm
from nnprune.pipeline import PolynomialDecay, evaluate, retrain
from nnprune.plots.llm import oneshot_perplexity
from nnprune.report import format_table

lesson = start(__doc__, "figures/ch08")
threadpool_limits(limits=1)  # small matrices: more BLAS threads only wait on a shared machine
EPOCHS = lesson.pick(full=30, quick=6)  # dense training, and each study's whole budget
SPARSITY = 0.9  # the sparsity of the gradual and lottery runs
PCT = trends.FORMATS  # how each column prints
splits = digits_splits(lesson.seed)
build = lambda seed: trends.build_mlp(seed, lesson.backend)  # noqa: E731
dense = build(lesson.seed)
retrain(dense, splits, EPOCHS, trends.LR, seed=lesson.seed)
dense_test, dense_val = evaluate(dense, splits.test)[1], evaluate(dense, splits.val)[1]
print(f"dense MLP, {EPOCHS} epochs: test accuracy {dense_test:.2%}, validation {dense_val:.2%}")

# %% [markdown]
# ## §8.1 神经网络剪枝优化的发展趋势 — trends
#
# **硬件友好的稀疏。** NVIDIA 的 2:4 模式在每 4 个相邻权重中保留 2 个（Mishra 等 2021）：
# 先稠密训练，再按 2:4 剪枝，再训练。我们把它与同样 50% 稀疏度、同样再训练的非结构化剪枝
# 比较（等预算对照），只剪两个隐藏层。
#
# **Hardware-friendly sparsity.** NVIDIA's 2:4 pattern keeps 2 of every 4 consecutive
# weights (Mishra et al. 2021): train dense, prune 2:4, retrain. We compare it with
# unstructured 50% at the same sparsity and retraining, on the two hidden layers
# (`prune.nm_structured`: in every group of 4 inputs of a row, the 2 largest |w| stay).

# %%
lesson.section("8.1", "2:4 sparsity, gradual pruning, lottery tickets")
nm = trends.nm_vs_unstructured(dense.state_dict(), splits, EPOCHS // 6, lesson.seed, build)
nm_rows = [{"method": "dense", "sparsity": 0.0, "test_retrained": dense_test}, *nm["rows"]]
print(format_table(nm_rows, ["method", "sparsity", "test_pruned", "test_retrained"], PCT,
                   "hidden layers pruned to 50%, then retrained (test split)"))  # fmt: skip
hidden = {m: [to_numpy(dict(model.named_parameters())[n].data) for n in trends.NM_LAYERS]
          for m, model in nm["models"].items()}  # fmt: skip
nm_bytes = nm_format_bytes(hidden["2:4 (N:M)"], hidden["unstructured 50%"])
print(format_table(nm_bytes, None, PCT, "\nbytes of the hidden weights 0.weight + 2.weight"))

# %% [markdown]
# 2:4 的 2 倍加速属于 Ampere 架构 GPU 的稀疏张量核；NumPy 的稠密矩阵乘法照样乘这些零。
#
# The 2x of 2:4 belongs to the sparse Tensor Cores of Ampere-class GPUs. NumPy's dense
# matmul multiplies the zeros like any other number; the timing below shows it, with a
# noise row (the dense model timed twice, interleaved).

# %%
big = np.repeat(splits.test[0], 8, axis=0)  # 8 copies of the test split: one batch
timing = latency_with_noise_row({"dense": dense, "2:4, zeros stored": nm["models"]["2:4 (N:M)"]},
                                to_backend(big, lesson.backend))  # fmt: skip
print(format_table(timing, None, PCT, "\nNumPy forward pass, interleaved medians"))

# %% [markdown]
# **剪枝日程与彩票。** 逐步剪枝让稀疏度在训练中沿三次曲线上升；彩票假设把留下的权重退回到
# 早期的值（回退）再训练，对照是同样掩码下的随机重新初始化。
#
# **Schedules and tickets.** Gradual pruning (Zhu & Gupta 2017; `pipeline.GradualPruning`)
# raises the sparsity along the cubic below during training; the lottery-ticket line
# (Frankle & Carbin 2019; rewinding, Frankle et al. 2020; `pipeline.lottery_ticket`) restarts
# the surviving weights from early values; its control is the same masks with a random
# re-initialisation, trained the same epochs.

# %%
lesson.show(PolynomialDecay.sparsity)
gradual = trends.gradual_vs_one_shot(splits, EPOCHS, SPARSITY, lesson.seed, build, lesson.out)
print(format_table(gradual["rows"], None, PCT, f"\ngradual vs one-shot to {SPARSITY:.0%}, "
                   f"{EPOCHS} epochs each (test split; dense {dense_test:.2%})"))  # fmt: skip
rounds, lt_epochs = lesson.pick(full=3, quick=1), lesson.pick(full=15, quick=4)
lt = trends.lottery(splits, SPARSITY, lt_epochs, rounds, lesson.seed, build, lesson.out)
print(format_table(lt["rows"], ["run", "round", "sparsity", "val_accuracy", "test_accuracy"],
                   PCT, f"\nlottery tickets, {lt_epochs} epochs per round"))  # fmt: skip
lesson.figure(gradual["figure"])
lesson.figure(lt["figure"])

# %% [markdown]
# ### 超越本书：不重新训练地剪枝语言模型 — beyond the book: a language model, no retraining
#
# 今天最常用的大语言模型剪枝方法是一次性（one-shot）的：不重新训练，只用几百条校准序列。
# **Wanda**（Sun 等 2023）给每个权重打分 $S_{ij} = |W_{ij}|\cdot\lVert X_j\rVert_2$，在每个
# 输出行内比较；**SparseGPT**（Frantar 与 Alistarh 2023）逐列剪枝，并用输入的逆 Hessian
# （$H = 2XX^\top + \lambda I$）按最优脑外科（OBS）公式更新其余权重。两者都逐块进行：
# 校准输入先穿过已经剪好的块，再去剪下一块。我们在 Python 自带的帮助文本
# （`pydoc_data.topics`，按主题划分训练/验证）上训练一个很小的因果字符模型。
#
# Today's most used pruning of large language models is one-shot: no retraining, a few
# hundred calibration sequences. **Wanda** scores $|W_{ij}|\cdot\lVert X_j\rVert_2$ within
# each output row; **SparseGPT** prunes column by column and moves the remaining weights with
# the optimal-brain-surgeon update, from the inverse Hessian of the layer's inputs. Both go
# block by block, the calibration data passing through the blocks already pruned. We train a
# tiny causal character model on Python's own help texts (`pydoc_data.topics`, split by topic)
# and prune every `Linear` of its blocks to 50% and to 2:4. The two methods, as the library
# runs them on one layer:

# %%
lesson.show(prune.wanda_mask)
lesson.show(prune.sparsegpt)
corpus = load_pydoc_corpus(val_fraction=0.1, seed=lesson.seed)
arch = {"nhead": 4, "num_layers": 2} | lesson.pick(
    full={"d_model": 64, "dim_feedforward": 256, "context": 64},
    quick={"d_model": 32, "dim_feedforward": 64, "context": 32})  # fmt: skip
lm = CharTransformerLM(corpus.vocab_size, seed=lesson.seed, **arch)
train_char_lm(lm, corpus.train, steps=lesson.pick(full=2000, quick=40), seed=lesson.seed)
x_val, y_val = (a[: lesson.pick(full=None, quick=48)]  # every validation window, or 48
                for a in char_windows(corpus.val, arch["context"]))  # fmt: skip
dense_lm = lm_perplexity(lm, x_val, y_val)
print(f"{lm.num_parameters():,} weights; validation perplexity {dense_lm['perplexity']:.3f}, "
      f"{dense_lm['bits_per_char']:.2f} bits/char ({x_val.size:,} characters)")  # fmt: skip

# %% [markdown]
# 同一个稠密模型，三种方法，两种稀疏模式；Wanda 与 SparseGPT 各用三组校准样本。SparseGPT 的
# 块大小也是它自适应选掩码的宽度：论文的 128 是 4096 宽层的 1/32，而这里的层只有 32–256 个
# 输入，所以与基准脚本 `benchmarks/bench_llm_pruning.py` 一样，我们在第一组校准数据上试
# 4…128，取校准重构误差最小的块（只用校准数据，不看验证集）。
#
# One dense model, three methods, two patterns; Wanda and SparseGPT each with three
# calibration samplings. SparseGPT's block size is also the width of its adaptive mask
# selection: the papers' 128 is 1/32 of a 4096-wide layer, while these layers have 32 to 256
# inputs. As `benchmarks/bench_llm_pruning.py` does, we try 4 to 128 on the first sampling
# and keep the block with the lowest calibration reconstruction error (SparseGPT's own
# objective; the validation text is not used to choose).

# %%
def calibration(sampling: int, count: int = lesson.pick(full=128, quick=16)) -> np.ndarray:
    size = corpus.train.size - arch["context"]
    starts = np.random.default_rng(1000 + sampling).integers(0, size, count)
    return corpus.train[starts[:, None] + np.arange(arch["context"])]  # (count, T)


def pruned(method: str, calib: np.ndarray, **kwargs) -> tuple[CharTransformerLM, dict]:
    model = CharTransformerLM(corpus.vocab_size, seed=lesson.seed, **arch)
    model.load_state_dict(lm.state_dict())
    return model, prune.prune_oneshot(model, calib, method, **kwargs)


# the calibration error of each block: mean ||WX - W'X||^2 / ||WX||^2 over the pruned layers
reports = {b: pruned("sparsegpt", calibration(0), blocksize=b)[1] for b in (4, 8, 16, 32, 64, 128)}
sweep = {b: float(np.mean([r["rel_error"] for r in rep.values()])) for b, rep in reports.items()}
BLOCK = min(sweep, key=sweep.get)
lesson.say("SparseGPT at 50%, calibration error by block: "
           + ", ".join(f"{b}: {e:.4f}" for b, e in sweep.items()) + f"; block {BLOCK} kept")
lm_rows = [{"method": "dense", "pattern": "-", "ppl": [dense_lm["perplexity"]]}]
for pattern, kwargs in {"50%": {"sparsity": 0.5}, "2:4": {"n": 2, "m": 4}}.items():
    for method in ("magnitude", "wanda", "sparsegpt"):
        runs = [pruned(method, calibration(s), blocksize=BLOCK, **kwargs)[0]
                for s in range(1 if method == "magnitude" else 3)]  # fmt: skip
        ppl = [lm_perplexity(model, x_val, y_val)["perplexity"] for model in runs]
        lm_rows.append({"method": method, "pattern": pattern, "ppl": ppl})
lm_table = [{"method": r["method"], "pattern": r["pattern"], "perplexity": np.mean(r["ppl"]),
             "min": min(r["ppl"]), "max": max(r["ppl"])} for r in lm_rows]  # fmt: skip
print(format_table(lm_table, None, dict.fromkeys(("perplexity", "min", "max"), "{:.3f}"),
                   "\nvalidation perplexity (mean over calibration samplings)"))  # fmt: skip
lesson.figure(oneshot_perplexity(lm_rows, dense_lm["perplexity"], lesson.out))

# %% [markdown]
# 在 LLaMA-2-7B 上（Wanda 作者公布的 WikiText-2 困惑度），50% 非结构化时幅值剪枝把困惑度从
# 5.12 升到 14.89，Wanda 与 SparseGPT 只到 6.42 与 6.51。本课完整运行（种子 0，与基准脚本同一
# 模型，稠密 3.949）：50% 时 SparseGPT 增加 1.515，不到幅值剪枝 3.214 的一半，Wanda 增加
# 3.332，并不胜过幅值剪枝；2:4 时分别为 4.322、8.628、8.747。Wanda 的优势来自大模型中少数
# 极大的输入特征（离群特征），而这个小模型的输入范数相差不大。
#
# On LLaMA-2-7B (WikiText-2, the Wanda authors' numbers) magnitude pruning at 50% takes
# perplexity from 5.12 to 14.89, Wanda and SparseGPT only to 6.42 and 6.51. This lesson's full
# run (seed 0, the benchmark's model, dense 3.949): at 50% SparseGPT adds 1.515, under half of
# magnitude's 3.214, while Wanda adds 3.332, no better than magnitude; at 2:4, 4.322, 8.628
# and 8.747. Wanda's edge comes from the few huge input features (outliers) of large models;
# this small model's input norms are much more even (the benchmark prints their ratios).

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
lesson.say(
    f"- 2:4 kept {nm['rows'][0]['test_retrained']:.2%} test accuracy after retraining, "
    f"unstructured 50% {nm['rows'][1]['test_retrained']:.2%} (dense {dense_test:.2%}); its "
    f"format takes {nm_bytes[1]['vs_dense']:.2f}x the dense bytes; NumPy ran it at "
    f"{timing[2]['vs_dense']:.2f}x dense speed, the noise row at {timing[1]['vs_dense']:.2f}x."
)
acc = {r["schedule"]: r["test_accuracy"] for r in gradual["rows"]}
ticket = {r["run"]: r["test_accuracy"] for r in lt["rows"] if r["round"] == rounds}
lesson.say(
    f"- At {SPARSITY:.0%} with {EPOCHS} epochs each: gradual {acc['gradual (cubic)']:.2%}, "
    f"one-shot + retrain {acc['one-shot + retrain']:.2%}. Lottery, round {rounds}: "
    + "; ".join(f"{k} {a:.2%}" for k, a in ticket.items())
    + f" (one test image = {100 / len(splits.test[1]):.2f} points; one seed)."
)
ppl = {(r["method"], r["pattern"]): r["perplexity"] for r in lm_table}
base = dense_lm["perplexity"]
lesson.say(
    f"- Language model, dense perplexity {base:.3f}. Added at 50%: magnitude "
    f"{ppl['magnitude', '50%'] - base:+.3f}, Wanda {ppl['wanda', '50%'] - base:+.3f}, SparseGPT "
    f"(block {BLOCK}) {ppl['sparsegpt', '50%'] - base:+.3f}; at 2:4: magnitude "
    f"{ppl['magnitude', '2:4'] - base:+.3f}, Wanda {ppl['wanda', '2:4'] - base:+.3f}, SparseGPT "
    f"{ppl['sparsegpt', '2:4'] - base:+.3f}. "
    + (f"Of magnitude's 50% increase, Wanda adds {(ppl['wanda', '50%'] - base) / mag:.0%} and "
       f"SparseGPT {(ppl['sparsegpt', '50%'] - base) / mag:.0%} (LLaMA-2-7B: 13% and 14%)."
       if (mag := ppl["magnitude", "50%"] - base) > 0 else "Magnitude adds nothing at 50% here.")
)  # fmt: skip

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch8",
    [
        Try("Set SPARSITY = 0.97: do gradual pruning and the tickets still hold up?",
            ("SPARSITY = 0.9 ", "SPARSITY = 0.97 "), "gradual"),
        Try("Give SparseGPT the papers' block of 128 (BLOCK = 128): what happens at 50%?",
            ("BLOCK = min(sweep, key=sweep.get)", "BLOCK = 128"), "lm_rows"),
        "Fewer calibration windows (count=4 in calibration): how far do the samplings spread?",
    ],
)
