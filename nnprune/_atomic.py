"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

Every file nnprune writes (models, sparse models, CSV/JSON results, figures,
pruning logs) goes through :func:`atomic_write`, so an interrupted write never
leaves a half-written file under the final name, and a failed one leaves no
temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
