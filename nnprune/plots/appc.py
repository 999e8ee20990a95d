r"""Appendix C's figure: the weights after L1 training, subgradient SGD against ISTA.

Book: appendix C (corrected, docs/errata.md#app-c).
"""

from __future__ import annotations

import numpy as np

from ..report import save_figure, use_agg
from .fonts import label


def weight_histograms(weights: dict[str, np.ndarray], lam: float, out: str) -> str:
    """Histograms of ``{method: all weights}``: near zero (exact zeros apart), and log10 |w|.

    Exact zeros get their own bar at 0, so the bar there is the count of exact zeros
    (none for subgradient SGD), never non-zero weights that fell into a bin around 0.
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, (ax_lin, ax_log) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    edges = np.linspace(-0.05, 0.05, 101)
    for i, (method, w) in enumerate(weights.items()):
        zeros, nz = int(np.sum(w == 0)), w[w != 0]
        legend = f"{method}: {zeros / w.size:.1%} exactly 0"
        ax_lin.hist(nz, bins=edges, alpha=0.6, color=f"C{i}", label=legend)
        if zeros:
            ax_lin.bar(0, zeros, width=0.0015, color=f"C{i}", edgecolor="k")
        ax_log.hist(np.log10(np.abs(nz)), bins=80, alpha=0.6, color=f"C{i}",
                    label=f"{method}: non-zeros")  # fmt: skip
    ax_lin.set_yscale("log")
    ax_lin.set(xlabel=label("权重值", "weight value")
               + " (|w| < 0.05; exact zeros: the black-edged bar)",
               ylabel=label("权重个数（对数）", "number of weights (log)"),
               title=label("零附近的权重", "Weights near zero"))  # fmt: skip
    ax_log.set(xlabel=label("log10 |权重|（仅非零）", "log10 |weight| (non-zero weights only)"),
               ylabel=label("权重个数", "number of weights"),
               title=label("非零权重能有多小", "How small the non-zero weights get"))  # fmt: skip
    fig.suptitle(
        label("附录C：L1 训练后的权重", "Appendix C: weights after L1 training") + f", λ = {lam:g}"
    )
    ax_lin.legend(fontsize=8)
    ax_log.legend(fontsize=8)
    return str(save_figure(fig, out, "appc_weight_histograms.png"))
