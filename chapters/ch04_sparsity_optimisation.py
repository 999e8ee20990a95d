# %% [markdown]
# # Chapter 4 · 稀疏性优化算法 — sparsity optimisation algorithms (§4.1–4.2)
#
# 把稀疏化写成优化问题：最小化 Loss(W) + λ·Ω(W)。本课先用数字说明书中 L0、L1 公式的错误，
# 再把书中 §4.2 的 Lasso、ADMM、IRLS 伪代码照原样运行、与修正版并排比较，并在糖尿病
# （diabetes）线性回归和数字 MLP 64-128-64-10 上运行标准算法。
# §4.3 在 `ch04b_gradient_sensitivity.py`。
#
# Sparsity as an optimisation problem: minimise `Loss(W) + λ·Ω(W)`. Several of the book's
# formulas are wrong ([errata](../docs/errata.md#s4-1-l0)); this lesson shows why in numbers,
# runs the book's §4.2 pseudocode (Lasso, ADMM, IRLS) as written beside its corrections, and
# the standard algorithms on scikit-learn's diabetes regression and the digits MLP
# 64-128-64-10. §4.3 is in `ch04b_gradient_sensitivity.py`.
#
# `python chapters/ch04_sparsity_optimisation.py [--quick] [--seed 0] [--out figures/ch04]`, or
# as a notebook (`NNPRUNE_QUICK=1` for the quick run). 以 `pip install -e .`（可编辑安装）安装后，
# 修改 `nnprune/...` 会改变本课打印的数字 — editing `nnprune/...` changes what this lesson prints.

# %%
"""Chapter 4 (§4.1-4.2): sparsity as optimisation: L0/L1/L2, Lasso, ADMM, IRLS."""
import copy

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso

from nnprune import algorithms as alg
from nnprune import nn, optim, prune
from nnprune.data import digits_splits
from nnprune.lesson import Try, start
from nnprune.models import mlp
from nnprune.plots import optimisation as plots
from nnprune.pseudocode import s4_2_admm, s4_2_irls, s4_2_lasso
from nnprune.report import format_table
from nnprune.train import evaluate, fit

lesson = start(__doc__, "figures/ch04")
splits, CE = digits_splits(lesson.seed), nn.CrossEntropyLoss()
dense = mlp((64, 128, 64, 10), seed=lesson.seed)
fit(dense, CE, optim.SGD(dense.parameters(), lr=0.05, momentum=0.9), splits.train,
    epochs=lesson.pick(full=20, quick=4), batch_size=64, seed=lesson.seed,
    backend=lesson.backend)  # fmt: skip
dense.to("numpy")
dense_acc = evaluate(dense, CE, splits.test)[1]
print(f"dense MLP: test split accuracy {dense_acc:.2%} (chance 10%)")

# %% [markdown]
# ## §4.1 稀疏性优化的目标函数 — the objective function
#
# L0 统计非零个数，L1 是绝对值之和；书中的“L0”其实是 L1，书中的“L1”项 |w|/(w²+ε) 反而最惩罚
# 小权重。L2（岭回归/权重衰减）只把权重缩小，不会产生精确的零；L1 的近端步（ISTA）才会。
# 对照组是 λ = 0：同样的轮数、不加惩罚。
#
# L0 counts the non-zeros, `Σ 1[w ≠ 0]` (the book writes `Σ|w|`, which is L1); L1 is `Σ|w|`
# (the book's `Σ|w/(w²+ε)|` penalises *small* weights most). L2, `½λ‖W‖²`, shrinks weights
# but leaves them small, not zero; L1 by its proximal step (ISTA) makes exact zeros. The
# control is λ = 0: the same epochs without a penalty.

# %%
lesson.section("4.1")
W = dense[0].weight.data.astype("float64")  # (128, 64), trained
EPS, grid = 1e-4, np.logspace(-4, 1, 2001)  # |w| from 1e-4 to 10
book_l1 = grid / (grid**2 + EPS)  # the book's "L1" term of one weight
print(f"book 'L0' = sum|W| = {np.abs(W).sum():.2f}, which is L1; true L0 = "
      f"{np.count_nonzero(W):,} non-zeros, the same for W/2: {np.count_nonzero(W / 2):,}")
print(f"book 'L1' |w|/(w^2+eps): largest at |w| = {grid[book_l1.argmax()]:.4f} = sqrt(eps), "
      f"value {0.5 / EPS**0.5:.0f}; at |w| = 1 only {1 / (1 + EPS):.3f}")  # fmt: skip
