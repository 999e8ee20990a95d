"""One writer per output folder; --resume cuts a garbage last line of runs.jsonl."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnprune.cli import main
from nnprune.experiments import compare, make_config
from nnprune.experiments.compare import RUNS_FILE, read_runs
from nnprune.experiments.outlock import LOCK_FILE, FolderInUseError, OutputLock

ROOT = str(Path(__file__).resolve().parents[1])


def _tiny():
    return make_config(
        {
            "compare": {
                "methods": ["random"],
                "sparsities": [0.5],
                "seeds": [0],
                "hidden": [8],
                "train_epochs": 1,
                "retrain_epochs": 0,
                "latency_repeats": 1,
                "latency_batch": 8,
            }
        }
    )


def _holder(folder):
    """Another process holding the folder's lock until killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {ROOT!r})
        from nnprune.experiments.outlock import OutputLock
        OutputLock({str(folder)!r}).acquire()
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_naming_the_owner(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    proc = _holder(out)
    try:
        with pytest.raises(FolderInUseError, match=rf"in use by process {proc.pid}.*another --out"):
            compare(_tiny(), out=out, workers=1, progress=False)
        assert main(["compare", "--out", str(out), "--workers", "1", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"process {proc.pid}" in err
        assert not (out / RUNS_FILE).exists()  # nothing run, nothing written
    finally:
        proc.kill()
        proc.wait()
    # the owner died: its lock is taken over
    result = compare(_tiny(), out=out, workers=1, progress=False)
    assert len(result.rows) == 2


def test_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (tmp_path / LOCK_FILE).write_text(f"{proc.pid}\n")
    with OutputLock(tmp_path) as lock:
        assert (tmp_path / LOCK_FILE).read_text() == f"{__import__('os').getpid()}\n"
        with pytest.raises(FolderInUseError):
            OutputLock(tmp_path).acquire() if sys.platform == "win32" else _second(tmp_path)
    assert lock._fd is None


def _second(folder):
    """A second acquire from another process (flock is per open file, so use a process)."""
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r})\n"
        "from nnprune.experiments.outlock import OutputLock, FolderInUseError\n"
        f"try:\n    OutputLock({str(folder)!r}).acquire()\nexcept FolderInUseError as e:\n"
        "    print(e); raise SystemExit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode == 3:
        raise FolderInUseError(done.stdout.strip())


def test_resume_cuts_a_garbage_last_line_before_appending(tmp_path):
    out = tmp_path / "o"
    compare(_tiny(), out=out, workers=1, progress=False)
    log = out / RUNS_FILE
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("garbage that is a whole line\n")
    for _ in range(2):  # the second resume used to refuse: the garbage was mid-file
        again = compare(_tiny(), out=out, workers=1, progress=False, resume=True)
        assert [r["method"] for r in again.rows] == ["dense", "random"]
        assert "garbage" not in log.read_text() and len(read_runs(log)) == 2


def test_workers_make_no_semaphore_a_kill_could_leak():
    # tqdm's default lock is a multiprocessing semaphore; a SIGKILLed worker leaked it and
    # the resource tracker warned of "leaked semaphore objects" after the comparison.
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r})\n"
        "import multiprocessing.synchronize as s\n"
        "from nnprune.experiments.runner import _init_worker\n"
        "_init_worker()\n"
        "def boom(*a, **k):\n    raise SystemExit('a semaphore was made')\n"
        "s.SemLock.__init__ = boom\n"
        "from tqdm import tqdm\n"
        "list(tqdm(range(3), disable=True)); list(tqdm(range(3), file=open('/dev/null', 'w')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
