"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

Every file nnprune writes (models, sparse models, CSV/JSON results, figures,
pruning logs) goes through :func:`atomic_write`, so an interrupted write never
leaves a half-written file under the final name, and a failed one leaves no
temporary file behind. :func:`write_csv`, :func:`write_json` and :func:`save_figure`
are the three result writers built on it (re-exported by :mod:`nnprune.report`).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _default_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give: 0o666 minus the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Any], None],
    mode: str = "w",
    *,
    make_parents: bool = True,
    fsync: bool = False,
) -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file that then replaces it.

    Parameters
    ----------
    path : str or path-like
        The final file.
    write : callable
        Called with the open temporary file.
    mode : {"w", "wb"}, default "w"
        Text (UTF-8, no newline translation) or binary.
    make_parents : bool, default True
        Create missing parent folders; ``False`` raises ``FileNotFoundError`` instead.
    fsync : bool, default False
        Flush the data to disk before the rename (for files that must survive a crash).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    folder = path.parent
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise FileNotFoundError(
            f"cannot save to {str(path)!r}: folder {str(folder)!r} does not exist"
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _default_mode())  # mkstemp creates 0o600; a saved file should not be
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
