"""atomic_write: permissions like open(), the final name untouched on failure, no temp files."""

import os
import stat

import pytest

from nnprune import io, nn
from nnprune._atomic import atomic_write


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_saved_files_get_the_permissions_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        plain = tmp_path / "plain.txt"
        with open(plain, "w") as fh:
            fh.write("x")
        written = atomic_write(tmp_path / "atomic.txt", lambda fh: fh.write("x"))
        model_file = io.save(nn.Sequential(nn.Linear(2, 2, seed=0)), tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert _mode(written) == _mode(plain) == 0o644  # not mkstemp's 0o600
    assert _mode(model_file) == 0o644


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def boom(fh):
        fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_missing_folder_is_created_or_refused(tmp_path):
    nested = tmp_path / "a" / "b" / "c.txt"
    atomic_write(nested, lambda fh: fh.write("x"))
    assert nested.read_text() == "x"
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        atomic_write(tmp_path / "nope" / "d.txt", lambda fh: fh.write("x"), make_parents=False)
