r"""Figures of chapters 1 and 2: learning curves, weight histograms, masks, a tiny sparse layer.

Book: §1.2–1.3, §2.1, §2.3 (the 10 → 5 sparse diagram drawn sparse, see docs/errata.md#s2-3).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn, prune
from ..report import save_figure, use_agg
from .fonts import label


def learning_curves(results: Sequence[dict[str, Any]], out: str | Path) -> Path:
    """Training and validation loss, and validation accuracy (%), per epoch and model.

    ``results`` holds dicts with ``"model"`` (a name) and ``"history"`` (a
    :class:`nnprune.train.History`).
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, r in enumerate(results):
        h = r["history"]
        epochs = np.arange(1, len(h) + 1)
        ax_loss.plot(epochs, h.loss, color=f"C{i}", label=f"{r['model']}, training")
        ax_loss.plot(epochs, h.val_loss, "--", color=f"C{i}", label=f"{r['model']}, validation")
        ax_acc.plot(
            epochs, 100 * np.asarray(h.val_accuracy), "o-", ms=3, color=f"C{i}", label=r["model"]
        )
    from matplotlib.ticker import MaxNLocator

    ax_loss.set(
        xlabel=label("训练轮次", "epoch"),
        ylabel=label("交叉熵损失", "cross-entropy loss"),
        title=label("每轮损失", "Loss per epoch"),
    )
    ax_acc.set(
        xlabel=label("训练轮次", "epoch"),
        ylabel=label("验证准确率 (%)", "validation accuracy (%)"),
        title=label("验证准确率", "Validation accuracy"),
    )
    for ax in (ax_loss, ax_acc):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(label("§1.2 的网络", "The networks of §1.2")
                 + ": digits 8x8, SGD + momentum")  # fmt: skip
    fig.tight_layout()
    return save_figure(fig, out, "ch01_learning_curves.png")


def weight_histograms(
    before: dict[str, np.ndarray], after: dict[str, np.ndarray], threshold: float, out: str | Path
) -> Path:
    """Per layer: the trained weights, then the kept ones with the pruning threshold."""
    use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(before), figsize=(4 * len(before), 5.5))
    for j, name in enumerate(before):
        w0, w1 = before[name].ravel(), after[name].ravel()
        bins = np.linspace(w0.min(), w0.max(), 81)
        axes[0, j].hist(w0, bins=bins, color="tab:blue")
        axes[0, j].set_title(f"layer {name}: trained, {w0.size:,} weights", fontsize=9)
        kept = w1[w1 != 0]
        axes[1, j].hist(kept, bins=bins, color="tab:orange")
        axes[1, j].axvline(-threshold, color="k", lw=0.8, ls="--", label=f"±{threshold:.3g}")
        axes[1, j].axvline(threshold, color="k", lw=0.8, ls="--")
        axes[1, j].set_title(
            f"pruned: {kept.size:,} kept, {w1.size - kept.size:,} zeros (not drawn)", fontsize=9
        )
        axes[1, j].legend(fontsize=8, title="threshold", title_fontsize=8)
        for ax in axes[:, j]:
            ax.set(xlabel=label("权重值", "weight value"),
                   ylabel=label("权重个数", "number of weights"))
    fig.suptitle(
        label("全局幅值剪枝后的权重分布", "weights after global magnitude pruning")
        + f":  a gap |w| < {threshold:.3g} around zero"
    )
    fig.tight_layout()
    return save_figure(fig, out, "ch02_weight_histograms.png")


def masks(first: nn.Linear, second: nn.Linear, out: str | Path) -> Path:
    """The bool masks of two layers, and how many kept weights read each 8x8 input pixel."""
    use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    for ax, name, layer in ((axes[0], "0", first), (axes[1], "2", second)):
        mask = layer.weight.mask
        ax.imshow(mask, cmap="gray_r", interpolation="nearest", aspect="auto")
        ax.set(
            title=f"layer {name} mask {mask.shape}: {mask.mean():.1%} kept (black)",
            xlabel=label("输入序号", "input index"),
            ylabel=label("神经元序号", "neuron index"),
        )
    reads = first.weight.mask.sum(axis=0).reshape(8, 8)  # kept outgoing weights per pixel
    im = axes[2].imshow(reads, cmap="viridis")
    axes[2].set(title=label("每像素保留", "kept per pixel"),
                xlabel=label("像素列", "pixel column"),
                ylabel=label("像素行", "pixel row"))  # fmt: skip
    fig.colorbar(im, ax=axes[2], fraction=0.046, label=label("保留的权重", "kept weights"))
    fig.suptitle(label("剪枝掩码", "masks") + ": which weights global magnitude pruning kept")
    fig.tight_layout()
    return save_figure(fig, out, "ch02_sparse_masks.png")


def tiny_layer(
    seed: int, out: str | Path, sparsity: float = 0.75, in_features: int = 10,
    out_features: int = 5,
) -> Path:
    """The book's §2.3 example layer, 10 -> 5, before and after pruning: kept connections only.

    The book's diagram draws every connection of a 10-neuron layer to one output node and
    calls it sparse; here a ``Linear(in_features, out_features)`` is pruned to ``sparsity``
    by magnitude and drawn with only the connections that are left.

    Book: §2.3 (corrected, see docs/errata.md#s2-3).
    """
    use_agg()
    import matplotlib.pyplot as plt

    layer = nn.Linear(in_features, out_features, seed=seed)
    dense_w = layer.weight.data.copy()
    prune.l1_unstructured(layer, "weight", amount=sparsity)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, w in zip(axes, (dense_w, layer.weight.data), strict=True):
        n_out, n_in = w.shape
        y_in, y_out = np.linspace(0, 1, n_in), np.linspace(0.1, 0.9, n_out)
        for i, j in zip(*np.nonzero(w), strict=True):
            lw = 0.5 + 3 * abs(w[i, j]) / np.abs(dense_w).max()
            ax.plot([0, 1], [y_in[j], y_out[i]], color="tab:blue", lw=lw)
        used_in, used_out = (w != 0).any(axis=0), (w != 0).any(axis=1)
        ax.scatter(np.zeros(n_in), y_in, s=120, zorder=3, c=np.where(used_in, "k", "lightgray"))
        ax.scatter(np.ones(n_out), y_out, s=120, zorder=3, c=np.where(used_out, "k", "lightgray"))
        title = (
            label("稠密", "dense") + f": {w.size} connections"
            if w is dense_w
            else f"{sparsity:.0%} pruned: {np.count_nonzero(w)} kept\n(gray: "
            f"{(~used_in).sum()} input(s), {(~used_out).sum()} neuron(s) cut off)"
        )
        ax.set(
            title=title,
            xticks=[0, 1],
            xticklabels=[label(f"{n_in} 个输入", f"{n_in} inputs"),
                         label(f"{n_out} 个神经元", f"{n_out} neurons")],
            yticks=[],
            xlabel=label("线宽 = |权重|", "line width = |weight|"),
            ylabel=label("单元", "units"),
        )  # fmt: skip
    fig.suptitle(label("稀疏层画成稀疏的", "A sparse layer drawn sparse")
                 + f": the book's §2.3 {in_features} → {out_features} example")  # fmt: skip
    fig.tight_layout()
    return save_figure(fig, out, "ch02_tiny_layer_graph.png")
