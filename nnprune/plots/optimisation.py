r"""Chapter 4's figures: the lambda path (L1, L2, reweighted L1, IRLS), ADMM's primal residual.

Book: §4.2 (corrected, see docs/errata.md#s4-2-lasso).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..report import save_figure, use_agg
from .fonts import label

_STYLE = {  # color, marker, line style, marker size; large hollow markers stay visible
    "ista": ("C1", "o", "-", 12),  # behind the subgradient's small squares where they agree
    "reweighted": ("C2", "^", "-", 8),
    "subgradient": ("C0", "s", "--", 5),
    "l2": ("C3", "D", "-.", 7),
    "irls": ("C4", "v", "--", 6),
}
_PANEL = {"ista": 0, "subgradient": 0, "l2": 0, "reweighted": 1, "irls": 1}


def lambda_path(
    rows: Sequence[dict[str, Any]], dense_accuracy: float, n_test: int, out: str | Path
) -> Path:
    """Exact zeros against lambda, and test accuracy against near-zero weights.

    ``rows`` come from :func:`nnprune.algorithms.lambda_path` (``method``,
    ``lam``, ``zero_fraction``, ``small_fraction``, ``accuracy``): ISTA, the
    subgradient and L2 on the left panel, reweighted L1 and IRLS in the middle.
    The accuracy panel shows the dense reference and the λ = 0 rows (the control:
    the same epochs without a penalty), spans at least 4 points, and states one
    test image (``100 / n_test`` points) and the chance level (10 classes).
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, (ax_l1, ax_rw, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.4))
    accs = [100 * dense_accuracy]
    from matplotlib.ticker import NullFormatter

    for z, (method, (color, marker, ls, ms)) in enumerate(_STYLE.items()):
        rs = [r for r in rows if r["method"] == method and r["lam"] > 0]
        if not rs:
            continue
        ax = (ax_l1, ax_rw)[_PANEL[method]]
        lams = [r["lam"] for r in rs]
        ax.semilogx(
            lams,
            [100 * r["zero_fraction"] for r in rs],
            marker=marker,
            ls=ls,
            color=color,
            lw=2,
            ms=ms,
            mfc="none",
            mew=2,
            zorder=z,
            label=f"{method}: exact zeros",
        )
        ax.semilogx(
            lams,
            [100 * r["small_fraction"] for r in rs],
            marker=marker,
            ls=":",
            color=color,
            ms=ms / 2,
            zorder=z,
            label=f"{method}: |w| < 1e-3",
        )
        ticks = sorted({r["lam"] for r in rows if r["lam"] > 0 and _PANEL[r["method"]]
                        == _PANEL[method]})  # fmt: skip
        ax.set_xticks(ticks, [f"{lam:g}" for lam in ticks], fontsize=7, rotation=45)
        ax.xaxis.set_minor_formatter(NullFormatter())
        acc = [100 * r["accuracy"] for r in rs]
        accs += acc
        ax_acc.plot(
            [100 * r["small_fraction"] for r in rs],
            acc,
            marker=marker,
            ls=ls,
            color=color,
            ms=ms,
            mfc="none",
            mew=2,
            zorder=z,
            label=method,
        )
    ax_acc.axhline(100 * dense_accuracy, color="k", lw=0.8, label=f"dense {dense_accuracy:.2%}")
    control = [r for r in rows if r["lam"] == 0]  # the same epochs without a penalty
    if control:
        acc0 = 100 * float(np.mean([r["accuracy"] for r in control]))
        accs.append(acc0)
        ax_acc.axhline(acc0, color="tab:green", ls="--", lw=1.2,
                       label=f"λ = 0, same epochs (control) {acc0:.2f}%")  # fmt: skip
    mid = (max(accs) + min(accs)) / 2
    half = max(2.0, (max(accs) - min(accs)) / 2 + 0.5)
    ax_acc.set_ylim(mid - half, mid + half)
    if mid - half <= 10.0:  # the chance level, drawn where the axis reaches it
        ax_acc.axhline(10.0, color="grey", ls=":", lw=1, label="chance (10 classes)")
    ax_l1.set(
        xlabel=label("λ（对数轴）", "λ (log scale)"),
        ylabel=label("占全部权重 (%)", "share of all weights (%)"),
        title=label("L1：次梯度与 ISTA；L2（岭）", "L1: subgradient vs ISTA; L2 (ridge)", "\n"),
    )
    ax_rw.set(
        xlabel=label("λ（对数轴）", "λ (log scale)"),
        ylabel=label("占全部权重 (%)", "share of all weights (%)"),
        title=label("重加权 L1 与 IRLS", "Reweighted L1 vs IRLS: λ/(|w| + ε) per weight", "\n"),
    )
    ax_acc.set(
        xlabel=label("|w| < 1e-3 的权重 (%)", "weights with |w| < 1e-3 (%)"),
        ylabel=label("测试准确率 (%)", "test accuracy (%); chance 10%", "\n"),
        title=label("准确率", f"Accuracy (one test image = {100 / n_test:.2f} points)", "\n"),
    )
    for ax in (ax_l1, ax_rw, ax_acc):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(
        label("λ 路径", "The λ path") + ": exact zeros only from soft-thresholding (ISTA, "
        "reweighted L1); L2 and IRLS give small weights"
    )
    fig.tight_layout()
    return save_figure(fig, out, "ch04_lambda_path.png")


