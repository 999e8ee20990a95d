# %% [markdown]
# # Chapter 8 · 总结与展望 — summary and outlook
#
# 第8章展望剪枝的方向：§8.1 发展趋势，§8.2
# 未来研究方向（动态剪枝、可解释性），§8.3 工业界应用；本课在数字 MLP 上逐一测量。
#
# The book's last chapter looks at where pruning is going: §8.1 the trends, §8.2 the
# directions of future research (among them *dynamic* pruning and interpretability),
# §8.3 what industry gets from a pruned model. This lesson measures each on the 8x8 digits
# and the MLP 64-300-100-10 (studies in `nnprune.casestudies.trends`). Run it as a script,
# `python chapters/ch08_trends.py [--quick] [--seed 0] [--out figures/ch08]`, or as a
# notebook (`jupytext --to notebook`; `NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
"""Chapter 8 lesson: trends (2:4, gradual, lottery), dynamic sparse training, export costs."""

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune.backend import to_backend, to_numpy
from nnprune.casestudies import trends
from nnprune.data import digits_splits
from nnprune.export.costs import export_costs, onnx_available, onnx_latency
from nnprune.lesson import Try, start
from nnprune.metrics.latency import latency_with_noise_row
from nnprune.metrics.storage import nm_bytes as nm_format_bytes
from nnprune.pipeline import evaluate, retrain
from nnprune.report import format_table
from nnprune.sparse import to_sparse_model

lesson = start(__doc__, "figures/ch08")
threadpool_limits(limits=1)  # small matrices: more BLAS threads only wait on a shared machine
EPOCHS = lesson.pick(full=30, quick=6)  # dense training, and each study's whole budget
SPARSITY = 0.9  # the sparsity of §8.1's gradual and lottery runs and of §8.2
PCT = trends.FORMATS  # how each column prints
say = lesson.say
splits = digits_splits(lesson.seed)
build = lambda seed: trends.build_mlp(seed, lesson.backend)  # noqa: E731
dense = build(lesson.seed)
retrain(dense, splits, EPOCHS, trends.LR, seed=lesson.seed)
dense_test, dense_val = evaluate(dense, splits.test)[1], evaluate(dense, splits.val)[1]
print(f"dense MLP, {EPOCHS} epochs: test accuracy {dense_test:.2%}, validation {dense_val:.2%}")

# %% [markdown]
# ## §8.1 神经网络剪枝优化的发展趋势 — trends
#
# 硬件友好的 2:4 稀疏、训练中逐步剪枝（Zhu & Gupta
# 2017）和带回退的彩票假设（Frankle 等）。
#
# **Hardware-friendly sparsity.** NVIDIA's 2:4 pattern keeps 2 of every 4 consecutive
# weights (Mishra et al. 2021): train dense, prune 2:4, retrain. We compare it with
# unstructured 50% at the same sparsity and retraining, on the two hidden layers.

