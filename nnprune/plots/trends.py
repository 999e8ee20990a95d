r"""Chapter 8's figures: schedule, lottery tickets, sparse training, granularity, surviving pixels.

Book: §8.1, §8.2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..report import save_figure, use_agg
from .fonts import label


def gradual_schedule(schedule: Any, history: list, steps: int, sparsity: float, out: str) -> str:
    """The cubic target sparsity per optimiser step and what was reached at each pruning step."""
    use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
    t = np.arange(steps)
    ax.plot(t, [100 * schedule.sparsity(int(s)) for s in t], label="target $s_t$ (cubic)")
    hist = np.array(history)
    ax.plot(hist[:, 0], 100 * hist[:, 2], "o", ms=3, label="achieved at pruning steps")
    title = label("逐步剪枝", "Gradual pruning") + f" (Zhu & Gupta) to {sparsity:.0%}"
    ax.set(xlabel=label("优化步（每批 64）", "optimiser step (batches of 64)"),
           ylabel=label("权重稀疏度 (%)", "weight sparsity (%)"), title=title)
    ax.legend(loc="lower right")
    return str(save_figure(fig, out, "ch08_gradual_schedule.png"))


def lottery(rows: list[dict], out: str, chance: float = 0.1) -> str:
    """Test accuracy per pruning round for each ticket run, side by side, dense dashed.

    Left: on 0-100 % with the ``chance`` level; right: the same points on a range
    that shows their differences.
    """
    use_agg()
    import matplotlib.pyplot as plt

    runs = list(dict.fromkeys(r["run"] for r in rows if r["run"] != "dense"))
    dense = next(r for r in rows if r["run"] == "dense")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained",
                             gridspec_kw={"width_ratios": (1, 1.6)})  # fmt: skip
    markers = ("o", "s", "x", "^")
    rounds = sorted({r["round"] for r in rows if r["round"] > 0})
    spars = {r["round"]: r["sparsity"] for r in rows}
    for ax in axes:  # one legend, in the left panel: the right one shows the same lines
        name = (lambda text: text) if ax is axes[0] else (lambda text: "_" + text)
        ax.axhline(100 * dense["test_accuracy"], color="k", ls="--", lw=1,
                   label=name("dense (round 0)"))  # fmt: skip
        for i, run in enumerate(runs):  # side by side: equal sparsities would hide each other
            pts = sorted((r["round"], r["test_accuracy"]) for r in rows if r["run"] == run)
            x = np.array([p[0] for p in pts]) + 0.12 * (i - (len(runs) - 1) / 2)
            ax.plot(x, [100 * p[1] for p in pts], markers[i % 4] + "-", label=name(run))
        ax.set_xticks(rounds, [f"round {k}\n{100 * spars[k]:.0f}% sparse" for k in rounds])
        ax.set_xlim(min(rounds) - 0.5, max(rounds) + 0.5)
        ax.set(xlabel=label("剪枝轮次（其后的稀疏度）", "pruning round (weight sparsity after it)"),
               ylabel=label("测试准确率 (%)", "test accuracy (%)"))
    axes[0].axhline(100 * chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0%})")
    axes[0].set_ylim(0, 100)
    axes[0].set_title(label("彩票假设", "Lottery tickets") + ", 0-100 %")
    axes[0].legend(fontsize=7, loc="lower left")
    accs = [100 * r["test_accuracy"] for r in rows]
    axes[1].set_ylim(min(accs) - 1, max(accs) + 1)
    axes[1].set_title("the same, zoomed (legend: left; runs side by side)")
    return str(save_figure(fig, out, "ch08_lottery.png"))


def dynamic_sparse_training(curves: dict, history: dict, sparsity: float, out: str,
                            chance: float = 0.1) -> str:  # fmt: skip
    """Validation accuracy per epoch of each method, and the connections moved per update.

    The legend sits below the axes (it never covers a curve); the chance level is drawn.
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, (ax, ax_moved) = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    for method, curve in curves.items():
        style = {"color": "k", "ls": "--"} if method == "dense" else {}
        name = f"{method} (dense first half)" if method == "static magnitude" else method
        ax.plot(np.arange(1, len(curve) + 1), [100 * a for a in curve], label=name, **style)
    ax.axhline(100 * chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0%})")
    lo = min(min(c) for c in curves.values())
    ax.set_ylim(max(0, min(100 * lo, 100 * chance) - 2), 100)
    ax.set(
        xlabel=label("训练轮次", "epoch"),
        ylabel=label("验证准确率 (%)", "validation accuracy (%)"),
        title=label("动态稀疏训练", "Sparse training") + f" at {sparsity:.0%} per layer",
    )
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    for method, hist in history.items():
        ax_moved.plot([h["step"] for h in hist], [h["moved"] for h in hist], "o-", ms=3,
                      label=method)  # fmt: skip
    title = label("剪枝与再生长", "Prune-and-regrow updates") + " (RigL: cosine decay)"
    ax_moved.set(xlabel=label("优化步", "optimiser step"),
                 ylabel=label("每次更新重新生长的连接", "connections regrown per update"),
                 title=title)
    ax_moved.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # off the curves
    return str(save_figure(fig, out, "ch08_dynamic_sparse_training.png"))


