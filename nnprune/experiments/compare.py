r"""The comparison harness: every method, the same dense models, data, seeds and budget.

:func:`compare` runs the grid (method × target sparsity × seed, see
:mod:`nnprune.experiments.runner`), measures inference latency afterwards in
this process, summarises each (method, sparsity) by the mean and standard
deviation over seeds, prints a table, and writes:

* ``results.csv``: one row per run (and one ``dense`` row per seed);
* ``summary.csv``: one row per (method, sparsity);
* ``results.json``: the config, the library version, the rows and the summary;
* ``accuracy_vs_sparsity.png``: test accuracy (%) against the achieved sparsity
  (%), one line per method (display names) with error bars of one standard
  deviation after retraining, and right after pruning on the full range; the
  dense model and the equal-budget control ``dense_retrain`` as reference lines.

This is the protocol of ShrinkBench (Blalock, Gonzalez Ortiz, Frankle, Guttag,
*What is the State of Neural Network Pruning?*, MLSys 2020): report accuracy
at several operating points against random and magnitude baselines, report
compression *and* theoretical speed-up, the gap between target and achieved
sparsity, and mean ± std over seeds.

Book: §3.3 (comparing methods; corrected, see docs/errata.md#s3-3: the book's
rankings are replaced by measurements).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..report import format_table, save_figure, use_agg, write_csv, write_json
from .config import CompareConfig, load_config, make_config, quick_config
from .runner import measure_latency, run_grid

# Averaged over seeds in the summary (ints and floats of a row).
MEAN_FIELDS = (
    "achieved_sparsity",
    "accuracy_before_retrain",
    "params",
    "nonzeros",
    "compression_ratio",
    "flops",
    "flops_nz",
    "theoretical_speedup",
    "bytes_dense",
    "bytes_sparse",
    "latency_ms",
    "latency_csr_ms",
    "train_time_s",
)


@dataclass(frozen=True)
class ComparisonResult:
    """What :func:`compare` returns.

    Attributes
    ----------
    rows : list of dict
        One per run (``dense`` rows first); ``info`` holds what the method reported.
    summary : list of dict
        One per (method, target sparsity): means over seeds, and
        ``accuracy_mean`` / ``accuracy_std`` (sample std, ``ddof=1``; 0 for one seed).
    paths : dict of str to Path
        ``csv``, ``summary_csv``, ``json``, ``plot``.
    config : CompareConfig
    """

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    paths: dict[str, Path]
    config: CompareConfig


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group rows by (method, target sparsity): mean ± std of accuracy, means of the rest."""
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["target_sparsity"]), []).append(row)
    summary = []
    for (method, target), group in groups.items():
        acc = np.array([r["accuracy"] for r in group], dtype=np.float64)
        out: dict[str, Any] = {
            "method": method,
            "target_sparsity": target,
            "seeds": len(group),
            "accuracy_mean": float(acc.mean()),
            "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        }
        for key in MEAN_FIELDS:
            values = [r[key] for r in group if key in r]
            if values:
                out[key] = float(np.mean(values))
        summary.append(out)
    return summary


def format_summary(summary: Sequence[dict[str, Any]], config: CompareConfig) -> str:
    """The summary as a plain-text table (accuracy as mean ± std in percent)."""
    table = []
    for s in summary:
        table.append(
            {
                "method": s["method"],
                "target": s["target_sparsity"],
                "achieved": s["achieved_sparsity"],
                "accuracy %": f"{100 * s['accuracy_mean']:.2f} ± {100 * s['accuracy_std']:.2f}",
                "before retrain %": 100 * s["accuracy_before_retrain"],
                "compression": s["compression_ratio"],
                "speed-up (theory)": s["theoretical_speedup"],
                "MFLOPs nz": s["flops_nz"] / 1e6,
                "KiB dense": s["bytes_dense"] / 1024,
                "KiB CSR": s["bytes_sparse"] / 1024,
                "ms dense": s.get("latency_ms"),
                "ms CSR": s.get("latency_csr_ms"),
                "train s": s["train_time_s"],
            }
        )
    formats = {
        "target": "{:.2f}",
        "achieved": "{:.4f}",
        "before retrain %": "{:.2f}",
        "compression": "{:.1f}x",
        "speed-up (theory)": "{:.1f}x",
        "MFLOPs nz": "{:.4f}",
        "KiB dense": "{:.1f}",
        "KiB CSR": "{:.1f}",
        "ms dense": "{:.3f}",
        "ms CSR": "{:.3f}",
        "train s": "{:.2f}",
    }
    title = (
        f"{config.dataset} {config.model}, {len(config.seeds)} seed(s), "
        f"{config.train_epochs} dense + {config.retrain_epochs} retrain epochs; "
        f"latency: median of {config.latency_repeats}, batch {config.latency_batch}, "
        "masked dense vs CSR"
    )
    return format_table(table, formats=formats, title=title)


DISPLAY_NAMES = {  # the legend's names for the registered methods
    "random": "random",
    "global_magnitude": "global magnitude",
    "layer_magnitude": "layer-wise magnitude",
    "dense_retrain": "dense + retraining (same epochs)",
    "gsp": "GSP |gradient|",
    "taylor": "Taylor |g·w| (AGSP)",
    "snip": "SNIP (at initialisation)",
    "gsap": "GSAP",
    "ista": "ISTA (proximal L1)",
    "reweighted_l1": "reweighted L1",
    "admm": "ADMM",
    "slimming": "network slimming",
}
CONTROL = "dense_retrain"
_ZOOM_POINTS = 8.0  # the left panel shows this many points below the best accuracy


def display_name(method: str) -> str:
    """The name shown in figures: ``global_magnitude`` -> ``global magnitude``."""
    return DISPLAY_NAMES.get(method, method.replace("_", " "))


def plot_summary(
    summary: Sequence[dict[str, Any]],
    out: str | os.PathLike,
    config: CompareConfig | None = None,
) -> Path:
    """Test accuracy (%) against achieved sparsity (%): after retraining, and right after pruning.

    Left: after retraining, mean ± std over seeds, on a range that shows the
    differences (points more than ``_ZOOM_POINTS`` below the best are listed
    under the panel); the dense model and the equal-budget control
    (``dense_retrain``) as reference lines. Right: right after pruning, on the
    full 0-100 % range, where collapses show (methods that prune at
    initialisation, e.g. SNIP, have not been trained yet there: chance level).
    The title names the data, the model and the seeds (``config``).
    """
    use_agg()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, (ax, ax_before) = plt.subplots(1, 2, figsize=(13, 6), width_ratios=[3, 2])
    refs = []
    for s, style in [(s, "--") for s in summary if s["method"] == "dense"] + [
        (s, ":") for s in summary if s["method"] == CONTROL
    ][:1]:
        mean, std = 100 * s["accuracy_mean"], 100 * s["accuracy_std"]
        if s["method"] == CONTROL:  # one row per target; all the same model and budget
            rows = [r for r in summary if r["method"] == CONTROL]
            mean = 100 * float(np.mean([r["accuracy_mean"] for r in rows]))
        label = f"{display_name(s['method'])}: {mean:.2f} %"
        for a in (ax, ax_before):
            a.axhspan(mean - std, mean + std, color="0.88", zorder=0)
            a.axhline(mean, color="0.3", ls=style, lw=1.2, label=label)
        refs.append(mean)
    methods = [
        m for m in dict.fromkeys(s["method"] for s in summary) if m not in ("dense", CONTROL)
    ]
    after_values, below = list(refs), []
    for i, method in enumerate(methods):
        pts = sorted(
            (s for s in summary if s["method"] == method), key=lambda s: s["target_sparsity"]
        )
        x = [min(max(s["achieved_sparsity"], 1e-3), 1 - 1e-4) for s in pts]  # logit axis
        y = [100 * s["accuracy_mean"] for s in pts]
        after_values += y
        style = dict(
            marker="os^Dv<>pP*Xh"[i % 12], ms=5, color=f"C{i % 10}", label=display_name(method)
        )
        ax.errorbar(x, y, yerr=[100 * s["accuracy_std"] for s in pts], capsize=2, **style)
        ax_before.plot(x, [100 * s["accuracy_before_retrain"] for s in pts], **style)
    top = max(after_values) if after_values else 100.0
    low = [v for v in after_values if v >= top - _ZOOM_POINTS]
    ax.set_ylim(min(low) - 1.0, top + 1.0)
    for method in methods:
        out_of_range = [
            f"{100 * s['achieved_sparsity']:.0f} %: {100 * s['accuracy_mean']:.1f}"
            for s in summary
            if s["method"] == method and 100 * s["accuracy_mean"] < min(low) - 1.0
        ]
        if out_of_range:
            below.append(f"{display_name(method)} ({', '.join(out_of_range)})")
    if below:  # one line per method, in the empty lower-left corner, on white
        ax.text(
            0.01,
            0.02,
            "below this range:\n" + "\n".join(below),
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
            bbox=dict(facecolor="white", alpha=0.85, lw=0.5),
        )
    ax_before.set_ylim(0, 100)
    ax.set(
        xlabel="achieved sparsity (% of weights zero, logit scale)",
        ylabel="test accuracy (%)",
        title="after retraining (mean ± std over seeds)",
    )
    ax_before.set(
        xlabel="achieved sparsity (% of weights zero, logit scale)",
        ylabel="test accuracy (%)",
        title="right after pruning, before retraining\n"
        "(SNIP prunes at initialisation: untrained there)",
    )
    ticks = sorted({s["target_sparsity"] for s in summary if 0 < s["target_sparsity"] < 1})
    for a in (ax, ax_before):
        a.grid(True, alpha=0.3)
        a.set_xscale("logit")  # spreads 90-98 % where the methods part
        if ticks:
            a.set_xticks(ticks, [f"{100 * t:g} %" for t in ticks])
            a.xaxis.set_minor_formatter(NullFormatter())
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=4, loc="lower center")  # both panels
    if config is not None:
        seeds = ", ".join(map(str, config.seeds))
        fig.suptitle(
            f"{config.dataset} · {config.model} · seeds {seeds} · {config.train_epochs} dense + "
            f"{config.retrain_epochs} retraining epochs: test accuracy against sparsity"
        )
    else:
        fig.suptitle("Test accuracy against sparsity")
    fig.tight_layout(rect=(0, 0.04 + 0.03 * math.ceil(len(labels) / 4), 1, 1))
    return save_figure(fig, out, "accuracy_vs_sparsity.png")


