r"""The comparison harness: every method, the same dense models, data, seeds and budget.

:func:`compare` runs the grid (method × target sparsity × seed, see
:mod:`nnprune.experiments.runner`; latency is measured as each run
finishes), summarises each (method, sparsity) by the mean and standard
deviation over seeds, prints a table, and writes to the output folder:

* ``runs.jsonl``: one JSON line per finished or failed run, appended (and
  flushed to disk) the moment it arrives, with the config's hash; a crash,
  a kill or a failed run never loses the runs already done, and
  ``resume=True`` (``nnprune compare --resume``) skips them;
* ``results.csv``: one row per run (and one ``dense`` row per seed);
* ``summary.csv``: one row per (method, sparsity);
* ``results.json``: the config, the library version, the rows and the summary;
* ``accuracy_vs_sparsity.png``: test accuracy (%) against the achieved sparsity
  (%), one line per method (display names) with error bars of one standard
  deviation after retraining, and right after pruning on the full range; the
  dense model and the equal-budget control ``dense_retrain`` as reference lines.

The folder is checked before any work (not a file, writable), and a folder
that already holds results is refused unless ``resume`` or ``overwrite`` is
given. The four result files are written to a staging folder first and
moved into place only when all of them are complete, so a failure part-way
never leaves new tables beside an old plot. Failed runs are listed in
``results.json`` (``"failures"``) and printed with their (method, sparsity,
seed); the command exits with status 1 if there are any.

This is the protocol of ShrinkBench (Blalock, Gonzalez Ortiz, Frankle, Guttag,
*What is the State of Neural Network Pruning?*, MLSys 2020): report accuracy
at several operating points against random and magnitude baselines, report
compression *and* theoretical speed-up, the gap between target and achieved
sparsity, and mean ± std over seeds.

Book: §3.3 (comparing methods; corrected, see docs/errata.md#s3-3: the book's
rankings are replaced by measurements).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import json_default
from ..report import format_table, save_figure, use_agg, write_csv, write_json
from .config import CompareConfig, config_hash, load_config, make_config, quick_config
from .runner import plan_runs, run_grid, run_key

RUNS_FILE = "runs.jsonl"
RESULT_FILES = ("results.csv", "summary.csv", "results.json", "accuracy_vs_sparsity.png")

# Averaged over seeds in the summary (ints and floats of a row).
MEAN_FIELDS = (
    "achieved_sparsity",
    "accuracy_before_retrain",
    "params_original",
    "params",
    "nonzeros",
    "compression_ratio",
    "flops",
    "flops_nz",
    "theoretical_speedup",
    "bytes_dense",
    "bytes_sparse",
    "bytes_nonzeros_32bit",
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
        ``runs``, ``csv``, ``summary_csv``, ``json``, ``plot`` (the last three
        only when some run succeeded).
    config : CompareConfig
    failures : list of dict
        One per failed run: ``method``, ``target_sparsity``, ``seed``, ``error``.
    """

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    paths: dict[str, Path]
    config: CompareConfig
    failures: list[dict[str, Any]] = field(default_factory=list)


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
    """The summary as two plain-text tables that fit in 100 columns.

    The first gives test accuracy (mean ± std over seeds, in percent) after
    retraining and right after pruning, and the difference from the dense model
    in points; the second gives size and speed. ``results.csv`` has every column.
    """
    dense = next((s for s in summary if s["method"] == "dense"), None)
    dense_acc = None if dense is None else 100 * dense["accuracy_mean"]
    accuracy, size = [], []
    for s in summary:
        acc = 100 * s["accuracy_mean"]
        spread = f" ± {100 * s['accuracy_std']:.2f}" if s["seeds"] > 1 else ""  # none for 1 seed
        accuracy.append(
            {
                "method": s["method"],
                "target": s["target_sparsity"],
                "w sparsity": s["achieved_sparsity"],
                "params": s["params"],
                "test % retrained": f"{acc:.2f}{spread}",
                "test % pruned": 100 * s["accuracy_before_retrain"],
                "vs dense (pt)": None if dense_acc is None else acc - dense_acc,
            }
        )
        size.append(
            {
                "method": s["method"],
                "target": s["target_sparsity"],
                "compression": s["compression_ratio"],
                "speed-up": s["theoretical_speedup"],
                "MFLOPs nz": s["flops_nz"] / 1e6,
                "KiB dense": s["bytes_dense"] / 1024,
                "KiB CSR": s["bytes_sparse"] / 1024,
                "ms dense": s.get("latency_ms"),
                "ms CSR": s.get("latency_csr_ms"),
            }
        )
    setting = (
        f"{data_label(config)} {config.model}, {len(config.seeds)} seed(s), "
        f"{config.train_epochs} dense + {config.retrain_epochs} retrain epochs"
    )
    first = format_table(
        accuracy,
        formats={
            "target": "{:.2f}",
            "w sparsity": "{:.4f}",
            "params": "{:,.0f}",
            "test % pruned": "{:.2f}",
            "vs dense (pt)": "{:+.2f}",
        },
        title=f"Test-split accuracy, {spread_note(config)} ({setting})\n"
        "'pruned': right after pruning, before retraining; 'vs dense': points, after retraining\n"
        "w sparsity: weight sparsity, the share of the original prunable weights zero or "
        "removed;\nparams: every parameter left (masked zeros included)",
    )
    second = format_table(
        size,
        formats={
            "target": "{:.2f}",
            "compression": "{:.1f}x",
            "speed-up": "{:.1f}x",
            "MFLOPs nz": "{:.4f}",
            "KiB dense": "{:.1f}",
            "KiB CSR": "{:.1f}",
            "ms dense": "{:.3f}",
            "ms CSR": "{:.3f}",
        },
        title="Size and speed (speed-up: theoretical, from FLOPs)\n"
        "compression: original parameters / non-zero parameters; KiB: bytes stored dense and "
        "CSR\n"
        f"latency: median of {config.latency_repeats} calls, batch {config.latency_batch}, "
        "masked dense vs CSR",
    )
    return f"{first}\n\n{second}"


