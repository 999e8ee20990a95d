"""Shared test fixtures."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator for each test."""
    return np.random.default_rng(1234)


ROOT = Path(__file__).resolve().parents[1]


def _load_script(folder: str, name: str) -> ModuleType:
    """Import ``<repo>/<folder>/<name>.py`` (a chapter script or benchmark) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_script() -> Callable[[str, str], ModuleType]:
    """``load_script("chapters", "ch01_neural_network_basics")`` imports a script by path."""
    return _load_script


_LESSON_RUNS: dict[tuple[str, ...], tuple[dict, str]] = {}
LESSON_FIGURES: dict[tuple[str, ...], list[tuple[str, list[str]]]] = {}


@contextlib.contextmanager
def _checking_figures(found: list[tuple[str, list[str]]]):
    """Record ``(file name, figure_problems(fig))`` for every figure nnprune saves meanwhile.

    Every plotting module imports ``save_figure`` by name, so each module already
    imported is patched, and ``nnprune._atomic`` itself for the ones imported later.
    """
    import sys

    from nnprune import _atomic
    from nnprune.plots import figure_problems

    original = _atomic.save_figure

    def save_and_check(fig, out_dir, name, *args, **kwargs):
        found.append((name, figure_problems(fig)))
        return original(fig, out_dir, name, *args, **kwargs)

    patched = [
        m
        for m in list(sys.modules.values())
        if getattr(m, "__name__", "").startswith("nnprune")
        and getattr(m, "save_figure", None) is original
    ]
    for module in patched:
        module.save_figure = save_and_check
    try:
        yield
    finally:
        for module in patched:
            module.save_figure = original
        for module in list(sys.modules.values()):  # imported during the run
            if getattr(module, "save_figure", None) is save_and_check:
                module.save_figure = original


def run_lesson_quick(name: str, out: Path, *args: str) -> tuple[dict, str]:
    """Run ``chapters/<name>.py --quick --out <out> [args]`` in this process.

    Returns the lesson's globals and its captured stdout. Each (name, args) runs
    once per session: the chapter tests and ``test_lessons.py`` share the run.
    ``LESSON_FIGURES[(name, *args)]`` lists the figures it saved, each with what
    ``nnprune.plots.figure_problems`` found wrong in it.
    """
    import io
    import runpy
    import sys

    key = (name, *args)
    if key not in _LESSON_RUNS:
        argv = [str(ROOT / "chapters" / f"{name}.py"), "--quick", "--out", str(out), *args]
        buffer = io.StringIO()
        old_argv = sys.argv
        sys.argv = argv
        figures: list[tuple[str, list[str]]] = []
        try:
            with contextlib.redirect_stdout(buffer), _checking_figures(figures):
                env = runpy.run_path(argv[0], run_name="__main__")
        finally:
            sys.argv = old_argv
        _LESSON_RUNS[key] = (env, buffer.getvalue())
        LESSON_FIGURES[key] = figures
    return _LESSON_RUNS[key]


@pytest.fixture(scope="session")
def lesson_out(tmp_path_factory) -> Path:
    """One folder for the figures of every quick lesson run of the session."""
    return tmp_path_factory.mktemp("lessons")


@pytest.fixture
def run_lesson(lesson_out) -> Callable[..., tuple[dict, str]]:
    """``run_lesson("ch03_pruning_methods")`` -> (globals, stdout) of its quick run (cached)."""
    return lambda name, *args: run_lesson_quick(name, lesson_out, *args)
