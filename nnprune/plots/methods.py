r"""Chapter 3's figure: accuracy and speed-up against the share of parameters removed.

Book: §3.3 (comparing methods).
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
        xlabel="parameters removed (%)",
        ylabel="test accuracy (%)",
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
        xlabel="parameters removed (%)",
        ylabel="test accuracy (%)",
        title=label("相同再训练之后", "After the same retraining") + " (test split)",
    )
    ax_x.set(
        xlabel="parameters removed (%)",
        ylabel="speed-up over dense (log scale)",
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