def granularity_and_domain(stages: list[dict], control: dict, domain: list[dict], out: str,
                           chance: float = 0.1) -> str:  # fmt: skip
    """Left: accuracy against non-zero weights, stage by stage, and the weights-only control.

    Right: per domain shift, target-test accuracy of each cross-domain run (bars),
    the chance level drawn. ``stages`` are the rows of
    :func:`nnprune.pipeline.multi_granularity_prune`, ``control`` one row with
    ``weight_nonzeros`` and ``accuracy``; ``domain`` rows hold ``shift``, ``run``, ``accuracy``.
    """
    use_agg()
    import matplotlib.pyplot as plt

    fig, (ax, ax_d) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    nz = [r["weight_nonzeros"] for r in stages]
    ax.plot(nz, [100 * r["accuracy"] for r in stages], "o-", label="layers -> units -> weights")
    for r in stages:
        ax.annotate(r["stage"], (r["weight_nonzeros"], 100 * r["accuracy"]), fontsize=8,
                    xytext=(0, -14), textcoords="offset points", ha="center")  # fmt: skip
    ax.plot(control["weight_nonzeros"], 100 * control["accuracy"], "D", mfc="none", ms=9,
            color="C3", label="control: weights only, same epochs")  # fmt: skip
    ax.axhline(100 * chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0%})")
    ax.set_xscale("log")
    ax.set_xticks(nz, [f"{n:,}" for n in nz], minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlim(min(nz) / 1.4, max(nz) * 1.4)
    ax.set_ylim(0, 100)
    ax.set(xlabel=label("非零权重（对数轴）", "non-zero weights (log)"),
           ylabel=label("测试准确率 (%)", "test accuracy (%)"),
           title=label("多粒度剪枝", "Multi-granularity pruning"))  # fmt: skip
    ax.legend(fontsize=8, loc="center right")
    shifts = list(dict.fromkeys(r["shift"] for r in domain))
    runs = list(dict.fromkeys(r["run"] for r in domain))
    width = 0.8 / len(runs)
    for k, run in enumerate(runs):
        acc = [100 * next(r["accuracy"] for r in domain if (r["shift"], r["run"]) == (s, run))
               for s in shifts]  # fmt: skip
        ax_d.bar(np.arange(len(shifts)) + (k - (len(runs) - 1) / 2) * width, acc, width,
                 label=run, color=f"C{k}")  # fmt: skip
    ax_d.axhline(100 * chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0%})")
    ax_d.set_xticks(range(len(shifts)), shifts)
    ax_d.set_ylim(0, 100)
    ax_d.set(xlabel=label("目标领域（变换后的数字）", "target domain (the digits transformed)"),
             ylabel=label("目标测试准确率 (%)", "target test accuracy (%)"),
             title=label("跨领域剪枝", "Cross-domain pruning"))  # fmt: skip
    ax_d.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return str(save_figure(fig, out, "ch08_granularity_domain.png"))


def surviving_inputs(kept: dict, constant: np.ndarray, digit: np.ndarray, digit_label: int,
                     hidden: int, out: str) -> str:  # fmt: skip
    """Kept first-layer connections per input pixel for each model; constant pixels marked x."""
    use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(kept) + 1, figsize=(3 * (len(kept) + 1), 3.3),
                             layout="constrained")  # fmt: skip
    axes[0].imshow(digit.reshape(8, 8), cmap="gray_r")
    axes[0].set_title(f"a training digit (label {digit_label})\nx = pixel constant in training",
                      fontsize=9)  # fmt: skip
    top = max(int(k.max()) for k in kept.values())
    for ax, (method, k) in zip(axes[1:], kept.items(), strict=True):
        im = ax.imshow(k, cmap="viridis", vmin=0, vmax=top)
        ax.set_title(f"{method}\nkept connections per pixel", fontsize=9)
    ys, xs = np.nonzero(constant)
    for ax in axes:
        ax.plot(xs, ys, "rx", ms=6)
        ax.set_xticks(range(0, 8, 2))
        ax.set_yticks(range(0, 8, 2))
        ax.set(xlabel=label("像素列", "pixel column"), ylabel=label("像素行", "pixel row"))
    fig.colorbar(im, ax=axes[1:], label=label("到第 0 层保留的连接", "kept connections to layer 0")
                 + f" (of {hidden})")  # fmt: skip
    fig.suptitle(label("可解释性", "Interpretability") + ": which input pixels survive pruning")
    return str(save_figure(fig, out, "ch08_surviving_inputs.png"))