def admm_residual(rows: Sequence[dict[str, Any]], out: str | Path) -> Path:
    """ADMM's primal residual ``||W - Z||`` per iteration, one line per target sparsity."""
    use_agg()
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for r in rows:
        it = np.arange(1, len(r["residuals"]) + 1)
        name = r.get("method", "sparsity")  # one line per method, or per target sparsity
        ax.plot(it, r["residuals"], "o-", label=f"{name} {r['sparsity']:.0%}")
    ax.set(
        xlabel=label("ADMM 迭代", "ADMM iteration"),
        ylabel=label("原始残差 ||W - Z||", "primal residual ||W - Z||"),
        title=label("ADMM 收敛", "ADMM convergence") + ", digits MLP",
    )
    ax.set_ylim(bottom=0)  # a linear axis from 0: every point lies on a labelled scale
    ax.yaxis.set_major_locator(ticker.MaxNLocator(6))
    ax.set_xticks(np.arange(1, max(len(r["residuals"]) for r in rows) + 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out, "ch04_admm_residual.png")


def saliency_sweep(
    weights: Sequence[dict[str, Any]],
    units: Sequence[dict[str, Any]],
    dense_accuracy: float,
    out: str | Path,
    chance: float = 0.1,
) -> Path:
    """Test accuracy after pruning + retraining: weight criteria (left), unit criteria (right).

    ``weights`` come from :func:`nnprune.pipeline.saliency_sweep` (``criterion``,
    ``sparsity``, ``acc``), ``units`` from :func:`nnprune.pipeline.gsap_sweep`
    (``criterion``, ``amount``, ``acc``). The dense accuracy and the chance level are drawn.
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    marks = {"gsp": "o", "agsp": "^", "magnitude": "s", "random": "x", "gsap": "^", "l1": "s"}
    for ax, rows, x, xlabel in (
        (axes[0], weights, "sparsity", label("权重稀疏度 (%)", "weight sparsity (%)")),
        (axes[1], units, "amount", label("每层删除的神经元 (%)", "units removed per layer (%)")),
    ):
        for crit in dict.fromkeys(r["criterion"] for r in rows):
            rs = [r for r in rows if r["criterion"] == crit]
            ls = ":" if crit == "random" else "-"
            ax.plot([100 * r[x] for r in rs], [100 * r["acc"] for r in rs],
                    marker=marks.get(crit, "o"), ls=ls, ms=8, mfc="none", mew=2,
                    label=crit)  # fmt: skip
        ax.axhline(100 * dense_accuracy, color="k", lw=0.8, label=f"dense {dense_accuracy:.1%}")
        ax.axhline(100 * chance, color="grey", ls="--", lw=1, label=f"chance {chance:.0%}")
        ax.set(xlabel=xlabel, ylim=(0, 100))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    for ax in axes:  # shared y axis, labelled on both panels so each reads on its own
        ax.set(ylabel=label("测试准确率 (%)", "test accuracy (%)"))
    axes[0].set_title(label("权重：GSP、AGSP 与对照", "weights: GSP, AGSP and controls"))
    axes[1].set(title=label("神经元：GSAP 与对照", "units: GSAP and controls"))
    fig.suptitle(label("剪枝后同样重训练", "pruned, then the same retraining for every row"))
    fig.tight_layout()
    return save_figure(fig, out, "ch04b_saliency_sweep.png")
