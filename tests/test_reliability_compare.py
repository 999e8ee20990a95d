"""nnprune compare keeps what it has done (issue: reliability).

A failing run and a killed worker fail only themselves; rows are written as they
arrive; --resume runs only what is missing; the output folder is checked before any
work and never silently replaced; final files never mix old and new; workers die with
the parent; settings are checked when the config is read.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import _faulty_methods
import pytest

from nnprune import cli
from nnprune.experiments import compare, load_config, make_config
from nnprune.experiments.compare import RUNS_FILE, read_runs
from nnprune.experiments.config import config_hash

compare_module = importlib.import_module("nnprune.experiments.compare")  # not the function
ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def faulty():
    _faulty_methods.register_all()
    yield _faulty_methods
    _faulty_methods.unregister_all()


def _tiny(methods, **extra):
    compare_table = {
        "methods": methods,
        "sparsities": [0.5],
        "seeds": [0],
        "hidden": [8],
        "train_epochs": 1,
        "retrain_epochs": 0,
        "latency_repeats": 1,
        "latency_batch": 8,
        **extra,
    }
    return {"compare": compare_table}


# ---------------------------------------------------- failures and resume
@pytest.mark.slow  # spawns two workers (about 15 s on 2 busy cores)
def test_failed_run_and_killed_worker_fail_alone_then_resume_runs_only_them(faulty, tmp_path):
    out = tmp_path / "cmp"
    cfg = make_config(_tiny(["random", "fails", "dies", "global_magnitude"]))
    result = compare(cfg, out=out, workers=2, progress=False)
    ok = {r["method"] for r in result.rows}
    assert ok == {"dense", "random", "global_magnitude"}  # every other run finished
    errors = {f["method"]: f for f in result.failures}
    assert set(errors) == {"fails", "dies"}
    assert "RuntimeError: injected failure" in errors["fails"]["error"]
    assert "worker process" in errors["dies"]["error"] and "SIGKILL" in errors["dies"]["error"]
    assert (errors["dies"]["target_sparsity"], errors["dies"]["seed"]) == (0.5, 0)
    # every finished or failed run is on disk, one JSON line each, with the config's hash
    records = read_runs(out / RUNS_FILE)
    assert len(records) == 5
    assert {r["config_hash"] for r in records} == {config_hash(cfg)}
    assert sorted(r["status"] for r in records) == ["failed"] * 2 + ["ok"] * 3
    data = json.loads((out / "results.json").read_text())
    assert {f["method"] for f in data["failures"]} == {"fails", "dies"}
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 3

    # fix the two methods; resume runs exactly the two failed runs
    _faulty_methods.register_all(fixed=True)
    again = compare(cfg, out=out, workers=1, progress=False, resume=True)
    assert not again.failures
    assert {r["method"] for r in again.rows} == {
        "dense",
        "random",
        "fails",
        "dies",
        "global_magnitude",
    }
    new_lines = read_runs(out / RUNS_FILE)[5:]
    assert sorted(r["method"] for r in new_lines) == ["dies", "fails"]
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 5


def test_inline_failure_is_recorded_and_the_cli_exits_1(faulty, tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text(
        textwrap.dedent(
            """\
            [compare]
            methods = ["fails", "random"]
            sparsities = [0.5]
            seeds = [0]
            hidden = [8]
            train_epochs = 1
            retrain_epochs = 0
            latency_repeats = 1
            latency_batch = 8
            """
        )
    )
    out = tmp_path / "o"
    code = cli.main(
        ["compare", "--config", str(toml), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "fails sparsity=0.5 seed=0: RuntimeError: injected failure" in captured.out
    assert "1 run(s) failed" in captured.err and "--resume" in captured.err
    assert [r["method"] for r in read_runs(out / RUNS_FILE)] == ["dense", "fails", "random"]


def test_resume_refuses_another_config_and_tolerates_a_cut_last_line(faulty, tmp_path):
    out = tmp_path / "o"
    cfg = make_config(_tiny(["random"]))
    compare(cfg, out=out, workers=1, progress=False)
    log = out / RUNS_FILE
    with open(log, "a", encoding="utf-8") as fh:
        fh.write('{"config_hash": "x", "method": "ran')  # a kill in the middle of a write
    assert len(read_runs(log)) == 2
    other = make_config(_tiny(["random"], lr=0.01))
    with pytest.raises(ValueError, match=r"runs of another config .*--overwrite"):
        compare(other, out=out, workers=1, progress=False, resume=True)
    # same config: nothing left to run, the cut line is dropped, the results are rebuilt
    again = compare(cfg, out=out, workers=1, progress=False, resume=True)
    assert [r["method"] for r in again.rows] == ["dense", "random"]
    assert log.read_text().endswith("\n") and len(read_runs(log)) == 2


# ------------------------------------------------------------ output folder
def _boom(*args, **kwargs):
    raise AssertionError("work started before the output folder was checked")


def test_out_folder_is_checked_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(compare_module, "run_grid", _boom)
    cfg = make_config(_tiny(["random"]))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        compare(cfg, out=a_file, progress=False)
    with pytest.raises(NotADirectoryError, match="lies under the file"):
        compare(cfg, out=a_file / "sub", progress=False)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / "tmpXYZ"))

    monkeypatch.setattr(compare_module.tempfile, "TemporaryFile", denied)
    with pytest.raises(PermissionError, match="cannot write to the output folder .*ro'"):
        compare(cfg, out=tmp_path / "ro", progress=False)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="exclude each other"):
        compare(cfg, out=tmp_path / "x", resume=True, overwrite=True, progress=False)


def test_existing_results_are_refused_unless_overwrite(tmp_path, monkeypatch):
    out = tmp_path / "o"
    out.mkdir()
    (out / "results.csv").write_text("old\n")
    (out / "accuracy_vs_sparsity.png").write_bytes(b"old")
    cfg = make_config(_tiny(["random"]))
    with pytest.raises(ValueError, match=r"already holds results .*--resume.*--overwrite"):
        compare(cfg, out=out, workers=1, progress=False)
    assert (out / "results.csv").read_text() == "old\n"
    result = compare(cfg, out=out, workers=1, progress=False, overwrite=True)
    assert (out / "results.csv").read_text() != "old\n"
    assert (out / "accuracy_vs_sparsity.png").read_bytes()[:4] == b"\x89PNG"
    assert len(result.rows) == 2


def test_a_failure_while_writing_keeps_the_old_files_together(tmp_path, monkeypatch):
    out = tmp_path / "o"
    cfg = make_config(_tiny(["random"]))
    compare(cfg, out=out, workers=1, progress=False)
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.name != RUNS_FILE}
    assert set(old) == {"results.csv", "summary.csv", "results.json", "accuracy_vs_sparsity.png"}

    def broken_plot(summary, folder, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compare_module, "plot_summary", broken_plot)
    with pytest.raises(OSError, match="No space left"):
        compare(cfg, out=out, workers=1, progress=False, resume=True)
    # no new CSV beside the old plot: all four files are the old ones, no staging left
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != RUNS_FILE} == old


# ------------------------------------------------------- workers and parent
_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import _faulty_methods
from nnprune import cli
_faulty_methods.register_all()
sys.exit(cli.main(["compare", "--config", {toml!r}, "--out", {out!r}, "--workers", "2",
                   "--no-progress"]))
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has stopped running


@pytest.mark.slow  # a child process with two workers (about 7 s each)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and signals")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_parent(tmp_path, sig):
    pids = tmp_path / "pids"
    pids.mkdir()
    toml = tmp_path / "c.toml"
    toml.write_text(
        "[compare]\nmethods = ['sleeps']\nsparsities = [0.5, 0.9]\nseeds = [0]\nhidden = [8]\n"
        "train_epochs = 1\nretrain_epochs = 0\nlatency_repeats = 1\n"
        f"[methods.sleeps]\npid_dir = {str(pids)!r}\n"
    )
    script = _SCRIPT.format(tests=str(TESTS), toml=str(toml), out=str(tmp_path / "o"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while len(list(pids.iterdir())) < 2:  # both workers are busy in `sleeps`
            assert parent.poll() is None, "the comparison ended early"
            assert time.monotonic() < deadline, "workers did not start in 120 s"
            time.sleep(0.2)
        workers = [int(p.stem) for p in pids.iterdir()]
        os.kill(parent.pid, sig)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), "workers outlived their parent"
        if sig == signal.SIGTERM:
            assert parent.returncode == 128 + signal.SIGTERM
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in pids.iterdir():
            try:
                os.kill(int(p.stem), signal.SIGKILL)
            except ProcessLookupError:
                pass


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"methods": {"snip": {"batch_size": 0}}},
            r"methods\.snip\.batch_size must be an integer in \[1, ",
        ),
        ({"methods": {"admm": {"rho": -1.0}}}, r"methods\.admm\.rho must be .*> 0, got -1\.0"),
        ({"methods": {"admm": {"scope": "all"}}}, r"methods\.admm\.scope must be one of"),
        ({"methods": {"slimming": {"fraction": 1.5}}}, r"methods\.slimming\.fraction"),
        (
            {"methods": {"reweighted_l1": {"eps": 0.0}}},
            r"methods\.reweighted_l1\.eps must be .*> 0",
        ),
        ({"compare": {"channels": [0, 0]}}, r"compare\.channels\[0\] must be in \[1, "),
        ({"compare": {"train_epochs": 10**9}}, r"compare\.train_epochs must be at most 10000"),
        ({"compare": {"latency_repeats": 10**9}}, r"compare\.latency_repeats must be at most"),
        ({"compare": {"hidden": [10**9]}}, r"compare\.hidden\[0\] must be in \[1, 100000\]"),
    ],
)
def test_settings_are_checked_when_the_config_is_read(data, message):
    with pytest.raises(ValueError, match=message):
        make_config(data)


def test_repeated_hidden_widths_are_not_duplicates():
    assert make_config({"compare": {"hidden": [100, 100]}}).hidden == (100, 100)


def test_config_path_that_is_a_folder_says_so(tmp_path):
    with pytest.raises(ValueError, match="is a folder; give the TOML file"):
        load_config(tmp_path)


def test_config_hash_ignores_workers_only():
    base = make_config(_tiny(["random"]))
    assert config_hash(base) == config_hash(make_config(_tiny(["random"], workers=3)))
    assert config_hash(base) != config_hash(make_config(_tiny(["random"], seeds=[1])))


def test_staging_folder_is_inside_out(tmp_path):
    # the staging folder must be on the same file system as out (os.replace)
    out = tmp_path / "o"
    cfg = make_config(_tiny(["random"]))
    seen = []
    real = tempfile.mkdtemp

    def spy(*args, **kwargs):
        folder = real(*args, **kwargs)
        seen.append(Path(folder).parent)
        return folder

    compare_module.tempfile.mkdtemp = spy
    try:
        compare(cfg, out=out, workers=1, progress=False)
    finally:
        compare_module.tempfile.mkdtemp = real
    assert seen == [out]
