r"""Reporting helpers shared by the chapter scripts, the CLI and the benchmarks.

* :func:`format_table`: a plain-text table from a list of dicts;
* :func:`write_csv` / :func:`write_json`: atomic writes (temporary file, then rename);
* :func:`save_figure`: a Matplotlib figure to PNG with the Agg backend, atomically;
* :func:`chapter_parser`: the ``--seed --quick --out --backend`` options every
  chapter script takes;
* :func:`median_time`: the median wall time of a function over repeats.

The file writers live in :mod:`nnprune._atomic` and :func:`median_time` in
:mod:`nnprune.metrics.latency`, so that the library below this module (``pipeline``,
``metrics``) never imports it; this module re-exports them for the chapters, the
harness and the CLI.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._atomic import save_figure, write_csv, write_json
from .metrics.latency import median_time


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


def use_agg() -> None:
    """Select Matplotlib's non-interactive Agg backend (figures are saved, never shown)."""
    import matplotlib

    matplotlib.use("Agg")


__all__ = [
    "chapter_parser",
    "format_table",
    "median_time",
    "save_figure",
    "use_agg",
    "write_csv",
    "write_json",
]
