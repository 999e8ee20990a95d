# %% [markdown]
# # Chapter 2 · 稀疏性与神经网络 — sparsity and neural networks
#
# 训练数字 MLP，按全局幅值剪去 90%
# 的权重（本章不再训练），实测书中描述的三种稀疏性、零值节省的存储，以及是否节省时间。
#
# We train the digits MLP (64-300-100-10), prune 90% of its weights by global
# magnitude (no retraining here; chapter 3 retrains) and *measure* what the book
# describes: the three kinds of sparsity, what zeros save on disk, and whether
# they save time.
#
# `python chapters/ch02_sparsity.py [--quick] [--seed 0] [--out figures/ch02]`,
# or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
import numpy as np

from nnprune import metrics, nn, optim, prune
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.metrics.storage import bytes_per_format, dense_vs_csr_time
from nnprune.models import mlp
from nnprune.plots import basics as plots
from nnprune.report import format_table
from nnprune.studies import sparsity as study
from nnprune.train import evaluate, fit

lesson = start("Chapter 2: sparsity, measured (book §2.1-2.3)", "figures/ch02")
EPOCHS = lesson.pick(full=20, quick=4)
SPARSITY = 0.9  # global magnitude pruning: the fraction of all weights set to zero
splits = digits_splits(lesson.seed, flatten=True)
X_test = splits.test[0]
model = mlp((64, 300, 100, 10), seed=lesson.seed)
fit(
    model,
    nn.CrossEntropyLoss(),
    optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
    splits.train,
    epochs=EPOCHS,
    batch_size=64,
    seed=lesson.seed,
    backend=lesson.backend,
)
model.to("numpy")
print(f"trained the digits MLP 64-300-100-10 for {EPOCHS} epochs")
layers = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}

# %% [markdown]
# ## §2.1 稀疏性的概念 — the concept of sparsity
#
# 三种稀疏性：权重稀疏（恰为零的权重比例）、连接稀疏（输入权重全为零的神经元）、激活稀疏（恰为
# 零的输出）。
#
# Three kinds of sparsity: **weight** sparsity (the share of weights that are
# exactly zero), **connection** sparsity (a neuron whose incoming weights are all
# zero is dead; an input whose outgoing weights are all zero is unused) and
# **activation** sparsity (outputs that are exactly zero, here after each ReLU).
# We measure all three before and after pruning (`metrics.sparsity`,
# `metrics.connection_sparsity`, `metrics.activation_sparsity`).

# %%
lesson.section("2.1")
_, acc_dense = evaluate(model, nn.CrossEntropyLoss(), splits.test)
dense = study.measures(model, X_test)
before = {n: m.weight.data.copy() for n, m in layers.items()}
prune.to_sparsity(model, SPARSITY, scope="global")
_, acc_pruned = evaluate(model, nn.CrossEntropyLoss(), splits.test)
pruned = study.measures(model, X_test)
after = {n: m.weight.data for n, m in layers.items()}
threshold = float(min(np.abs(w[w != 0]).min() for w in after.values()))
print(f"test split accuracy: dense {acc_dense:.2%}, pruned to {SPARSITY:.0%} {acc_pruned:.2%}")
print(study.weight_table(dense, "\nWeights of the trained dense model (biases counted):"))
print(study.weight_table(pruned, f"\nAfter global magnitude pruning to {SPARSITY:.0%}:"))
print("\nConnection sparsity: dead neurons and unused inputs, dense and pruned")
print(study.connection_table(dense, pruned))
print("\nActivation sparsity on the test split: share of outputs exactly zero")
print(study.activation_table(model, dense, pruned))

# %% [markdown]
# 两幅图：各层权重直方图（剪枝在零附近留出空隙），以及两层的掩码。
#
# The figures: weight histograms (pruning opens a gap around zero) and the masks of
# two layers.

# %%
lesson.figure(plots.weight_histograms(before, after, threshold, lesson.out))
lesson.figure(plots.masks(layers["0"], layers["2"], lesson.out))

# %% [markdown]
# ## §2.2 稀疏性在神经网络中的重要性 — why sparsity matters in neural networks
#
# 零值只有在格式只存非零值及其位置时才省内存，而索引本身也占字节。
#
# Zeros save memory only if the format stores the non-zeros and their positions
# (the indices cost bytes too). The same pruned model in every SciPy format:

