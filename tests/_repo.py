"""The repository's own text files, for the tests that scan them (never a virtual environment)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"node_modules", "build", "dist", "__pycache__", "venv"}


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") or part in SKIP_DIRS for part in rel.parts[:-1])


def repo_files(suffixes: set[str]) -> list[Path]:
    """Files of the repository with one of ``suffixes``: git's list when available.

    Folders whose name starts with a dot (``.git``, ``.venv``) and build folders are
    skipped, also when git is not there to say what is ignored.
    """
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        files = [ROOT / f for f in out if f]
    except (OSError, subprocess.CalledProcessError):
        files = list(ROOT.rglob("*"))
    return sorted(
        p
        for p in files
        if p.suffix in suffixes and p.is_file() and not _skipped(p.relative_to(ROOT))
    )
