# %% [markdown]
# # Chapter 4 · 稀疏性优化算法 — sparsity optimisation algorithms
#
# 把稀疏化写成优化问题：最小化 Loss(W) +
# λ·Ω(W)。本课用数字说明书中哪些公式有误，并在数字 MLP 上运行标准算法。
#
# Sparsity as an optimisation problem: minimise `Loss(W) + λ·Ω(W)`. Several of
# the book's formulas are wrong ([errata](../docs/errata.md#s4-1-l0): L0, L1, ADMM,
# IRLS, Lasso, GSP); this lesson shows in numbers why, and runs the standard
# algorithms on the digits MLP 64-300-100-10.
#
# `python chapters/ch04_sparsity_optimisation.py [--quick] [--seed 0] [--out figures/ch04]`,
# or as a notebook (`NNPRUNE_QUICK=1` for the quick run).
#
# 本课调用 `nnprune/` 中的库代码：以 `pip install -e .`（可编辑安装）安装后，修改
# `nnprune/...` 里的函数会改变本课打印的数字。Editing `nnprune/...` changes what this lesson
# prints (install with `pip install -e .`, editable).

# %%
import numpy as np

from nnprune import nn, optim, saliency
from nnprune.algorithms import lambda_path
from nnprune.algorithms.admm import ADMMState
from nnprune.algorithms.ista import SoftThresholdStep
from nnprune.algorithms.reweighted import RefreshWeights
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.plots import optimisation as plots
from nnprune.report import format_table
from nnprune.saliency.units import taylor_terms
from nnprune.studies import optimisation as study
from nnprune.train import evaluate, fit

lesson = start("Chapter 4: sparsity as optimisation (book §4.1-4.3)", "figures/ch04")
splits = digits_splits(lesson.seed)
dense = mlp((64, 300, 100, 10), seed=lesson.seed)
fit(
    dense,
    nn.CrossEntropyLoss(),
    optim.SGD(dense.parameters(), lr=0.05, momentum=0.9),
    splits.train,
    epochs=lesson.pick(full=20, quick=3),
    batch_size=64,
    seed=lesson.seed,
    backend=lesson.backend,
)
dense.to("numpy")
dense_acc = evaluate(dense, nn.CrossEntropyLoss(), splits.test)[1]
print(f"dense MLP: test split accuracy {dense_acc:.2%}")

# %% [markdown]
# ## §4.1 稀疏性优化的目标函数 — the objective function
#
# L0 统计非零个数，L1 是绝对值之和；书中的“L0”其实是
# L1，书中的“L1”项反而惩罚最小的权重。
#
# L0 counts the non-zeros, `Σ 1[w ≠ 0]` (the book writes `Σ|w|`, which is L1);
# L1 is `Σ|w|` (the book's `Σ|w/(w²+ε)|` penalises *small* weights most).
# Computed on the trained first layer:

# %%
lesson.section("4.1")
W = dense[0].weight.data.astype("float64")  # (300, 64), trained
EPS = 1e-4
grid = np.logspace(-4, 1, 2001)  # |w| from 1e-4 to 10
book_l1 = grid / (grid**2 + EPS)  # the book's "L1" term of one weight
print(f"book 'L0' = sum|W| = {np.abs(W).sum():.2f}, which is L1 = {np.abs(W).sum():.2f};")
print(f"true L0 = {np.count_nonzero(W):,} non-zeros, the same for W/2: {np.count_nonzero(W / 2):,}")
print(f"book 'L1' |w|/(w^2+eps): largest at |w| = {grid[book_l1.argmax()]:.4f} = sqrt(eps), "
      f"value {0.5 / EPS**0.5:.0f};\nat |w| = 1 only {1 / (1 + EPS):.3f}")  # fmt: skip

