"""Lessons are notebooks: figures inline, library code in view, quick runs labelled.

``lesson.figure`` saves a figure and, inside Jupyter, displays it inline;
``lesson.show`` prints a function's source (highlighted in Jupyter). One lesson
is executed as a notebook (quick mode) and must carry inline PNG outputs. The
notebook test needs the ``notebooks`` extra (jupytext, nbclient, ipykernel) and
is skipped cleanly without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnprune import lesson as lesson_module
from nnprune.lesson import QUICK_NOTE, in_notebook, start

ROOT = Path(__file__).resolve().parents[1]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ax.set(title="t", xlabel="x", ylabel="y")
    return fig


def test_figure_in_a_script_saves_and_prints_the_path(tmp_path, capsys):
    lesson = start("t", str(tmp_path), argv=[])
    path = lesson.figure(_figure(), "demo.png")
    assert path == tmp_path / "demo.png" and path.stat().st_size > 1000
    assert f"figure: {path}" in capsys.readouterr().out
    assert lesson.figure(str(path)) == path  # a path a plotting function returned
    with pytest.raises(ValueError, match="name must be given with a figure object"):
        lesson.figure(_figure())


def test_figure_in_a_notebook_is_displayed_inline(tmp_path, monkeypatch, capsys):
    display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(lesson_module, "in_notebook", lambda: True)
    monkeypatch.setattr(display, "display", shown.append)
    lesson = start("t", str(tmp_path), argv=[])
    lesson.figure(_figure(), "demo.png")
    assert len(shown) == 1 and isinstance(shown[0], display.Image)
    assert shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figure:" not in capsys.readouterr().out
    lesson.show(start)
    assert isinstance(shown[1], display.Code) and "def start(" in shown[1].data


def test_show_prints_the_source_of_a_library_function(capsys):
    from nnprune.algorithms import ista

    lesson = start("t", "figures/t", argv=[])
    name = next(n for n in dir(ista) if n.startswith("ista") and callable(getattr(ista, n)))
    source = lesson.show(getattr(ista, name))
    out = capsys.readouterr().out
    assert out.startswith(f"source of {name}, nnprune/algorithms/ista.py:")
    assert f"def {name}(" in source and f"\ndef {name}(" in out
    doc = getattr(ista, name).__doc__.strip().splitlines()[0]
    assert doc not in source and doc in lesson.show(getattr(ista, name), docstring=True)


def test_importing_ipykernel_does_not_make_a_notebook(monkeypatch):
    pytest.importorskip("ipykernel")
    import ipykernel  # noqa: F401  (jupytext or nbclient may import it in a script)

    assert not in_notebook()


def test_a_quick_run_says_its_numbers_are_not_findings(capsys):
    start("t", "figures/t", argv=["--quick"]).part("What we measured")
    out = capsys.readouterr().out
    assert "quick run: these numbers are not findings" in QUICK_NOTE
    assert out.index(QUICK_NOTE) < out.index("What we measured")
    start("t", "figures/t", argv=[]).part("What we measured")
    assert QUICK_NOTE not in capsys.readouterr().out


def execute_lesson(stem: str, tmp_path: Path, monkeypatch) -> object:
    """Execute ``chapters/<stem>.py`` as a notebook in quick mode; return the notebook."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = jupytext.read(ROOT / "chapters" / f"{stem}.py")
    monkeypatch.setenv("NNPRUNE_QUICK", "1")
    monkeypatch.setenv("NNPRUNE_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    return notebook


@pytest.mark.slow
def test_a_lesson_executed_as_a_notebook_shows_its_figures_inline(tmp_path, monkeypatch):
    notebook = execute_lesson("ch02_sparsity", tmp_path, monkeypatch)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, f"{len(images)} inline images"  # ch02 draws three figures
    printed = "".join(o.get("text", "") for o in outputs)
    assert "quick run: these numbers are not findings" in printed
    assert "figure:" not in printed  # inline, not a path to open elsewhere
