# %% [markdown]
# # Chapter 1 · 神经网络基础 — neural-network basics
#
# 本课对照书的第1章：逐层检查前向与反向传播的梯度，在 8x8
# 手写数字上训练两个网络，并记下之后剪枝会改变的量：参数量、准确率和训练时间。
#
# A lesson to read beside the book's chapter 1: a layer's forward and backward
# pass checked against numbers, two networks trained on real 8x8 handwritten
# digits, and the numbers that pruning will change in the next chapters.
#
# Run it as a script, `python chapters/ch01_neural_network_basics.py [--quick]
# [--seed 0] [--out figures/ch01]`, or open it as a notebook (`jupytext --to
# notebook`; `NNPRUNE_QUICK=1` selects the quick run there).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
import copy

import numpy as np

from nnprune import metrics, nn, optim, prune
from nnprune.data import digits_splits
from nnprune.gradcheck import gradcheck
from nnprune.lesson import Try, start
from nnprune.models import mlp, small_cnn
from nnprune.plots.basics import learning_curves
from nnprune.report import format_table
from nnprune.train import evaluate, fit

lesson = start("Chapter 1: neural-network basics (book §1.1-1.3)", "figures/ch01")
EPOCHS = lesson.pick(full=20, quick=3)

# %% [markdown]
# ## §1.1 神经网络概述 — overview of neural networks
#
# 每一层的反向传播都是手写的，所以用中心差分在 float64 下检查它与解析梯度一致。
#
# A layer computes `forward(x)` and, given the gradient of the loss with respect
# to its output, `backward(dout)` returns the gradient with respect to its input
# and *adds* the gradients of its weights into `weight.grad`. Every backward pass
# in nnprune is written by hand, so we check it: central differences
# `(f(w + h) - f(w - h)) / 2h` must agree with the analytic gradient in float64.

# %%
lesson.section("1.1", "a backward pass, checked")
x = np.random.default_rng(lesson.seed).normal(size=(4, 5))
print("nn.Linear(5, 3), float64, relative error per array:")
print(gradcheck(nn.Linear(5, 3, seed=lesson.seed).double(), x))
images = np.random.default_rng(lesson.seed).normal(size=(2, 2, 5, 5))
print("nn.Conv2d(2, 3, kernel_size=3, padding=1):")
print(gradcheck(nn.Conv2d(2, 3, kernel_size=3, padding=1, seed=lesson.seed).double(), images))

# %% [markdown]
# ## §1.2 神经网络结构 — network structures
#
# §1.2 的三种结构：单层感知机（输入直接连到 10 个输出）、多层感知机（MLP）与卷积网络（CNN），
# 用同一个训练循环在训练集上训练，验证集跟踪训练，测试集留到最后。RNN 与 Transformer 在第 6、7
# 章作为语音与文本模型出现。
#
# Three structures of §1.2 on the same digits: a single-layer perceptron (the 64 pixels
# straight to 10 outputs, softmax), a multilayer perceptron (LeNet-300-100 on 64 pixels) and
# a small convolutional network (the RNN and the Transformer of §1.2 come in chapters 6 and 7
# as the speech and text models). All train with the same loop
# (`nnprune.train.fit`: forward, loss, backward, SGD step), on the *training*
# split; the *validation* split follows the training, the *test* split is kept
# for the end.

# %%
lesson.section("1.2", "a perceptron, an MLP and a CNN on digits")
flat = digits_splits(lesson.seed, flatten=True)  # (N, 64)
grid = digits_splits(lesson.seed, flatten=False)  # (N, 1, 8, 8)
nets = {
    "single-layer perceptron 64-10": (mlp((64, 10), seed=lesson.seed), flat),
    "MLP 64-300-100-10": (mlp((64, 300, 100, 10), seed=lesson.seed), flat),
    "CNN 16-32": (small_cnn(1, 10, 8, channels=(16, 32), seed=lesson.seed), grid),
}
results = []
for name, (model, splits) in nets.items():
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        splits.train,
        splits.val,
        epochs=EPOCHS,
        batch_size=64,
        seed=lesson.seed,
        backend=lesson.backend,
    )
    model.to("numpy")
    nets[name] = (model, splits)  # the trained model, pruned in §1.3
    _, test_acc = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    results.append(
        {
            "model": name,
            "parameters": model.num_parameters(),
            "test accuracy": test_acc,
            "ms per epoch": 1000 * float(np.median(history.epoch_time)),
            "history": history,
        }
    )
    print(f"  trained {name}: {EPOCHS} epochs, validation {history.val_accuracy[-1]:.2%}")

