"""Shared test fixtures."""

from __future__ import annotations

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


def _run_lesson(name: str, *argv: str) -> dict:
    """Run ``chapters/<name>.py`` as a script (``__main__``) with ``argv``; return its globals.

    A lesson is top-level cells (Jupyter percent format), so the test reads
    what it measured from the variables the script left behind.
    """
    import runpy
    import sys

    saved = sys.argv
    sys.argv = [f"{name}.py", *argv]
    try:
        return runpy.run_path(str(ROOT / "chapters" / f"{name}.py"), run_name="__main__")
    finally:
        sys.argv = saved


@pytest.fixture
def run_lesson() -> Callable[..., dict]:
    """``run_lesson("ch08_trends", "--quick", "--out", path)``: a lesson's globals after a run."""
    return _run_lesson
