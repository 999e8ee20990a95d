r"""What every chapter lesson shares: its options, its scale, and its section headings.

A lesson (``chapters/chNN_*.py``) is one file in Jupyter's percent format that
runs as a script *and* opens as a notebook (``jupytext``). Its first code cell is

>>> from nnprune.lesson import start
>>> lesson = start("Chapter 3: pruning methods", "figures/ch03", argv=["--quick"])
>>> lesson.quick, lesson.seed
(True, 0)
>>> lesson.pick(full=20, quick=3)   # one scale setting, no twin constants
3

and each book section opens with ``lesson.section("3.1")``, which prints the
book's number, its Chinese title and the English one, e.g.
``§3.1 传统剪枝方法 — traditional pruning``. Every lesson ends with the same two
parts: ``lesson.part("What we measured")`` before the sentences computed from the
run, and ``lesson.try_this("ch3", [...])`` (the chapter's graded exercises, then
open questions). ``lesson.say(text)`` prints a sentence wrapped to 100 columns.

Figures and code are shown where the reader is: ``lesson.figure(fig_or_path)``
saves a figure under ``--out`` and, inside Jupyter, displays it inline (a script
prints its path); ``lesson.show(function)`` prints the source of a library
function, syntax-highlighted in a notebook, so that the algorithm a section
teaches is on the page. A quick run prints ``quick run: these numbers are not
findings`` before "What we measured".

Options (a script's command line; inside a notebook, environment variables):

======================  =====================  =======================================
option                  notebook               meaning
======================  =====================  =======================================
``--quick``             ``NNPRUNE_QUICK=1``    a run of seconds, used by the tests
``--seed N``            ``NNPRUNE_SEED=N``     every random choice (default 0)
``--out DIR``           ``NNPRUNE_OUT=DIR``    where figures and CSV files go
``--backend cupy``      ``NNPRUNE_BACKEND``    the array library (``numpy`` default)
======================  =====================  =======================================
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .book import heading
from .report import use_agg

T = TypeVar("T")

_RULE_WIDTH = 100


def columns(text: str) -> int:
    """Terminal columns of ``text``: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@dataclass(frozen=True)
class Try:
    """One "Try this" idea; a parameter change carries the edit that makes it.

    Attributes
    ----------
    text : str
        What to try, as the reader reads it.
    edit : (str, str), optional
        ``(old, new)``: the lesson line as written and as the idea changes it; the
        tests apply the edit to the lesson, run it in quick mode and check that the
        global ``changes`` then holds different numbers.
    changes : str, optional
        The lesson's global variable whose numbers the edit changes.
    """

    text: str
    edit: tuple[str, str] | None = None
    changes: str | None = None


