r"""Chapter 4's figures: the lambda path of three L1 methods, and ADMM's primal residual.

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
}


def lambda_path(
    rows: Sequence[dict[str, Any]], dense_accuracy: float, n_test: int, out: str | Path
) -> Path:
    """Exact zeros against lambda, and test accuracy against near-zero weights.

    ``rows`` come from :func:`nnprune.algorithms.lambda_path` (``method``,
    ``lam``, ``zero_fraction``, ``small_fraction``, ``accuracy``). The
    accuracy panel shows the dense reference and spans at least 4 points, with
    one test image (``100 / n_test`` points) stated, so one image is no cliff.
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
        ax = ax_rw if method == "reweighted" else ax_l1
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
        ax.set_xticks(lams, [f"{lam:g}" for lam in lams])
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
    ax_l1.set(
        xlabel=label("λ（对数轴）", "λ (log scale)"),
        ylabel=label("占全部权重 (%)", "share of all weights (%)"),
        title=label("L1 次梯度与 ISTA", "Plain L1 subgradient vs ISTA") + " (same λ)",
    )
    ax_rw.set(
        xlabel=label("重加权 L1 的 λ（对数轴）", "λ of reweighted L1 (log scale)"),
        ylabel=label("占全部权重 (%)", "share of all weights (%)"),
        title=label("重加权 L1", "Reweighted L1") + ": λ/(|w| + ε) per weight",
    )
    ax_acc.set(
        xlabel=label("|w| < 1e-3 的权重 (%)", "weights with |w| < 1e-3 (%)"),
        ylabel=label("测试准确率 (%)", "test accuracy (%)"),
        title=label("准确率", "Accuracy") + f" (one test image = {100 / n_test:.2f} points)",
    )
    for ax in (ax_l1, ax_rw, ax_acc):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(
        label("λ 路径", "The λ path") + ": only the proximal step (ISTA) makes exact zeros"
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
        ax.plot(it, r["residuals"], "o-", label=f"sparsity {r['sparsity']:.0%}")
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