def _as_config(config: CompareConfig | str | os.PathLike | dict | None) -> CompareConfig:
    if config is None:
        return make_config()
    if isinstance(config, CompareConfig):
        return config
    if isinstance(config, dict):
        return make_config(config)
    if isinstance(config, str | os.PathLike):
        return load_config(config)
    raise TypeError(
        f"config must be a CompareConfig, a dict, a TOML path or None, got {type(config).__name__}"
    )


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("state_dict", "info")}


def _json_safe(value: Any) -> Any:
    """Infinite ratios (everything pruned) as strings: JSON has no infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def compare(
    config: CompareConfig | str | os.PathLike | dict | None = None,
    *,
    out: str | os.PathLike = "runs/compare",
    workers: int | None = None,
    scheduler: str | None = None,
    quick: bool = False,
    progress: bool | None = None,
) -> ComparisonResult:
    """Compare pruning methods at several sparsities and seeds; print and save the results.

    Parameters
    ----------
    config : CompareConfig, dict, path to a TOML file, or None
        The grid and settings (see :mod:`nnprune.experiments.config`); ``None``
        takes the defaults: every registered method, sparsities
        0.5/0.75/0.9/0.95/0.98, seeds 0/1/2, the digits MLP 64-300-100-10.
    out : path, default "runs/compare"
        Folder for ``results.csv``, ``summary.csv``, ``results.json`` and
        ``accuracy_vs_sparsity.png`` (created; files are written atomically).
    workers : int, optional
        Local processes (default: the config's, else one per CPU core); 1 runs inline.
    scheduler : str, optional
        Dask scheduler address (``"tcp://host:8786"``) to run the grid on a cluster.
    quick : bool, default False
        A tiny grid (2 sparsities, 1 seed, few epochs; same methods) for smoke tests.
    progress : bool or None
        Progress bar over runs; ``None``: only on a terminal.

    Returns
    -------
    ComparisonResult
        ``rows``, ``summary`` and the written ``paths``.

    Book: §3.3
    """
    config = _as_config(config)
    if quick:
        config = quick_config(config)
    rows = run_grid(config, workers=workers, scheduler=scheduler, progress=progress)
    measure_latency(config, rows)
    for row in rows:
        del row["state_dict"]
    summary = summarize(rows)
    out = Path(out)
    from .._version import __version__

    paths = {
        "csv": write_csv(out / "results.csv", [_csv_row(r) for r in rows]),
        "summary_csv": write_csv(out / "summary.csv", summary),
        "json": write_json(
            out / "results.json",
            _json_safe(
                {
                    "nnprune_version": __version__,
                    "config": config.to_dict(),
                    "rows": rows,
                    "summary": summary,
                }
            ),
        ),
        "plot": plot_summary(summary, out, config),
    }
    print(format_summary(summary, config))
    return ComparisonResult(rows=rows, summary=summary, paths=paths, config=config)
