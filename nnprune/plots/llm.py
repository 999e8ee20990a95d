r"""Figure of the one-shot pruning of a small language model: perplexity per method and pattern.

Book: §8.1 (beyond the book: language models pruned without retraining).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..report import save_figure, use_agg
from .fonts import label


def oneshot_perplexity(
    rows: Sequence[dict[str, Any]], dense_perplexity: float, out: str | Path
) -> Path:
    """Bars of validation perplexity per method, one group per sparsity pattern.

    ``rows`` hold ``"method"``, ``"pattern"`` and ``"ppl"`` (a list: one value per
    calibration sampling; the bar is the mean, the whisker the min-max range).
    The dense model (a row with method ``"dense"``, if any) is the dashed line, not a bar.
    Saved as ``ch08_oneshot_lm_perplexity.png``.
    """
    use_agg()
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["method"] != "dense"]  # the dense model is the dashed line
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        labelled = False
        for g, pattern in enumerate(patterns):
            ppl = [
                np.asarray(r["ppl"])
                for r in rows
                if (r["method"], r["pattern"]) == (method, pattern)
            ]
            if not ppl:
                continue
            mean, low, high = ppl[0].mean(), ppl[0].min(), ppl[0].max()
            x = g + (k - (len(methods) - 1) / 2) * width
            ax.bar(x, mean, width, color=f"C{k}", label=None if labelled else method)
            labelled = True
            ax.errorbar(x, mean, [[mean - low], [high - mean]], color="k", capsize=3, lw=1)
    ax.axhline(dense_perplexity, color="k", ls="--", lw=1, label=f"dense {dense_perplexity:.2f}")
    ax.set_xticks(range(len(patterns)), patterns)
    ax.set(
        xlabel=label("每个 Linear 的稀疏模式", "sparsity pattern of every Linear in the blocks"),
        ylabel=label("验证困惑度（越低越好）", "validation perplexity (lower is better)"),
        title=label("一次性剪枝，不重新训练", "One-shot pruning, no retraining")
        + "\n(bar: mean over calibration samplings; whisker: min-max)",
    )
    ax.set_ylim(bottom=0.9 * dense_perplexity)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out, "ch08_oneshot_lm_perplexity.png")


__all__ = ["oneshot_perplexity"]
