r"""The comparison harness: every method, the same dense models, data, seeds and budget.

:func:`compare` runs the grid (method × target sparsity × seed, see
:mod:`nnprune.experiments.runner`), measures inference latency afterwards in
this process, summarises each (method, sparsity) by the mean and standard
deviation over seeds, prints a table, and writes:

* ``results.csv``: one row per run (and one ``dense`` row per seed);
* ``summary.csv``: one row per (method, sparsity);
* ``results.json``: the config, the library version, the rows and the summary;
* ``accuracy_vs_sparsity.png``: test accuracy against the compression ratio
  (log scale), one line per method with error bars of one standard deviation,
  after and before retraining, the dense accuracy as a band.

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


def plot_summary(summary: Sequence[dict[str, Any]], out: str | os.PathLike) -> Path:
    """Accuracy (after and before retraining) against the compression ratio, log x."""
    use_agg()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    dense = [s for s in summary if s["method"] == "dense"]
    for s in dense:
        for ax in axes:
            lo, hi = s["accuracy_mean"] - s["accuracy_std"], s["accuracy_mean"] + s["accuracy_std"]
            ax.axhspan(lo, hi, color="0.85")
            ax.axhline(s["accuracy_mean"], color="0.4", ls="--", lw=1, label="dense")
    methods = list(dict.fromkeys(s["method"] for s in summary if s["method"] != "dense"))
    ticks = sorted(
        {
            round(s["compression_ratio"], 1)
            for s in summary
            if s["method"] != "dense" and math.isfinite(s["compression_ratio"])
        }
    )
    for method in methods:
        pts = sorted(
            (s for s in summary if s["method"] == method), key=lambda s: s["target_sparsity"]
        )
        x = [s["compression_ratio"] for s in pts]
        axes[0].errorbar(
            x,
            [s["accuracy_mean"] for s in pts],
            yerr=[s["accuracy_std"] for s in pts],
            marker="o",
            ms=3,
            capsize=2,
            label=method,
        )
        axes[1].plot(x, [s["accuracy_before_retrain"] for s in pts], marker="o", ms=3, label=method)
    for ax, title in zip(
        axes,
        ("after retraining (mean ± std over seeds)", "right after pruning (mean over seeds)"),
        strict=True,
    ):
        ax.set_xscale("log")
        if ticks:  # label the operating points themselves, not powers of ten
            ax.set_xticks(ticks, [f"{t:.3g}x" for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(
            xlabel="compression ratio (parameters / non-zeros), log scale",
            ylabel="test accuracy",
            title=title,
        )
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
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
        "plot": plot_summary(summary, out),
    }
    print(format_summary(summary, config))
    return ComparisonResult(rows=rows, summary=summary, paths=paths, config=config)