# %%
lesson.section("2.2")
bytes_rows = bytes_per_format(model)
print(
    format_table(
        bytes_rows,
        formats={"bytes": "{:,}", "vs dense": "{:.2f}x"},
        title="Bytes of the pruned model (values + indices; biases dense; int32 indices)",
    )
)

# %% [markdown]
# ## §2.3 稀疏性与神经网络性能的关系 — sparsity and network performance
#
# 乘法少了不等于时间少：CSR 乘法要在内存中跳读。这里实测一层的稠密与 CSR 乘法时间。
#
# Fewer multiplications do not mean less time: a CSR product jumps through
# memory. We time one layer's product `x @ W.T`, dense against CSR, on its real
# input (the previous layer's activations), one thread each.

# %%
lesson.section("2.3")
h = list(model)[1](layers["0"](X_test))  # the input of layer "2": ReLU(layer 0)
layer_s = metrics.sparsity(layers["2"].weight)  # weights only: the matrix the product uses
with_bias = next(r["sparsity"] for r in pruned["layers"] if r["name"] == "2")
print(f"layer 2: {layer_s:.2%} of its weights are zero ({with_bias:.2%} with its bias counted, "
      "as in the §2.1 table)")  # fmt: skip
timing = dense_vs_csr_time(layers["2"], h, (1, 256), repeats=lesson.pick(full=101, quick=21))
print(
    format_table(
        timing,
        formats={"dense us": "{:.1f}", "csr us": "{:.1f}", "csr speed-up": "{:.2f}x"},
        title=f"x @ W.T, layer 2 {layers['2'].weight.shape}, weights {layer_s:.2%} zero; "
        f"FLOPs promise {1 / (1 - layer_s):.1f}x",
    )
)

constant = splits.train[0].std(axis=0) == 0  # pixels that never vary: no gradient ever
kept_constant = layers["0"].weight.mask[:, constant]
print(
    f"{constant.sum()} input pixels are constant in training; pruning kept "
    f"{kept_constant.mean():.1%} of their weights\n(the layer keeps "
    f"{1 - pruned['weight_sparsity']['0']:.1%}): magnitude is not usefulness."
)

# %% [markdown]
# 书中 §2.3 以 10 → 5 的两层网络为例画了一幅“稀疏权重矩阵”示意图，但图中 10 个神经元
# 全部连到同一个输出节点：没有一条连接缺失，输出也只有 1 个而不是 5 个
# （[勘误 §2.3](../docs/errata.md#s2-3)）。下面把书中的 10 → 5 层按幅值剪去 75%，只画留下的连接。
#
# The book's §2.3 draws a "sparse" diagram for its 10 → 5 example, but every one of its 10
# neurons is connected to a single output node: no connection is missing and the output has
# 1 node, not 5 ([errata §2.3](../docs/errata.md#s2-3)). Here the book's 10 → 5 layer is
# pruned to 75% by magnitude and drawn with only the connections that are left.

# %%
lesson.figure(plots.tiny_layer(lesson.seed, lesson.out, in_features=10, out_features=5))

# %% [markdown]
# ## What we measured
# 下面的句子由上面的数字计算得出 — computed from the numbers above.

# %%
lesson.part("What we measured")
csr = next(r for r in bytes_rows if r["format"] == "csr")
small, large = timing[0], timing[-1]
lesson.say(
    f"Pruning {SPARSITY:.0%} of the weights cost {100 * (acc_dense - acc_pruned):.2f} points "
    f"of test accuracy without retraining."
)
lesson.say(
    f"CSR stores the pruned model in "
    f"{csr['vs dense']:.0%} of the dense bytes. Layer 2 (weights {layer_s:.2%} zero) ran "
    f"{small['csr speed-up']:.2f}x with CSR at batch {small['batch']} ({small['verdict']}) "
    f"and {large['csr speed-up']:.2f}x at batch {large['batch']} ({large['verdict']})."
)

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — the graded exercises of this
# chapter, then open questions.

# %%
lesson.try_this(
    "ch2",
    [
        Try("Set `SPARSITY = 0.5`: at what sparsity does CSR stop saving bytes?",
            ("SPARSITY = 0.9", "SPARSITY = 0.5"), "bytes_rows"),
        Try('Replace `scope="global"` by `scope="layer"`: which layer loses most, and what '
            "happens to the dead neurons?", ('SPARSITY, scope="global"', 'SPARSITY, scope="layer"'),
            "pruned"),
    ],
)
