r"""Appendix C's figure: the weights after L1 training, subgradient against proximal step.

Book: appendix C (corrected, docs/errata.md#app-c).
"""

from __future__ import annotations

import numpy as np

from ..report import save_figure, use_agg
from .fonts import label, setup


def weight_histograms(weights: dict[str, np.ndarray], lam: float, out: str) -> str:
    """Histograms of ``{run: all weights}``: near zero (exact zeros apart), and log10 |w|.

    Each run's bars are fractions of its own weights, so models of different sizes compare.
    Exact zeros get their own bar at 0, so the bar there is the fraction of exact zeros
    (none for the subgradient step), never non-zero weights that fell into a bin around 0.
    """
    use_agg()
    setup()  # the CJK font (if any) before the figure's texts are made
    import matplotlib.pyplot as plt

    fig, (ax_lin, ax_log) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    span = max(float(np.quantile(np.abs(w), 0.995)) for w in weights.values())
    edges = np.linspace(-span, span, 101)  # 99.5% of every run's weights inside
    for i, (method, w) in enumerate(weights.items()):
        zeros, nz = int(np.sum(w == 0)), w[w != 0]
        share = np.full(nz.size, 1 / w.size)
        legend = f"{method}: {zeros:,} of {w.size:,} exactly 0"
        ax_lin.hist(nz, bins=edges, weights=share, alpha=0.6, color=f"C{i}", label=legend)
        if zeros:
            ax_lin.bar(0, zeros / w.size, width=0.0015, color=f"C{i}", edgecolor="k")
        ax_log.hist(np.log10(np.abs(nz)), bins=80, weights=share, alpha=0.6, color=f"C{i}",
                    label=f"{method}: non-zeros")  # fmt: skip
    ax_lin.set_yscale("log")
    bottom, top = ax_lin.get_ylim()
    ax_lin.set_ylim(bottom, top * 100)  # room for the legend above the bars
    ax_lin.set(xlabel=label("权重值（精确为 0：黑边柱）", "weight (exact zeros: black-edged bar)"),
               ylabel=label("权重占比（对数）", "fraction of weights (log)"),
               title=label("0 附近的权重", "Weights near zero"))  # fmt: skip
    ax_log.set(xlabel=label("log10 |w|（仅非零权重）", "log10 |w| (non-zero weights only)"),
               ylabel=label("权重占比", "fraction of weights"),
               title=label("非零权重的大小", "Size of the non-zero weights"))  # fmt: skip
    fig.suptitle(
        label("附录C：L1 训练后的权重", "Appendix C: weights after L1 training") + f", λ = {lam:g}"
    )
    ax_lin.legend(fontsize=8, loc="upper center")
    ax_log.legend(fontsize=8, loc="upper left")
    return str(save_figure(fig, out, "appc_weight_histograms.png"))