L1_LAMS = lesson.pick(full=(0.0, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3), quick=(0.0, 2e-3, 5e-3))
L2_LAMS = lesson.pick(full=(1e-3, 5e-3, 2e-2, 5e-2), quick=(5e-3, 5e-2))
PATH_EPOCHS = lesson.pick(full=10, quick=2)
PATH = dict(epochs=PATH_EPOCHS, lr=0.05, batch_size=64, seed=lesson.seed, eps=1e-2)
path = alg.lambda_path(dense, splits, L1_LAMS, "ista", **PATH)  # λ = 0 first: the control
path += alg.lambda_path(dense, splits, L2_LAMS, "l2", **PATH)
PCOLS = {"method": "{}", "lam": "{:g}", "zero_fraction": "{:.2%}", "small_fraction": "{:.2%}",
         "accuracy": "{:.2%}"}  # fmt: skip
title = f"\nL1 (ISTA) and L2, {PATH_EPOCHS} epochs each from the dense model; |w| < 1e-3 = small"
print(format_table(path, list(PCOLS), PCOLS, f"{title}; test split (dense {dense_acc:.2%})"))

# %% [markdown]
# ## §4.2 基于稀疏度的优化算法 — sparsity-driven optimisation algorithms (ADMM, IRLS, Lasso)
#
# 书中三段伪代码先照原样运行（`book_*`），再运行只改正不能运行之处的修正版（`corrected_*`），
# 两者在 scikit-learn 的糖尿病数据（442 人，10 个特征）上与 scikit-learn 的 Lasso 比较。
# 然后用 ISTA、ADMM、坐标下降三种标准方法求解书中的线性 Lasso ½‖Ax − b‖² + λ‖x‖₁。
#
# The book's three blocks run as written (`book_*`) beside their corrections (`corrected_*`,
# the same names and line order), on scikit-learn's diabetes data (442 patients, 10
# features), each against scikit-learn's Lasso. Then the book's linear Lasso
# `½‖Ax − b‖² + λ‖x‖₁` solved by ISTA, ADMM and coordinate descent.

# %%
lesson.section("4.2")
lesson.show(s4_2_lasso.book_lasso)  # gradient descent with λ·sign(W): no exact zeros
lesson.show(s4_2_lasso.corrected_lasso)  # the proximal step (ISTA)
lesson.say("Lasso block: " + s4_2_lasso.summary(lesson.quick, lesson.seed))
lesson.show(s4_2_admm.book_admm)  # three exact minimisations, no multiplier
lesson.show(s4_2_admm.corrected_admm)  # ADMM for the Lasso: W, Z, U
lesson.say("ADMM block: " + s4_2_admm.summary(lesson.quick, lesson.seed))
lesson.show(s4_2_irls.book_irls)
lesson.show(s4_2_irls.corrected_irls)  # each step a weighted least-squares solve
A, b = load_diabetes(return_X_y=True)
A, b = (A - A.mean(axis=0)) / A.std(axis=0), b - b.mean()  # centred: no intercept needed
LAM = 0.1 * np.abs(A.T @ b).max()  # 10% of λ_max, the smallest λ giving x = 0
try:
    s4_2_irls.book_irls(A, b, LAM, alpha=1.0, num_iterations=2)
except s4_2_irls.UndefinedInBook as err:  # the book's λ update has no value
    lesson.say(f"IRLS block, as the book writes it, stops: {err}.")
lesson.say("IRLS block: " + s4_2_irls.summary(lesson.quick, lesson.seed).partition("; ")[2])

sk = Lasso(alpha=LAM / len(b), fit_intercept=False, tol=1e-12, max_iter=100_000).fit(A, b).coef_
F_SK = alg.lasso_objective(A, b, sk, LAM)  # scikit-learn's objective value, the reference
solvers = {"ISTA": alg.lasso_ista(A, b, LAM, n_iter=100_000, tol=1e-12),
           "ADMM (rho 1)": alg.lasso_admm(A, b, LAM, rho=1.0, n_iter=100_000, tol=1e-10),
           "coordinate descent": alg.lasso_cd(A, b, LAM, tol=1e-12),
           "IRLS (eps 1e-8)": alg.irls_lasso(A, b, LAM, eps=1e-8)}  # fmt: skip
lasso = [{"solver": name, "iterations": r.n_iter, "exact zeros": int(np.sum(r.coef == 0)),
          "|x| < 1e-6": int(np.sum(np.abs(r.coef) < 1e-6)),
          "max |x - sklearn|": np.abs(r.coef - sk).max(),
          "objective gap": alg.lasso_objective(A, b, r.coef, LAM) / F_SK - 1}
         for name, r in solvers.items()]  # fmt: skip
cols = {"solver": "{}", "iterations": "{}", "exact zeros": "{}", "|x| < 1e-6": "{}",
        "max |x - sklearn|": "{:.1e}", "objective gap": "{:+.1e}"}  # fmt: skip