# %% [markdown]
# ## §4.2 基于稀疏度的优化算法 — sparsity-driven optimisation algorithms (ADMM, IRLS, Lasso)
#
# Lasso
# 的次梯度下降让权重变小却不为零；ISTA（近端梯度，软阈值）产生精确的零；IRLS
# 在这里是重加权 L1；ADMM 交替执行三步：W 步、Z 步（投影到 k 稀疏集合）和 U
# 步（对偶更新）。
#
# **Lasso** by plain subgradient SGD on `Loss + λ‖W‖₁` (what the book's Appendix C
# does) makes weights small but never exactly zero; **ISTA** (proximal gradient:
# a gradient step, then soft-thresholding `sign(v)·max(|v| − ηλ, 0)`) makes exact
# zeros. **IRLS** becomes reweighted L1, `λ/(|w| + ε)` per weight (the book's
# `1/(α·trace(W))` fails below). **ADMM** alternates a penalised training step, a
# projection onto the k-sparse set and a dual update, then retrains with the mask.

# %%
lesson.section("4.2")
perm = np.random.default_rng(0).permutation(W.shape[0])  # the same network, units reordered
lesson.say(f"The book's IRLS weight 1/(α·trace(W)) cannot be computed: a trace needs a square "
           f"matrix and W is {W.shape[0]}x{W.shape[1]}. NumPy's np.trace silently sums the "
           f"diagonal anyway ({np.trace(W):.3f}), and gets {np.trace(W[perm]):.3f} once the "
           "hidden units are reordered (the same network): it is no property of the weights.")
lesson.show(SoftThresholdStep.on_step_end)  # ISTA: gradient step, then soft-threshold
lesson.show(RefreshWeights.on_epoch_end)  # reweighted L1: λ_ij = λ / (|w_ij| + ε)
L1_LAMS = lesson.pick(full=(0.0, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3), quick=(0.0, 1e-3, 2e-3, 5e-3))
REWEIGHTED_LAMS = lesson.pick(full=(0.0, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4), quick=(0.0, 3e-5, 3e-4))
PATH_EPOCHS = lesson.pick(full=10, quick=2)
path = []
for method, lams in (("subgradient", L1_LAMS), ("ista", L1_LAMS), ("reweighted", REWEIGHTED_LAMS)):
    path += lambda_path(
        dense,
        splits,
        lams,
        method,
        epochs=PATH_EPOCHS,
        lr=0.05,
        batch_size=64,
        seed=lesson.seed,
        eps=1e-2,
    )
    print(f"  lambda path done: {method}")
cols = {
    "method": "{}",
    "lam": "{:g}",
    "zero_fraction": "{:.2%}",
    "small_fraction": "{:.2%}",
    "accuracy": "{:.2%}",
}
title = f"Lambda path, {PATH_EPOCHS} epochs each from the dense model; test split accuracy"
print(format_table(path, list(cols), cols, f"\n{title} (dense {dense_acc:.2%})"))

ADMM = dict(
    rho=lesson.pick(full=0.03, quick=0.3),  # few quick iterations: a stronger pull towards Z
    rho_growth=1.5,
    lr=0.02,
    momentum=0.9,
    admm_iterations=lesson.pick(full=8, quick=3),
    epochs_per_iteration=lesson.pick(full=2, quick=1),
    retrain_epochs=lesson.pick(full=8, quick=2),
)
lesson.show(ADMMState.add_grad)  # W-step: the loss gradient plus ρ(W − Z + U)
lesson.show(ADMMState.update)  # Z-step: project W + U on k-sparse; U-step: U += W − Z
admm = []
for s in lesson.pick(full=(0.9, 0.95, 0.98), quick=(0.95,)):
    admm.append(study.admm_vs_one_shot(dense, splits, s, ADMM, lesson.seed))
    admm[-1]["vs one-shot"] = 100 * (admm[-1]["admm acc"] - admm[-1]["one-shot acc"])
    print(f"  ADMM done: sparsity {s:.0%}")
