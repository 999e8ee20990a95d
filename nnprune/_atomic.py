"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

Every file nnprune writes (models, sparse models, CSV/JSON results, figures,
pruning logs) goes through :func:`atomic_write`, so an interrupted write never
leaves a half-written file under the final name, and a failed one leaves no
temporary file behind. :func:`write_csv`, :func:`write_json` and :func:`save_figure`
are the three result writers built on it (re-exported by :mod:`nnprune.report`).
"""

from __future__ import annotations

import contextlib
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


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (``os.kill(pid, 0)`` sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists but belongs to someone else (or we cannot tell): keep its file
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers of ``path`` left behind; return them.

    :func:`atomic_write` names its temporary file ``.<name>.<pid>.<random>.tmp``
    in the target's folder. A write killed with SIGKILL (or by a power cut)
    cannot remove it, so every later write to the same target removes those
    whose writer process no longer exists. Files of live writers, and files
    not named by this scheme, are never touched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}."
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text, _, rest = name[len(prefix) : -len(".tmp")].partition(".")
        if not pid_text.isdigit() or not rest or "." in rest:
            continue
        pid = int(pid_text)
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable_target(path: str | os.PathLike, *, make_parents: bool = True) -> Path:
    """Raise a clear error now if ``path`` cannot be written later; return it as a ``Path``.

    Checks what :func:`atomic_write` needs: a non-empty path that is not a
    folder, whose folder exists (or can be created, with ``make_parents``) and
    accepts new files. Use it before long work whose result goes to ``path``.

    Raises
    ------
    ValueError
        For an empty path.
    IsADirectoryError, NotADirectoryError, FileNotFoundError, PermissionError
        Naming ``path`` (never a temporary file).
    """
    if not os.fspath(path):
        raise ValueError("the path to save to must not be empty")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {str(path)!r}: it is a folder, not a file")
    folder = path.parent
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    f"cannot save to {str(path)!r}: {str(parent)!r} is a file, not a folder"
                )
            if parent != folder and not make_parents:
                break
            if not os.access(parent, os.W_OK | os.X_OK):
                raise PermissionError(
                    f"cannot save to {str(path)!r}: folder {str(parent)!r} is not writable"
                )
            break
    if not make_parents and not folder.is_dir():
        raise FileNotFoundError(
            f"cannot save to {str(path)!r}: folder {str(folder)!r} does not exist"
        )
    return path


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Any], None],
    mode: str = "w",
    *,
    make_parents: bool = True,
    fsync: bool = False,
) -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file that then replaces it.

    The temporary file is ``.<name>.<pid>.<random>.tmp`` in the same folder;
    it is removed if ``write`` fails, and a later write to the same target
    removes those left by writers that were killed
    (:func:`remove_stale_temporaries`).

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
        Flush the data to disk before the rename, and the folder after it (for
        files that must survive a crash).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an empty path.
    OSError
        ``IsADirectoryError``, ``PermissionError``, ... naming ``path``, not the
        temporary file.
    """
    path = check_writable_target(path, make_parents=make_parents)
    folder = path.parent
    if make_parents:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise type(exc)(f"cannot save to {str(path)!r}: {exc.strerror or exc}") from None
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:  # name the target, not the temporary file
        raise type(exc)(exc.errno, f"cannot save to {str(path)!r}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, _default_mode())  # mkstemp creates 0o600; a saved file should not be
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise type(exc)(
                exc.errno, f"cannot save to {str(path)!r}: {exc.strerror or exc}"
            ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_folder(folder)
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

    return atomic_write(Path(path), write, fsync=True)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write a JSON-serialisable object atomically; return the path."""
    text = json.dumps(obj, indent=2, default=json_default)
    return atomic_write(Path(path), lambda fh: fh.write(text + "\n"), fsync=True)


def json_default(obj: Any) -> Any:
    """``json.dumps(..., default=json_default)``: NumPy scalars and arrays as Python values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def save_figure(fig: Any, out_dir: str | os.PathLike, name: str, dpi: int = 120) -> Path:
    """Save a Matplotlib figure as ``out_dir/name`` (PNG) atomically and close it."""
    import matplotlib.pyplot as plt

    from .plots.fonts import fit_texts

    path = Path(out_dir) / name
    fit_texts(fig)  # Chinese labels made before the CJK font was set up: no empty boxes
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi), mode="wb")
    finally:
        plt.close(fig)
    return path
