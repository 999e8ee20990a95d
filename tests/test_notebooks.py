"""Every chapter lesson converts to a notebook (jupytext), and ch01's executes in quick mode.

Needs the ``notebooks`` extra (``pip install nnprune[notebooks]``: jupytext,
nbclient, ipykernel); skipped cleanly without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "chapters").glob("*.py"))


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_chapter_converts_to_a_notebook(path, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    if "# %% [markdown]" not in path.read_text(encoding="utf-8"):
        pytest.xfail(f"{path.stem} is not a percent-format lesson yet")
    notebook = jupytext.read(path)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3, kinds
    jupytext.write(notebook, tmp_path / f"{path.stem}.ipynb")
    assert (tmp_path / f"{path.stem}.ipynb").stat().st_size > 0


@pytest.mark.slow
def test_ch01_notebook_executes_in_quick_mode(tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = jupytext.read(ROOT / "chapters" / "ch01_neural_network_basics.py")
    # the kernel inherits this environment: quick mode, figures in tmp, nnprune importable
    monkeypatch.setenv("NNPRUNE_QUICK", "1")
    monkeypatch.setenv("NNPRUNE_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    printed = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    assert "§1.1" in printed and "§1.3" in printed and "gradcheck OK" in printed
    assert (tmp_path / "ch01_learning_curves.png").stat().st_size > 1000