# %% [markdown]
# ## §1.3 剪枝对神经网络性能的影响 — effect of pruning on performance
#
# 剪枝用大小和速度换准确率。先看清要观察的量：参数量、测试集准确率、每轮训练时间。学习曲线说明
# 网络是否已训练充分（剪枝后的模型只能与训练好的稠密模型公平比较）。然后把训练好的 MLP 按全局
# 幅值剪去不同比例、不再训练：书中四种影响中的三种（压缩、准确率可能不变、过度剪枝有害）在这里
# 就能看到，计算量的变化在第 2、3 章实测；对照是同一个未剪枝的模型（额外训练预算都为零）。
#
# Pruning trades size and speed against accuracy. Before pruning anything, here
# is what we will watch: parameters, accuracy on the held-out *test* split, and
# the time per training epoch. The learning curves show whether the networks
# have finished learning (a pruned model is only compared fairly with a trained
# dense one). Then the trained MLP is pruned by global magnitude at several sparsities,
# without retraining: three of the book's four effects show already (a smaller model,
# accuracy that may hold, over-pruning that hurts; fewer operations are timed in chapters 2
# and 3); the control is the same model unpruned (no extra training for any row).

# %%
lesson.section("1.3")
n_test = len(flat.test[1])
print(
    format_table(
        results,
        columns=["model", "parameters", "test accuracy", "ms per epoch"],
        formats={"parameters": "{:,}", "test accuracy": "{:.2%}", "ms per epoch": "{:.0f}"},
        title=f"Digits, {EPOCHS} epochs, seed {lesson.seed}; accuracy on the test split "
        f"({n_test} images)",
    )
)
lesson.figure(learning_curves(results, lesson.out))
mlp_model, mlp_splits = nets["MLP 64-300-100-10"]
effects = []
for s in (0.0, 0.5, 0.9, 0.99):
    pruned = copy.deepcopy(mlp_model)
    if s:
        prune.to_sparsity(pruned, s, scope="global")
    size, nonzero = metrics.model_size(pruned)  # all parameters, biases included
    effects.append({"pruned": f"{s:.0%}", "non-zeros": nonzero, "of": size,
                    "test accuracy": evaluate(pruned, nn.CrossEntropyLoss(), mlp_splits.test)[1]})
print(format_table(effects, formats={"non-zeros": "{:,}", "of": "{:,}", "test accuracy": "{:.2%}"},
                   title="MLP pruned by global magnitude, no retraining (0% = the control)"))

# %% [markdown]
# ## What we measured
# 下面的句子由上面的数字计算得出 — the sentences below are computed from the numbers above.

# %%
lesson.part("What we measured")
slp_row, mlp_row, cnn_row = results
gap = 100 * (mlp_row["test accuracy"] - cnn_row["test accuracy"])
lesson.say(
    f"The MLP has {mlp_row['parameters'] / cnn_row['parameters']:.1f}x the CNN's parameters "
    f"and its test accuracy differs from the CNN's by {gap:+.2f} points "
    f"({mlp_row['test accuracy']:.2%} vs {cnn_row['test accuracy']:.2%}); an epoch took it "
    f"{mlp_row['ms per epoch'] / cnn_row['ms per epoch']:.1f}x the CNN's time; the "
    f"single-layer perceptron reaches {slp_row['test accuracy']:.2%} with "
    f"{slp_row['parameters']:,} parameters."
)
lesson.say(
    f"Pruned without retraining, the MLP keeps {effects[1]['test accuracy']:.2%} at 50% and "
    f"{effects[2]['test accuracy']:.2%} at 90% (control {effects[0]['test accuracy']:.2%}); "
    f"at 99% it falls to {effects[3]['test accuracy']:.2%}."
)

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — the graded exercises of this
# chapter, then open questions.

# %%
lesson.try_this(
    "ch1",
    [
        "Run with `--seed 1` and `--seed 2`: how much do the accuracies move between seeds?",
        Try("Halve the MLP's hidden layers, `mlp((64, 150, 50, 10), ...)`: what does it cost in "
            "points?", ("mlp((64, 300, 100, 10), seed", "mlp((64, 150, 50, 10), seed"), "results"),
    ],
)
