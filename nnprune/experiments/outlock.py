r"""One writer per output folder: a lock file holding the owner's process id.

``nnprune compare`` writes ``runs.jsonl`` and the result files of one
comparison into ``--out``; two comparisons writing the same folder at once
would run the grid twice or replace each other's results. :class:`OutputLock`
takes ``OUT/.nnprune.lock`` before anything in the folder is read or deleted:

* on POSIX the file is locked with ``fcntl.flock``, which the kernel releases
  when the owner exits, however it exits, so the lock of a dead process is
  taken over by the next run without a word; the file is removed when
  the owner finishes;
* elsewhere the file is created exclusively, and a lock whose process id no
  longer runs is taken over.

The file holds the owner's process id, so the refusal names it.

Book: §3.3 (comparing methods reproducibly).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .._atomic import _pid_alive

LOCK_FILE = ".nnprune.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class FolderInUseError(ValueError):
    """Another running process holds the folder's lock."""


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None


class OutputLock:
    """Hold ``folder/.nnprune.lock`` while writing ``folder`` (a context manager).

    Parameters
    ----------
    folder : str or path-like
        An existing folder.

    Raises
    ------
    FolderInUseError
        (a ``ValueError``) when a running process holds the lock: one line
        naming the folder and its process id.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def _refuse(self, pid: int | None) -> FolderInUseError:
        who = f"process {pid}" if pid is not None else "another process"
        return FolderInUseError(
            f"output folder {str(self.folder)!r} is in use by {who} (an nnprune compare "
            f"writing there); wait for it to finish, or choose another --out"
        )

    def acquire(self) -> OutputLock:
        if fcntl is not None:
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    raise self._refuse(_read_pid(self.path)) from None
                try:
                    current = os.stat(self.path).st_ino
                except FileNotFoundError:
                    current = None
                if current == os.fstat(fd).st_ino:
                    break
                os.close(fd)  # the owner removed that file as we locked it: lock the new one
        else:
            while True:
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                    break
                except FileExistsError:
                    pid = _read_pid(self.path)
                    if pid is not None and _pid_alive(pid):
                        raise self._refuse(pid) from None
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()  # a dead process's lock: take it over
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still locked; a run that locks the old file sees it
        os.close(fd)  # gone (acquire compares inodes) and locks a fresh one

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


__all__ = ["LOCK_FILE", "FolderInUseError", "OutputLock"]