# %%
lesson.section("8.1", "2:4 sparsity, gradual pruning, lottery tickets")
nm = trends.nm_vs_unstructured(dense.state_dict(), splits, EPOCHS // 6, lesson.seed, build)
nm_rows = [{"method": "dense", "sparsity": 0.0, "test_retrained": dense_test}, *nm["rows"]]
print(
    format_table(
        nm_rows,
        ["method", "sparsity", "test_pruned", "test_retrained"],
        PCT,
        "hidden layers pruned to 50%, then retrained (test split)",
    )
)
hidden = {m: [to_numpy(dict(model.named_parameters())[n].data) for n in trends.NM_LAYERS]
          for m, model in nm["models"].items()}  # fmt: skip
nm_bytes = nm_format_bytes(hidden["2:4 (N:M)"], hidden["unstructured 50%"])
print(format_table(nm_bytes, None, PCT, "\nbytes of the hidden weights 0.weight + 2.weight"))

# %% [markdown]
# The 2x of 2:4 belongs to the sparse Tensor Cores of Ampere-class GPUs. NumPy's dense
# matmul multiplies the zeros like any other number; the timing below shows it, with a
# noise row (the dense model timed twice, interleaved).

# %%
big = np.repeat(splits.test[0], 8, axis=0)  # 8 copies of the test split: one batch
timing = latency_with_noise_row({"dense": dense, "2:4, zeros stored": nm["models"]["2:4 (N:M)"]},
                                to_backend(big, lesson.backend))  # fmt: skip
print(format_table(timing, None, PCT, "\nNumPy forward pass, interleaved medians"))

# %% [markdown]
# **Schedules and tickets.** Gradual pruning (Zhu & Gupta 2017) raises the sparsity along a
# cubic during training; the lottery-ticket line (Frankle & Carbin 2019; rewinding, Frankle
# et al. 2020) restarts the surviving weights from early values.

# %%
gradual = trends.gradual_vs_one_shot(splits, EPOCHS, SPARSITY, lesson.seed, build, lesson.out)
print(
    format_table(
        gradual["rows"],
        None,
        PCT,
        f"\ngradual vs one-shot to {SPARSITY:.0%}, {EPOCHS} epochs each "
        f"(test split; dense {dense_test:.2%})",
    )
)
rounds, lt_epochs = lesson.pick(full=3, quick=1), lesson.pick(full=15, quick=4)
lt = trends.lottery(splits, SPARSITY, lt_epochs, rounds, lesson.seed, build, lesson.out)
print(
    format_table(
        lt["rows"],
        ["run", "round", "sparsity", "val_accuracy", "test_accuracy"],
        PCT,
        f"\nlottery tickets, {lt_epochs} epochs per round",
    )
)
lesson.figure(gradual["figure"])
lesson.figure(lt["figure"])

# %% [markdown]
# ## §8.2 未来研究的方向 — future directions
#
# 动态稀疏训练从第一步起固定稀疏度并移动连接：每 ΔT 步剪去最小幅值的一部分活动权重，再随机
# （SET）或按梯度最大处（RigL）重新生长同样多的连接。
#
# **Dynamic pruning.** Dynamic sparse training keeps the sparsity fixed from the first step
# and moves the connections: every ΔT steps it drops the smallest-magnitude fraction ζ of
# the active weights and regrows as many, at random (SET, Mocanu et al. 2018) or where the
# gradient is largest (RigL, Evci et al. 2020, with ζ decayed by a cosine). Grown weights
# start at zero. Same epochs for every method, each layer at 90% (`distribution="uniform"`;
# SET's and RigL's own default, Erdős–Rényi-Kernel, keeps small layers denser):

# %%
lesson.section("8.2", "dynamic sparse training, surviving inputs")
dst = trends.dynamic_vs_static(splits, EPOCHS, SPARSITY, lesson.seed, build, lesson.out)
print(
    format_table(
        dst["rows"],
        None,
        PCT,
        f"sparse training at {SPARSITY:.0%} per layer, "
        f"{EPOCHS} epochs (val and test split; zeros = masked + grown, still 0)",
    )
)
lesson.figure(dst["figure"])

# %% [markdown]
# **Interpretability.** Which inputs does a pruned network still read? For each of the 64
# pixels, count the first-layer connections that survive. Pixels that never vary in the
# training set (marked x) carry no information.

# %%
chosen = {m: dst["models"][m] for m in ("static magnitude", "RigL")}
seen = trends.surviving_inputs(chosen, splits, lesson.out)
dead = seen["constant"]
per_dead = {m: float(k[dead].mean()) if dead.any() else 0.0 for m, k in seen["kept"].items()}
per_live = {m: float(k[~dead].mean()) for m, k in seen["kept"].items()}
for m in chosen:
    print(
        f"{m}: {per_dead[m]:.1f} kept connections per constant pixel ({int(dead.sum())}), "
        f"{per_live[m]:.1f} per varying pixel ({int((~dead).sum())})"
    )
lesson.figure(seen["figure"])

# %% [markdown]
# ## §8.3 剪枝优化在工业界的应用前景 — industrial outlook
#
# 剪枝后的模型离开训练脚本后的代价：每种导出格式的磁盘字节数和前向时间。
#
# What does a pruned model cost once it leaves the training script? Bytes on disk of
# each exported form, and the forward time of each (interleaved medians, with the noise
# row). The pruned model is the RigL one of §8.2; "shrunk dense" removes half the hidden
# units physically from the dense model instead. The ONNX rows need the `onnx` extra.

# %%
lesson.section("8.3", "bytes on disk and latency once exported")
shrunk = trends.shrunk_copy(dense, splits, lesson.seed, EPOCHS // 3)
exported = {"dense": dense, "RigL 90%": dst["models"]["RigL"], "shrunk dense": shrunk}
disk = export_costs(exported, (64,), splits.test)
print(format_table(disk, None, PCT, "each file written, read back and evaluated (test split)"))
fast = {"dense": dense, "RigL 90%, CSR kernels": to_sparse_model(exported["RigL 90%"], "sparse"),
        "shrunk dense": shrunk}  # fmt: skip
latency = latency_with_noise_row(fast, to_backend(big, lesson.backend))
print(format_table(latency, None, PCT, "\nnnprune forward pass, interleaved medians"))
if onnx_available():  # the onnx extra: ONNX Runtime runs the exported files
    ort = onnx_latency(exported, (64,), latency_batch := np.repeat(splits.test[0], 8, axis=0))
    print(f"ONNX Runtime, batch {len(latency_batch)}: " + ", ".join(
        f"{name} {1000 * t:.3f} ms" for name, t in ort.items()))  # fmt: skip

# %% [markdown]
# ## What we measured
# Sentences computed from this run's numbers.

# %%
lesson.part("What we measured")
by = {r["method"]: r for r in dst["rows"]}
kb = {(r["model"], r["format"]): r["kB_disk"] for r in disk}
noise = max(abs(timing[1]["vs_dense"] - 1), abs(latency[1]["vs_dense"] - 1))
say(
    f"- 2:4 kept {nm['rows'][0]['test_retrained']:.2%} test accuracy after retraining, "
    f"unstructured 50% {nm['rows'][1]['test_retrained']:.2%} (dense {dense_test:.2%}); its "
    f"format takes {nm_bytes[1]['vs_dense']:.2f}x the dense bytes; NumPy ran it at "
    f"{timing[2]['vs_dense']:.2f}x dense speed, the noise row at {timing[1]['vs_dense']:.2f}x."
)
acc = {m: r["test_accuracy"] for m, r in by.items()}
top = max(a for m, a in acc.items() if m != "dense")
best = " and ".join(m for m, a in acc.items() if m != "dense" and a == top)
say(
    f"- At {SPARSITY:.0%} with {EPOCHS} epochs, best on the test split: {best} ({top:.2%}); "
    f"RigL - static random = {100 * (acc['RigL'] - acc['static random']):+.2f} points, RigL - "
    f"static magnitude (dense for half the epochs, then pruned; same total) = "
    f"{100 * (acc['RigL'] - acc['static magnitude']):+.2f} points, SET - static "
    f"random = {100 * (acc['SET'] - acc['static random']):+.2f} points (one test image = "
    f"{100 / len(splits.test[1]):.2f} points; one seed)."
)
say(
    f"- Constant pixels keep {per_dead['static magnitude']:.1f} connections each under "
    f"magnitude pruning and {per_dead['RigL']:.1f} under RigL (varying pixels: "
    f"{per_live['static magnitude']:.1f} and {per_live['RigL']:.1f})."
)
ms = {r["model"]: r["ms_forward"] for r in latency}
codebook = next(r for r in disk if r["model"] == "RigL 90%" and r["format"] == "codebook")
say(
    f"- RigL 90% on disk: CSR {kb['RigL 90%', 'csr']:.1f} kB, dense checkpoint "
    f"{kb['RigL 90%', 'checkpoint']:.1f} kB, 5-bit codebook {kb['RigL 90%', 'codebook']:.1f} kB "
    f"(test accuracy read back {codebook['test_accuracy']:.2%}), ONNX "
    + (f"{kb['RigL 90%', 'onnx']:.1f} kB" if ("RigL 90%", "onnx") in kb else "not written")
    + f"; shrunk dense "
    f"{kb['shrunk dense', 'checkpoint']:.1f} kB. Forward pass: CSR kernels "
    f"{ms['RigL 90%, CSR kernels']:.2f} ms, shrunk {ms['shrunk dense']:.2f} ms, dense "
    f"{ms['dense']:.2f} ms (timing noise here about {100 * noise:.0f}%)."
)

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch8",
    [
        Try("Set SPARSITY = 0.97: does the gap between RigL and static pruning grow?",
            ("SPARSITY = 0.9 ", "SPARSITY = 0.97 "), "dst"),
        Try("Pass update_every=5 to trends.dynamic_vs_static: how many connections move now?",
            ("SPARSITY, lesson.seed, build, lesson.out)\nprint(\n    format_table(\n        dst",
             "SPARSITY, lesson.seed, build, lesson.out, update_every=5)\nprint(\n    format_table("
             "\n        dst"), "dst"),
        "pipeline.layer_sparsities(build(0), 0.9) is RigL's default split: train with it?",
    ],
)
