r"""Reporting helpers shared by the chapter scripts, the CLI and the benchmarks.

* :func:`format_table`: a plain-text table from a list of dicts;
* :func:`write_csv` / :func:`write_json`: atomic writes (temporary file, then rename);
* :func:`save_figure`: a Matplotlib figure to PNG with the Agg backend, atomically;
* :func:`chapter_parser`: the ``--seed --quick --out --backend`` options every
  chapter script takes;
* :func:`median_time`: the median wall time of a function over repeats.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return "-"
    if fmt is not None:
        return fmt.format(value)
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def format_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    formats: dict[str, str] | None = None,
    title: str | None = None,
) -> str:
    """Format rows (dicts) as an aligned plain-text table.

    Parameters
    ----------
    rows : sequence of dict
        One dict per row.
    columns : sequence of str, optional
        Keys to show, in order (default: the keys of the first row).
    formats : dict of str to str, optional
        Format strings per column, e.g. ``{"accuracy": "{:.2%}"}``.
    title : str, optional
        A line printed above the table.

    Returns
    -------
    str
    """
    formats = formats or {}
    if not rows:
        return (title + "\n" if title else "") + "(no rows)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(c), formats.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))
    out = [title] if title else []
    out += [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows (dicts with the same keys) to CSV atomically; return the path."""
    if not rows:
        raise ValueError("write_csv needs at least one row, got none")
    columns = list(rows[0].keys())

    def write(fh: Any) -> None:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)

    return atomic_write(Path(path), write)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write a JSON-serialisable object atomically; return the path."""
    text = json.dumps(obj, indent=2, default=_json_default)
    return atomic_write(Path(path), lambda fh: fh.write(text + "\n"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def save_figure(fig: Any, out_dir: str | os.PathLike, name: str, dpi: int = 120) -> Path:
    """Save a Matplotlib figure as ``out_dir/name`` (PNG) atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(out_dir) / name
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi), mode="wb")
    finally:
        plt.close(fig)
    return path


def chapter_parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """The options every chapter script takes: ``--seed``, ``--quick``, ``--out``, ``--backend``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="a fast run (under ~30 s)")
    parser.add_argument("--out", default=default_out, help=f"figures folder ({default_out})")
    parser.add_argument(
        "--backend", default="numpy", choices=["numpy", "cupy"], help="array backend"
    )
    return parser


def median_time(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def use_agg() -> None:
    """Select Matplotlib's non-interactive Agg backend (figures are saved, never shown)."""
    import matplotlib

    matplotlib.use("Agg")