title = f"\nThe book's linear Lasso, diabetes, λ = {LAM:.1f} (scikit-learn Lasso alpha = λ/n: "
print(format_table(lasso, list(cols), cols, f"{title}{int(np.sum(sk == 0))}/10 exact zeros)"))

# %% [markdown]
# 在网络上：ISTA 在每一步之后软阈值化；重加权 L1 每轮刷新每个权重的 λ/(|w| + ε)，仍是加权
# Lasso（有精确的零）；IRLS 把 λ|w| 换成在当前 w 处相切的二次函数，每步是加权最小二乘，
# 权重变小但没有精确的零。书中的 Appendix C 用的次梯度法同样没有精确的零。
#
# On the network: ISTA soft-thresholds after each step; reweighted L1 refreshes a per-weight
# `λ/(|w| + ε)` and stays a weighted Lasso (exact zeros); IRLS replaces `λ|w|` by the quadratic
# touching it at the current w, so each step is a weighted least-squares problem: small
# weights, no exact zeros. The plain subgradient (the book's Appendix C) has none either.
# `lambda_path` trains each row with `ista_train`, `l2_train`, `subgradient_l1_train`,
# `reweighted_l1_train` or `irls_train` (`nnprune/algorithms/`).

# %%
lesson.show(alg.SoftThresholdStep.on_step_end)  # ISTA: gradient step, then soft-threshold
lesson.show(alg.RefreshWeights.on_epoch_end)  # reweighted L1: λ_ij = λ / (|w_ij| + ε)
lesson.show(alg.irls_step)  # IRLS: (AᵀA + λ diag(1/(|x| + ε)))⁻¹ Aᵀb
REWEIGHTED_LAMS = lesson.pick(full=(3e-6, 1e-5, 3e-5, 1e-4, 3e-4), quick=(3e-5, 3e-4))
path += alg.lambda_path(dense, splits, L1_LAMS[1:], "subgradient", **PATH)
path += alg.lambda_path(dense, splits, REWEIGHTED_LAMS, "reweighted", **PATH)
path += alg.lambda_path(dense, splits, REWEIGHTED_LAMS, "irls", **PATH)
title = f"\nSubgradient L1, reweighted L1 and IRLS, {PATH_EPOCHS} epochs each (λ = 0 above)"
print(format_table(path[len(L1_LAMS) + len(L2_LAMS):], list(PCOLS), PCOLS, title))
lesson.figure(plots.lambda_path(path, dense_acc, len(splits.test[1]), lesson.out))

# %% [markdown]
# 两种 ADMM：书中子问题带 L1 项，对应 Lasso 的 ADMM（Z 步为软阈值 S_{λ/ρ}），稀疏度由 λ 决定；
# 基数约束 ADMM（Zhang 等 2018）的 Z 步保留 k 个最大值（ρ 每次迭代乘 1.5）。两者都与同等
# 剪枝率、同等轮数的幅值剪枝 + 重训练对照。
#
# Two ADMMs: the book's sub-problems carry L1 terms, i.e. ADMM for the Lasso (Z-step the
# soft-threshold `S_{λ/ρ}`, sparsity set by λ); the cardinality ADMM (Zhang et al. 2018)
# keeps the k largest (its ρ grows ×1.5 per iteration: with a fixed ρ its residual grows and
# the final hard pruning costs much). Both against magnitude pruning + retraining at the same
# sparsity and the same number of epochs.

# %%
lesson.show(alg.ADMMState.add_grad)  # W-step: the loss gradient plus ρ(W − Z + U)
lesson.show(alg.ADMMState.update)  # cardinality Z-step: keep the k largest |W + U|
lesson.show(alg.L1ADMMState.update)  # L1 Z-step: soft-threshold W + U by λ/ρ
lesson.show(alg.ADMMState.u_step)  # U-step, shared by both: U ← U + W − Z; the residuals
ADMM = dict(rho=1e-2, admm_iterations=lesson.pick(full=10, quick=3), epochs_per_iteration=1,
            retrain_epochs=lesson.pick(full=4, quick=2), lr=0.01, seed=lesson.seed)  # fmt: skip
L1_LAM = lesson.pick(full=1e-2, quick=3e-3)  # few quick iterations: λ/ρ cuts less
EPOCHS = ADMM["admm_iterations"] * ADMM["epochs_per_iteration"] + ADMM["retrain_epochs"]


def magnitude_control(sparsity):
    """Layer-wise magnitude pruning of the dense model, then EPOCHS of masked retraining."""
    model = copy.deepcopy(dense)
    prune.to_sparsity(model, sparsity, scope="layer")
    fit(model, CE, optim.SGD(model.parameters(), lr=ADMM["lr"], momentum=0.9), splits.train,
        epochs=EPOCHS, batch_size=64, seed=lesson.seed)  # fmt: skip
    return evaluate(model, CE, splits.test)[1]


