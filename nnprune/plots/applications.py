r"""Chapter 6's figures: head importance per encoder layer; accuracy of pruning methods.

Book: §6.2, §6.3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..report import save_figure, use_agg
from .fonts import label


def head_importance(scores: dict[str, Any], removed: dict[str, Any], out: str) -> str:
    """Heat map of head importance per layer; removed heads crossed out; ``out/ch06_...png``.

    The legend and the colorbar label sit where they have room (no blank band, no clipping).
    """
    use_agg()
    import matplotlib.pyplot as plt

    matrix = np.stack([to_numpy(s) for s in scores.values()])
    layers, heads = matrix.shape
    fig, ax = plt.subplots(figsize=(1.4 * heads + 3.2, 0.9 * layers + 2.2), layout="constrained")
    im = ax.imshow(matrix, cmap="viridis")
    for i, name in enumerate(scores):
        for h in removed.get(name, ()):
            ax.plot(h, i, "x", color="red", ms=14, mew=2.5)
    ax.plot([], [], "x", color="red", ms=8, mew=2, label="removed (lowest half, global)")
    ax.set_xticks(range(heads), [f"head {h}" for h in range(heads)])
    ax.set_yticks(range(layers), list(scores))
    ax.set(
        xlabel=label("注意力头", "attention head"),
        ylabel=label("编码器层", "encoder layer"),
        title=label("注意力头重要性", "Head importance")
        + "\n(Michel et al. 2019), synthetic text task",
    )
    fig.legend(loc="outside lower center", fontsize=8, frameon=False)
    fig.colorbar(im, ax=ax, label=label("重要性", "importance") + "\nmean |dL/d gate|", shrink=0.9)
    return str(save_figure(fig, out, "ch06_head_importance.png"))


def method_bars(rows: list[dict[str, Any]], dense: float, chance: float, title: str) -> Any:
    """Horizontal bars of ``row["acc"]`` (%) per ``row["method"]``, dense and chance drawn as lines.

    Returns the figure (for :meth:`nnprune.lesson.Lesson.figure`). The dense model is a
    line, not a bar among the methods.
    """
    use_agg()
    import matplotlib.pyplot as plt

    names = [f"{r['method']}, {r['epochs after']} epochs" if "epochs after" in r
             else r["method"] for r in rows]  # fmt: skip
    values = [r["acc"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.8), layout="constrained")
    y = np.arange(len(rows))[::-1]
    ax.barh(y, values, color="tab:blue", height=0.6)
    for yi, v in zip(y, values, strict=True):
        ax.text(v + 1, yi, f"{v:.1f}", va="center", fontsize=8)
    ax.axvline(dense, color="black", lw=1.2, label=f"dense {dense:.1f}%")
    ax.axvline(chance, color="grey", ls="--", lw=1.2, label=f"chance {chance:.0f}%")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlim(0, 105)
    ax.set(xlabel=label("测试准确率 (%)", "test accuracy (%)"),
           ylabel=label("剪枝方法", "pruning method"), title=title)
    ax.legend(loc="lower right", fontsize=8)
    return fig
