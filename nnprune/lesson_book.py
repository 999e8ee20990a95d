r"""The lessons as a static HTML book: executed notebooks, figures inline, readable offline.

``nnprune lessons build OUT`` (or :func:`build_book`) runs every lesson of
``chapters/`` as a Jupyter notebook (``jupytext`` reads the percent-format file,
``nbclient`` executes it, ``lesson.figure`` puts each figure inline as a PNG),
then writes one HTML page per lesson with ``nbconvert`` and an ``index.html``
in the book's order (chapters 1-8, then appendix C). Figures are embedded in
the pages (``data:image/png``) and no script or style sheet is fetched from the
network, so the folder can be copied and read anywhere.

Needs the ``notebooks`` extra (``pip install -e ".[notebooks]"``: jupytext,
nbclient, ipykernel, nbconvert); imported lazily, with a message naming it.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import _atomic

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link[^>]*\bhref=[\"']https?://[^>]*>", re.I)
_REMOTE_IMPORT = re.compile(r"<script[^>]*>(?:(?!</script>).)*?https?://cdn(?:(?!</script>).)*</script>",
                            re.I | re.S)  # fmt: skip


def _write(path: Path, text: str) -> None:
    _atomic.atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), mode="wb")


def book_order(paths: Sequence[Path]) -> list[Path]:
    """Lessons in the book's order: ``ch01`` ... ``ch08`` (``ch04b`` after ``ch04``), ``appc``."""
    return sorted(paths, key=lambda p: (p.stem.startswith("app"), p.stem))


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"building the lessons book needs {module}: pip install -e \".[notebooks]\" ({err})"
        ) from None


@contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the kernels started inside, then restore them."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_lesson(path: Path, figures: Path, *, quick: bool, timeout: int = 1800):
    """Run one percent-format lesson as a notebook; return the executed ``nbformat`` notebook."""
    jupytext, nbclient = _need("jupytext"), _need("nbclient")
    _need("ipykernel")
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    root = str(Path(__file__).resolve().parent.parent)  # nnprune importable in the kernel
    env = {"NNPRUNE_OUT": str(figures), "NNPRUNE_QUICK": "1" if quick else "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with _environment(env):
        client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(figures)}})
        client.execute()
    return notebook


def to_html(notebook, title: str) -> str:
    """One self-contained HTML page (nbconvert's ``lab`` template, remote scripts removed)."""
    nbconvert = _need("nbconvert")
    exporter = nbconvert.HTMLExporter(template_name="lab")
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    for remote in (_REMOTE_SCRIPT, _REMOTE_LINK, _REMOTE_IMPORT):
        body = remote.sub("", body)
    return body


def _title(notebook, stem: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def _nav(pages: list[tuple[str, str]], i: int) -> str:
    links = ['<a href="index.html">目录 contents</a>']
    if i > 0:
        links.insert(0, f'<a href="{pages[i - 1][0]}">← {html.escape(pages[i - 1][1])}</a>')
    if i + 1 < len(pages):
        links.append(f'<a href="{pages[i + 1][0]}">{html.escape(pages[i + 1][1])} →</a>')
    return '<nav style="margin:1em">' + " | ".join(links) + "</nav>"


def build_book(
    out: str | os.PathLike,
    *,
    quick: bool = False,
    only: Sequence[str] | None = None,
    chapters: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = print,
) -> Path:
    """Execute the lessons and write ``out/index.html`` and one ``out/<lesson>.html`` each.

    Parameters
    ----------
    out : path
        Folder for the book (created); lesson figures go to ``out/figures/<lesson>``.
    quick : bool, default False
        Run every lesson in quick mode (seconds each; the numbers are not findings).
    only : sequence of str, optional
        Lesson file stems or their prefixes (``"ch01"``); default every lesson.
    chapters : path, optional
        Folder of the lessons; default the repository's ``chapters/``.
    log : callable, optional
        Receives one line per lesson written.

    Returns
    -------
    pathlib.Path
        The index page.

    Raises
    ------
    FileNotFoundError
        If the lessons folder is missing (a non-editable install has no ``chapters/``).
    ValueError
        If ``only`` names no lesson.
    ImportError
        If the ``notebooks`` extra is not installed.
    """
    folder = Path(chapters) if chapters is not None else CHAPTERS
    if not folder.is_dir():
        raise FileNotFoundError(
            f"chapters must be the lessons folder, got {str(folder)!r} (not a folder; "
            "clone the repository and install it with pip install -e \".[notebooks]\")"
        )
    paths = book_order(list(folder.glob("*.py")))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
        if not paths:
            raise ValueError(f"only must name lessons of {folder}, got {list(only)}")
    for module in ("jupytext", "nbclient", "ipykernel", "nbconvert"):
        _need(module)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    executed = []
    for path in paths:
        figures = (root / "figures" / path.stem).resolve()
        figures.mkdir(parents=True, exist_ok=True)
        notebook = execute_lesson(path, figures, quick=quick)
        executed.append((path.stem, _title(notebook, path.stem), notebook))
    pages = [(f"{stem}.html", title) for stem, title, _ in executed]
    for i, (_, title, notebook) in enumerate(executed):
        nav = _nav(pages, i)
        page = re.sub(r"(<body[^>]*>)", lambda m, nav=nav: m.group(1) + nav,
                      to_html(notebook, title), count=1)  # fmt: skip
        _write(root / pages[i][0], page)
        if log is not None:
            log(f"  wrote {root / pages[i][0]}")
    mode = "quick run: these numbers are not findings" if quick else "full run"
    items = "\n".join(f'<li><a href="{href}">{html.escape(t)}</a></li>' for href, t in pages)
    index = (
        '<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8">'
        "<title>nnprune lessons</title></head><body>\n"
        "<h1>基于稀疏性的神经网络剪枝优化 — nnprune lessons</h1>\n"
        f"<p>Executed lessons ({mode}); figures are inside the pages.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n"
    )
    _write(root / "index.html", index)
    return root / "index.html"


__all__ = ["book_order", "build_book", "execute_lesson", "to_html"]