cols = {
    "sparsity": "{:.0%}",
    "achieved": "{:.2%}",
    "epochs": "{}",
    "admm acc": "{:.2%}",
    "one-shot acc": "{:.2%}",
    "vs one-shot": "{:+.2f} pts",
}
title = "\nADMM + retraining vs one-shot magnitude + retraining, same epochs; test split"
print(format_table(admm, list(cols), cols, f"{title} (dense {dense_acc:.2%})"))
lesson.figure(plots.lambda_path(path, dense_acc, len(splits.test[1]), lesson.out))
lesson.figure(plots.admm_residual(admm, lesson.out))

# %% [markdown]
# ## §4.3 基于梯度敏感性的优化算法 — gradient-sensitivity algorithms (GSP, AGSP, GSAP)
#
# GSP 按梯度幅值 |∂J/∂w| 排序，AGSP 按一阶泰勒估计
# |∂J/∂w·w|，GSAP 按神经元 |z·∂J/∂z| 的批均值整体删除神经元。
#
# GSP ranks weights by the gradient's *magnitude* `|∂J/∂w|`, accumulated over
# batches; AGSP by the first-order Taylor estimate `|∂J/∂w · w|`; GSAP removes
# whole neurons by the batch mean of `|z · ∂J/∂z|`. The book's GSP takes the
# *minimum signed* gradient, i.e. the most negative: the weights that matter most.

# %%
lesson.section("4.3")
lesson.show(saliency.gsp_scores)  # GSP: |∂J/∂w| accumulated over batches
lesson.show(saliency.agsp_scores)  # AGSP: |∂J/∂w · w|
lesson.show(taylor_terms)  # GSAP: z · ∂J/∂z per unit; gsap_scores averages |.| over batches
sal = study.saliency_study(dense, splits, fraction=0.1)
print(
    f"layer 0 rankings (Spearman): GSP vs AGSP {sal['rho_gsp_agsp']:.2f}, AGSP vs |W| "
    f"{sal['rho_agsp_magnitude']:.2f}, GSAP vs AGSP per unit {sal['rho_gsap_unit_agsp']:.2f}"
)
print(
    f"prune 10% of the weights, no retraining; test split accuracy drop: "
    f"{100 * sal['drop_signed_min']:.2f} points\nby the book's signed minimum, "
    f"{100 * sal['drop_abs_gradient']:.2f} points by |gradient| (dense {dense_acc:.2%})"
)

# %% [markdown]
# ## What we measured
# Computed from the numbers above.

# %%
lesson.part("What we measured")
top = max(L1_LAMS)
at_top = {r["method"]: r for r in path if r["lam"] == top}
vs = ", ".join(f"{r['vs one-shot']:+.2f} points at {r['sparsity']:.0%}" for r in admm)
print(
    f"At λ = {top:g}, the subgradient left {at_top['subgradient']['zero_fraction']:.2%} exact "
    f"zeros and ISTA {at_top['ista']['zero_fraction']:.2%}.\nADMM against one-shot magnitude "
    f"with the same {admm[0]['epochs']} epochs:\n  {vs}.\nThe book's signed-minimum GSP "
    f"cost {100 * (sal['drop_signed_min'] - sal['drop_abs_gradient']):.2f} points more than "
    "|gradient| at 10% pruned."
)

# %% [markdown]
# ## Try this
# The graded exercises of this chapter (`nnprune exercises list`), then open questions.

# %%
lesson.try_this(
    "ch4",
    [
        Try("Raise `PATH_EPOCHS` (e.g. quick=4): does the subgradient ever reach exact zeros?",
            ("PATH_EPOCHS = lesson.pick(full=10, quick=2)",
             "PATH_EPOCHS = lesson.pick(full=10, quick=4)"), "path"),
        Try("Set `rho` in `ADMM` ten times smaller (both values of its `lesson.pick`): how does "
            "the residual figure change?", ("rho=lesson.pick(full=0.03, quick=0.3)",
                                            "rho=lesson.pick(full=0.003, quick=0.03)"), "admm"),
    ],
)
