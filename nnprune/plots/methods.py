r"""Chapter 3's figures: the §3.2 criteria at one budget; accuracy and speed-up (§3.3).

Book: §3.2 (criteria), §3.3 (comparing methods).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..report import save_figure, use_agg
from .fonts import label


def accuracy_and_speed(
    rows: Sequence[dict[str, Any]],
    title: str,
    out: str | Path,
    name: str,
    control: str,
    chance: float = 0.1,
) -> Path:
    """Two panels from the rows of :func:`nnprune.experiments.method_study.study`.

    Left: test accuracy (%) after the same retraining, on a range that shows the
    differences, the dense model and the equal-budget control as marked points
    at 0 removed with their values in the legend. Middle: right after pruning,
    on 0-100 %, where the collapses show, with the ``chance`` level. Right: measured
    speed-up with dense and CSR kernels (log) and the FLOP ratio (+), 1x marked.
    """
    use_agg()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    fig, (ax_acc, ax_pre, ax_x) = plt.subplots(1, 3, figsize=(16, 4.8))
    dense = rows[0]
    ctrl = next(r for r in rows if r["method"] == control)
    ax_acc.axhline(100 * dense["acc retrained"], color="k", lw=0.8, zorder=1)
    ax_acc.plot(
        [0],
        [100 * dense["acc retrained"]],
        "k*",
        ms=12,
        zorder=4,
        label=f"dense {dense['acc retrained']:.2%}",
    )
    ax_acc.plot(
        [0],
        [100 * ctrl["acc retrained"]],
        "D",
        color="0.4",
        mfc="none",
        ms=9,
        zorder=4,
        label=f"{control} {ctrl['acc retrained']:.2%}",
    )
    ax_x.axhline(1.0, color="k", lw=0.8, label="dense (1x)")
    pruned = [r for r in rows if r["method"] not in ("dense", control)]
    for i, method in enumerate(dict.fromkeys(r["method"] for r in pruned)):
        rs = [r for r in pruned if r["method"] == method]
        removed = [100 * r["removed"] for r in rs]
        c = f"C{i}"
        mk = "osD^v"[i % 5]  # open markers of different shapes and sizes: none hides another
        style = {"marker": mk, "color": c, "mfc": "none", "mew": 1.5, "ms": 11 - 2 * (i % 4)}
        ax_acc.plot(removed, [100 * r["acc retrained"] for r in rs], "-", label=method, **style)
        ax_pre.plot(removed, [100 * r["acc pruned"] for r in rs], ":", label=method, **style)
        ax_x.plot(removed, [r["x dense"] for r in rs], "o-", color=c, label=f"{method}, dense")
        if all("x csr" in r for r in rs):
            ax_x.plot(removed, [r["x csr"] for r in rs], "s--", color=c, label=f"{method}, CSR")
        ax_x.plot(removed, [r["theory x"] for r in rs], "+", color=c, ms=11, mew=2)
    ax_acc.legend(fontsize=7, loc="lower left")
    retrained = [100 * r["acc retrained"] for r in rows]
    ax_acc.set_ylim(min(retrained) - 1, max(retrained) + 1)  # the differences, not the collapse
    ax_pre.axhline(100 * dense["acc retrained"], color="k", lw=0.8, label="dense")
    ax_pre.axhline(100 * chance, color="grey", ls="--", lw=0.8, label=f"chance ({chance:.0%})")
    ax_pre.set_ylim(0, 100)
    ax_pre.legend(fontsize=7, loc="lower left")
    ax_pre.set(
        xlabel=label("剪去的参数 (%)", "parameters removed (%)"),
        ylabel=label("测试准确率 (%)", "test accuracy (%)"),
        title=label("剪枝后、再训练前", "Right after pruning (before retraining)"),
    )
    flop = Line2D(
        [],
        [],
        color="0.3",
        marker="+",
        ls="none",
        ms=11,
        mew=2,
        label="FLOP ratio (ideal sparse kernel)",
    )
    handles, _ = ax_x.get_legend_handles_labels()
    ax_x.legend(handles=handles + [flop], fontsize=7, loc="upper left")
    ax_acc.set(
        xlabel=label("剪去的参数 (%)", "parameters removed (%)"),
        ylabel=label("测试准确率 (%)", "test accuracy (%)"),
        title=label("相同再训练之后", "After the same retraining") + " (test split)",
    )
    ax_x.set(
        xlabel=label("剪去的参数 (%)", "parameters removed (%)"),
        ylabel=label("加速比（对数轴）", "speed-up over dense (log)"),
        yscale="log",
        title=label("实测延迟", "Measured latency") + " vs the FLOP ratio",
    )
    lo, hi = ax_x.get_ylim()
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if lo <= t <= hi]
    ax_x.set_yticks(ticks, [f"{t:g}x" for t in ticks])
    ax_x.yaxis.set_minor_formatter(NullFormatter())
    for ax in (ax_acc, ax_pre, ax_x):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out, name)


def criteria(rows: Sequence[dict[str, Any]], title: str, out: str | Path, name: str,
             chance: float = 0.1) -> Path:
    """Test accuracy (%) per row right after pruning and after the same retraining.

    ``rows`` hold ``"criterion"``, ``"acc now"``, ``"acc retrained"`` and ``"sparsity"``;
    the first is the equal-budget control (dense + the same retraining), drawn as a line
    beside the ``chance`` level.
    """  # fmt: skip
    use_agg()
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(11, 0.6 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    now = [100 * r["acc now"] for r in rows]
    after = [100 * r["acc retrained"] for r in rows]
    ax.barh(y + 0.2, now, 0.4, color="tab:gray", label=label("剪枝后", "right after pruning"))
    ax.barh(y - 0.2, after, 0.4, color="tab:blue", label=label("再训练后", "after retraining"))
    for yi, a in zip(y, after, strict=True):
        ax.text(a + 1, yi - 0.2, f"{a:.1f}", va="center", fontsize=8)
    ax.axvline(after[0], color="k", lw=0.8, ls="--", label=label("对照", "control") +
               f" ({rows[0]['criterion']})")  # fmt: skip
    ax.axvline(100 * chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0%})")
    ax.set_yticks(y, [f"{r['criterion']}\n{r['sparsity']:.1%} zeros" for r in rows], fontsize=8)
    ax.set(xlim=(0, 105), xlabel=label("测试准确率 (%)", "test accuracy (%)"),
           ylabel=label("剪枝准则", "criterion"), title=title)  # fmt: skip
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside: no bar hidden
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out, name)