def data_label(config: CompareConfig) -> str:
    """The data set as titles show it: a built-in name, or a file's or folder's own name
    (never the absolute path, which says where it was, not what it is)."""
    return Path(config.dataset).name if os.sep in config.dataset else config.dataset


def spread_note(config: CompareConfig) -> str:
    """``"mean ± std over N seeds"``, or ``"one seed"`` (no spread to show)."""
    n = len(config.seeds)
    return "one seed" if n == 1 else f"mean ± std over {n} seeds"


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
    "channels": "channel pruning (filters)",
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
        title=f"after retraining ({spread_note(config)})",
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
            f"{data_label(config)} · {config.model} · seeds {seeds} · "
            f"{config.train_epochs} dense + {config.retrain_epochs} retraining epochs: "
            "test accuracy against sparsity"
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


def _without_state(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "state_dict"}


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


# ------------------------------------------------------------- output folder
def check_out_folder(out: str | os.PathLike, *, resume: bool, overwrite: bool) -> Path:
    """Check ``out`` before any work; create it; clear old results if ``overwrite``.

    Raises
    ------
    ValueError
        Both ``resume`` and ``overwrite``, or ``out`` already holds results and
        neither is given.
    NotADirectoryError, PermissionError, OSError
        ``out`` is a file, lies under a file, or cannot be written.
    """
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: choose one")
    if not os.fspath(out):
        raise ValueError("the output folder must not be empty")
    out = Path(out)
    for folder in [out, *out.parents]:
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == out else f"lies under the file {str(folder)!r}"
            raise NotADirectoryError(f"output folder {str(out)!r} {where}, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):  # the one honest test of writability
            pass
    except OSError as exc:
        raise type(exc)(
            exc.errno, f"cannot write to the output folder {str(out)!r}: {exc.strerror or exc}"
        ) from None
    existing = [name for name in (RUNS_FILE, *RESULT_FILES) if (out / name).exists()]
    if existing and overwrite:
        for name in existing:
            (out / name).unlink()
    elif existing and not resume:
        raise ValueError(
            f"output folder {str(out)!r} already holds results ({', '.join(existing)}); "
            "pass --resume to continue that comparison, --overwrite to replace it, or choose "
            "another --out"
        )
    return out


def read_runs(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a ``runs.jsonl`` file; a last line cut short by a kill is ignored.

    Raises
    ------
    ValueError
        If a line other than the last is not a JSON object.
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if i == len(lines) - 1:
                break  # interrupted in the middle of its last write
            raise ValueError(f"{str(path)!r} line {i + 1} is corrupt ({exc})") from None
        records.append(record)
    return records


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class _RunLog:
    """Appends one JSON line per record to ``runs.jsonl``, flushed to disk each time."""

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest
        if path.exists():
            raw = path.read_bytes()
            if raw and not raw.endswith(b"\n"):  # a kill cut the last line: drop it
                raw = raw[: raw.rfind(b"\n") + 1]
            last = raw[raw.rfind(b"\n", 0, len(raw) - 1) + 1 :]
            if last and not _is_record(last):  # a garbage last line: drop it too, before
                raw = raw[: len(raw) - len(last)]  # appending puts it mid-file for good
            if len(raw) != path.stat().st_size:
                os.truncate(path, len(raw))

    def __call__(self, record: dict[str, Any]) -> None:
        status = "failed" if "error" in record else "ok"
        line = json.dumps(
            {"config_hash": self.digest, "status": status, **_without_state(record)},
            default=json_default,
        )
        data = (line + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, data)  # one write per line: a line is there whole or cut at the end
            os.fsync(fd)
        finally:
            os.close(fd)


def _previous_runs(out: Path, digest: str) -> list[dict[str, Any]]:
    records = read_runs(out / RUNS_FILE)
    other = sorted({r.get("config_hash") for r in records} - {digest}, key=str)
    if other:
        raise ValueError(
            f"{str(out / RUNS_FILE)!r} holds runs of another config (hash {other[0]}, this one "
            f"is {digest}); resume with the same config, or use --overwrite or another --out"
        )
    return records


def _write_final(out: Path, files: dict[str, Any]) -> dict[str, Path]:
    """Write every final file into a staging folder, then move them all into ``out``."""
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        staged = {key: make(stage) for key, make in files.items()}
        for name in set(RESULT_FILES) - {path.name for path in staged.values()}:
            (out / name).unlink(missing_ok=True)  # an old file the new set does not replace
        paths = {}
        for key, path in staged.items():
            os.replace(path, out / path.name)
            paths[key] = out / path.name
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return paths


def compare(
    config: CompareConfig | str | os.PathLike | dict | None = None,
    *,
    out: str | os.PathLike = "runs/compare",
    workers: int | None = None,
    scheduler: str | None = None,
    quick: bool = False,
    progress: bool | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> ComparisonResult:
    """Compare pruning methods at several sparsities and seeds; print and save the results.

    Parameters
    ----------
    config : CompareConfig, dict, path to a TOML file, or None
        The grid and settings (see :mod:`nnprune.experiments.config`); ``None``
        takes the defaults: every registered method, sparsities
        0.5/0.75/0.9/0.95/0.98, seeds 0/1/2, the digits MLP 64-300-100-10.
    out : path, default "runs/compare"
        Folder for ``runs.jsonl``, ``results.csv``, ``summary.csv``,
        ``results.json`` and ``accuracy_vs_sparsity.png`` (created; checked
        before any work).
    workers : int, optional
        Local processes (default: the config's, else one per CPU core); 1 runs inline.
    scheduler : str, optional
        Dask scheduler address (``"tcp://host:8786"``) to run the grid on a
        cluster; results are unpickled from it, so use only a cluster you trust.
    quick : bool, default False
        A tiny grid (2 sparsities, 1 seed, few epochs; same methods) for smoke tests.
    progress : bool or None
        Progress bar over runs; ``None``: only on a terminal.
    resume : bool, default False
        Continue the comparison recorded in ``out/runs.jsonl`` (same config,
        checked by its hash): runs already finished are skipped, failed ones
        run again.
    overwrite : bool, default False
        Delete the results already in ``out`` first. Without ``resume`` or
        ``overwrite``, a folder holding results is refused.

    One comparison writes a folder at a time: ``out/.nnprune.lock`` holds the
    owner's process id (:class:`~nnprune.experiments.outlock.OutputLock`), a
    second comparison on the same ``out`` is refused with a one-line
    ``ValueError`` naming it, and the lock of a process that died is taken over.

    Returns
    -------
    ComparisonResult
        ``rows``, ``summary``, the written ``paths`` and the ``failures``.

    Book: §3.3
    """
    config = _as_config(config)
    if quick:
        config = quick_config(config)
    lock = _lock_out_folder(out, resume=resume, overwrite=overwrite)
    try:
        return _compare_locked(config, Path(out), resume, workers, scheduler, progress, overwrite)
    finally:
        lock.release()


def _lock_out_folder(out: str | os.PathLike, *, resume: bool, overwrite: bool) -> Any:
    """Create ``out``, take its lock (one writer per folder), then check what it holds."""
    from .outlock import OutputLock

    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: choose one")
    check_out_folder(out, resume=True, overwrite=False)  # the folder exists and is writable
    lock = OutputLock(out).acquire()
    try:
        check_out_folder(out, resume=resume, overwrite=overwrite)
    except BaseException:
        lock.release()
        raise
    return lock


def _compare_locked(
    config: CompareConfig,
    out: Path,
    resume: bool,
    workers: int | None,
    scheduler: str | None,
    progress: bool | None,
    overwrite: bool,
) -> ComparisonResult:
    digest = config_hash(config)
    previous = _previous_runs(out, digest) if resume else []
    log = _RunLog(out / RUNS_FILE, digest)
    done = {run_key(r) for r in previous if r.get("status") == "ok"}
    new = run_grid(
        config, workers=workers, scheduler=scheduler, progress=progress, done=done, on_result=log
    )
    latest: dict[tuple[str, float, int], dict[str, Any]] = {}
    for record in previous:
        record = {k: v for k, v in record.items() if k not in ("config_hash", "status")}
        latest[run_key(record)] = record
    for record in new:
        latest[run_key(record)] = _without_state(record)
    order = [("dense", 0.0, seed) for seed in config.seeds] + [
        (s.method, s.sparsity, s.seed) for s in plan_runs(config)
    ]
    records = [latest[k] for k in order if k in latest]
    rows = [r for r in records if "error" not in r]
    failures = [r for r in records if "error" in r]
    summary = summarize(rows)
    from .._version import __version__

    files: dict[str, Any] = {}
    if rows:
        files["csv"] = lambda d: write_csv(d / "results.csv", [_csv_row(r) for r in rows])
        files["summary_csv"] = lambda d: write_csv(d / "summary.csv", summary)
    files["json"] = lambda d: write_json(
        d / "results.json",
        _json_safe(
            {
                "nnprune_version": __version__,
                "config": config.to_dict(),
                "config_hash": digest,
                "rows": rows,
                "summary": summary,
                "failures": failures,
            }
        ),
    )
    if summary:
        files["plot"] = lambda d: plot_summary(summary, d, config)
    paths = {"runs": out / RUNS_FILE, **_write_final(out, files)}
    if summary:
        print(format_summary(summary, config))
    if failures:
        print(format_failures(failures))
    return ComparisonResult(
        rows=rows, summary=summary, paths=paths, config=config, failures=failures
    )


def format_failures(failures: Sequence[dict[str, Any]]) -> str:
    """The failed runs, one line each: method, target sparsity, seed and the error."""
    lines = [f"{len(failures)} run(s) failed:"]
    for f in failures:
        lines.append(
            f"  {f['method']} sparsity={f['target_sparsity']:g} seed={f['seed']}: {f['error']}"
        )
    return "\n".join(lines)