@dataclass(frozen=True)
class Lesson:
    """The settings of one lesson run (see :func:`start`)."""

    seed: int
    quick: bool
    out: Path
    backend: str

    def pick(self, full: T, quick: T) -> T:
        """``quick`` in quick mode, else ``full``: the lesson's one scale setting."""
        return quick if self.quick else full

    def section(self, number: str, detail: str = "") -> str:
        """Print the heading of book section ``number`` and return it.

        The printed heading is the same as the lesson's markdown heading, so
        the output reads in the book's order: ``§4.2 基于稀疏度的优化算法 — ...``.
        """
        text = heading(number, detail)
        print(f"\n{text}\n{'=' * min(columns(text), _RULE_WIDTH)}", flush=True)
        return text

    def part(self, title: str) -> str:
        """Print the heading of a part that is not a book section, e.g. "What we measured".

        In a quick run, "What we measured" is preceded by :data:`QUICK_NOTE`.
        """
        if self.quick and title == "What we measured":
            print(f"\n{QUICK_NOTE}", flush=True)
        print(f"\n{title}\n{'-' * min(columns(title), _RULE_WIDTH)}", flush=True)
        return title

    def figure(self, fig: Any, name: str | None = None) -> Path:
        """Show a figure: inline in Jupyter, as a file (its path printed) in a script.

        Parameters
        ----------
        fig : matplotlib.figure.Figure or path
            A figure (saved as ``out/name`` and closed) or the path of a PNG a
            plotting function already saved.
        name : str, optional
            File name for a figure object, e.g. ``"ch04_lambda_path.png"``.

        Returns
        -------
        pathlib.Path
            Where the PNG is.
        """
        if isinstance(fig, str | os.PathLike):
            path = Path(fig)
        else:
            if not name:
                raise ValueError("name must be given with a figure object, e.g. 'ch01_x.png'")
            from ._atomic import save_figure

            path = save_figure(fig, self.out, name)
        if in_notebook():
            from IPython.display import Image, display

            display(Image(filename=str(path)))
        else:
            print(f"figure: {path}")
        return path

    def show(self, function: Any, docstring: bool = False) -> str:
        """Print the source of ``function`` (a library function or class), and return it.

        Syntax-highlighted in Jupyter (IPython's ``Code``, via Pygments), plain text
        in a script; the docstring is left out unless ``docstring=True``. Editing the
        function in ``nnprune/`` changes what is printed and what the lesson computes
        (an editable install, ``pip install -e .``).
        """
        source = textwrap.dedent(inspect.getsource(function))
        if not docstring:
            source = _without_docstrings(source)
        where = Path(inspect.getsourcefile(function) or "?")
        parts = where.parts
        rel = "/".join(parts[parts.index("nnprune"):]) if "nnprune" in parts else where.name
        line = inspect.getsourcelines(function)[1]
        print(f"source of {function.__qualname__}, {rel}:{line}")
        if in_notebook():
            try:
                from IPython.display import Code, display

                display(Code(source, language="python"))
                return source
            except ImportError:  # pragma: no cover - IPython without pygments
                pass
        print(source.rstrip())  # as in the file: lines within 100 columns
        return source

    def say(self, text: str) -> None:
        """Print one sentence, wrapped to 100 columns, continuation lines indented."""
        print(textwrap.fill(text, _RULE_WIDTH, subsequent_indent="  "))

    def try_this(self, chapter: str, ideas: Sequence[str | Try] = ()) -> None:
        """Print the "Try this" part: chapter's graded exercises, then ``ideas``.

        Parameters
        ----------
        chapter : str
            The exercises' chapter, e.g. ``"ch3"`` or ``"appc"`` (``nnprune exercises list``).
        ideas : sequence of str or Try
            Open questions; a :class:`Try` also says which edit of the lesson makes it.
        """
        from .exercises.registry import EXERCISES

        self.part("Try this")
        print(
            "Graded exercises: `nnprune exercises init work/`, "
            "then `nnprune check <id> --path work/`"
        )
        for ex in EXERCISES:
            if ex.chapter == chapter:
                print(f"  {ex.id:<24} §{ex.section}  {ex.title}")
        if ideas:
            print("More to try:")
            for idea in ideas:
                idea = idea.text if isinstance(idea, Try) else idea
                print(textwrap.fill(idea, _RULE_WIDTH, initial_indent="  - ",
                                    subsequent_indent="    "))  # fmt: skip


def _without_docstrings(source: str) -> str:
    """``source`` with the docstrings of its function and class definitions removed."""
    import ast

    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    drop: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):  # fmt: skip
            drop.update(range(body[0].lineno - 1, body[0].end_lineno))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


QUICK_NOTE = "quick run: these numbers are not findings (run without --quick for them)"


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (not merely with ipykernel imported)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def start(description: str, default_out: str, argv: list[str] | None = None) -> Lesson:
    """Parse a lesson's options, select Matplotlib's Agg backend and return the settings.

    Parameters
    ----------
    description : str
        The ``--help`` text (usually the lesson's docstring).
    default_out : str
        Default folder for figures and CSV files, e.g. ``"figures/ch03"``.
    argv : list of str, optional
        The command line; ``None`` reads ``sys.argv`` in a script and nothing
        in a notebook (where the kernel's own arguments are not the lesson's).

    Returns
    -------
    Lesson
        ``seed``, ``quick``, ``out`` (a :class:`~pathlib.Path`) and ``backend``.
        ``NNPRUNE_QUICK=1`` turns quick mode on in a script too.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seed", type=int, default=int(os.environ.get("NNPRUNE_SEED", 0)), help="random seed"
    )
    parser.add_argument("--quick", action="store_true", help="a run of seconds (for tests)")
    parser.add_argument(
        "--out", default=os.environ.get("NNPRUNE_OUT", default_out), help="figures folder"
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("NNPRUNE_BACKEND", "numpy"),
        choices=["numpy", "cupy"],
        help="array backend",
    )
    if argv is None and in_notebook():
        argv = []
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    use_agg()
    from .plots.fonts import setup

    setup()  # bilingual figure labels when a CJK font is installed
    return Lesson(
        seed=args.seed,
        quick=bool(args.quick or _env_flag("NNPRUNE_QUICK")),
        out=Path(args.out),
        backend=args.backend,
    )