l1_model, card_model = copy.deepcopy(dense), copy.deepcopy(dense)
l1_res = alg.admm_l1_train(l1_model, CE, splits.train, lam=L1_LAM, **ADMM)
card_res = alg.admm_prune(card_model, CE, splits.train, sparsity=l1_res.sparsity,
                          rho_growth=1.5, **ADMM)  # ρ × 1.5 per iteration, as Zhang et al.
admm = [{"method": f"ADMM for L1 (Boyd, λ {L1_LAM:g})", "residuals": l1_res.primal_residuals,
         "sparsity": l1_res.sparsity, "accuracy": evaluate(l1_model, CE, splits.test)[1]},
        {"method": "ADMM cardinality (Zhang)", "residuals": card_res.primal_residuals,
         "sparsity": card_res.sparsity, "accuracy": evaluate(card_model, CE, splits.test)[1]},
        {"method": "magnitude + retrain (control)", "sparsity": l1_res.sparsity,
         "accuracy": magnitude_control(l1_res.sparsity)}]  # fmt: skip
for r in admm:
    r["last |W - Z|"] = r["residuals"][-1] if "residuals" in r else float("nan")
    r["vs control"] = 100 * (r["accuracy"] - admm[-1]["accuracy"])
cols = {"method": "{}", "sparsity": "{:.2%}", "accuracy": "{:.2%}", "vs control": "{:+.2f} pts",
        "last |W - Z|": "{:.3g}"}  # fmt: skip
print(format_table(admm, list(cols), cols, f"\nADMM, {EPOCHS} epochs each, the same for the "
                   f"control; test split (dense {dense_acc:.2%}, chance 10%)"))  # fmt: skip
lesson.figure(plots.admm_residual(admm[:2], lesson.out))

# %% [markdown]
# ## What we measured
# 由上面的数字计算 — computed from the numbers above.

# %%
lesson.part("What we measured")
top, control = max(L1_LAMS), path[0]
at = {r["method"]: r for r in path if r["lam"] in (top, max(L2_LAMS), max(REWEIGHTED_LAMS))}
agree = max(r["max |x - sklearn|"] for r in lasso[:3])
for sentence in (
    f"L1 by ISTA at λ = {top:g} left {at['ista']['zero_fraction']:.2%} of the weights exactly 0; "
    f"L2 at λ = {max(L2_LAMS):g} left {at['l2']['zero_fraction']:.2%} exactly 0 and "
    f"{at['l2']['small_fraction']:.2%} below 1e-3 (λ = 0 control: "
    f"{control['small_fraction']:.2%}); the subgradient {at['subgradient']['zero_fraction']:.2%}.",
    f"On the diabetes Lasso, ISTA, ADMM and coordinate descent agree with scikit-learn to "
    f"{agree:.1e}; IRLS has {lasso[3]['exact zeros']} exact zeros where the Lasso has "
    f"{int(np.sum(sk == 0))}.",
    f"At λ = {max(REWEIGHTED_LAMS):g}, reweighted L1 left {at['reweighted']['zero_fraction']:.2%} "
    f"exactly 0, IRLS {at['irls']['zero_fraction']:.2%} (but {at['irls']['small_fraction']:.2%} "
    f"below 1e-3); accuracy {at['reweighted']['accuracy']:.2%} and {at['irls']['accuracy']:.2%} "
    f"against {control['accuracy']:.2%} for λ = 0.",
    f"At {l1_res.sparsity:.2%} sparsity and {EPOCHS} epochs, against magnitude + retraining: "
    f"ADMM for L1 {admm[0]['vs control']:+.2f} points, cardinality ADMM "
    f"{admm[1]['vs control']:+.2f} points.",
):
    lesson.say(sentence)

# %% [markdown]
# ## Try this
# 本章的评分练习（`nnprune exercises list`），然后是开放问题 — graded exercises, then open
# questions.

# %%
lesson.try_this(
    "ch4",
    [
        Try("Raise `PATH_EPOCHS` (e.g. quick=4): does the subgradient ever reach exact zeros?",
            ("PATH_EPOCHS = lesson.pick(full=10, quick=2)",
             "PATH_EPOCHS = lesson.pick(full=10, quick=4)"), "path"),
        Try("Set `rho` in `ADMM` ten times larger: how do the sparsity of ADMM for L1 (its "
            "threshold is λ/ρ) and the residual figure change?",
            ("ADMM = dict(rho=1e-2,", "ADMM = dict(rho=1e-1,"), "admm"),
        "Solve the diabetes Lasso at λ = 0.5·λ_max and 0.01·λ_max: how many exact zeros does each "
        "solver find, and how many iterations does ADMM need for rho 0.1, 1 and 10?",
    ],
)
