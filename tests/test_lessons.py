"""Every chapter lesson follows the book: its sections in order, in the notebook and the output.

For each ``chapters/*.py``: the markdown heading cells name exactly the book's
sections of that chapter, in order, with the book's Chinese and English titles
(``nnprune.book``); a quick run prints the same headings in the same order; the
file stays a lesson (about 200 lines, no ``QUICK_`` twin constants) and every
printed line fits in 100 terminal columns (a CJK character takes two).
A chapter not yet in Jupyter's percent format is an expected failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nnprune.book import SECTIONS, heading
from nnprune.lesson import columns

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
LESSONS = sorted(p.stem for p in CHAPTERS.glob("*.py"))
MAX_LINES = 250  # "about 250" (issue 18)
MAX_COLUMNS = 100
_HEADING = re.compile(r"^#+ (§\S+)")


def book_sections(stem: str) -> list[str]:
    """The book's section numbers of a lesson: ``ch03_*`` -> 3.1, 3.2, 3.3; ``appc_*`` -> C."""
    chapter = stem[2:4].lstrip("0") if stem.startswith("ch") else stem[3:4].upper()
    subs = [s.number for s in SECTIONS if s.number.startswith(chapter + ".")]
    return subs or [chapter]


def markdown_headings(text: str) -> list[str]:
    """The ``§`` headings of the markdown cells of a percent-format file, in order."""
    found = []
    for cell in re.split(r"^# %%", text, flags=re.M)[1:]:
        first, _, body = cell.partition("\n")
        if "[markdown]" not in first:
            continue
        for line in body.splitlines():
            match = _HEADING.match(line.removeprefix("# "))
            if line.startswith("# ") and match:
                found.append(line.removeprefix("# ").lstrip("#").strip())
    return found


def number(title: str) -> str:
    return title.split()[0].removeprefix("§")


def lesson_text(stem: str) -> str:
    text = (CHAPTERS / f"{stem}.py").read_text(encoding="utf-8")
    if "# %% [markdown]" not in text:
        pytest.xfail(f"{stem} is not a percent-format lesson yet")
    return text


def test_book_sections_of_a_lesson():
    assert book_sections("ch04_sparsity_optimisation") == ["4.1", "4.2", "4.3"]
    assert book_sections("appc_cifar_l1_project") == ["C"]
    assert markdown_headings("# %% [markdown]\n# ## §4.2 x\n# %%\n# ## §9 code\n") == ["§4.2 x"]
    assert columns("§4.2 基于") == 9


def chapter_of(stem: str) -> str:
    """``ch04_x`` and ``ch04b_y`` -> ``ch04``; ``appc_z`` -> ``appc``."""
    return stem.split("_")[0].rstrip("bcdefgh") if stem.startswith("ch") else stem.split("_")[0]


CHAPTER_FILES = {
    chapter: [s for s in LESSONS if chapter_of(s) == chapter]
    for chapter in sorted({chapter_of(s) for s in LESSONS})
}


def test_chapter_of_a_lesson_file():
    assert chapter_of("ch04b_gradient_sensitivity") == "ch04"
    assert chapter_of("ch04_sparsity_optimisation") == "ch04"
    assert chapter_of("appc_cifar_l1_project") == "appc"


@pytest.mark.parametrize("chapter", sorted(CHAPTER_FILES))
def test_markdown_headings_are_the_books_sections_in_order(chapter):
    """A chapter's lesson files (``ch04_*`` then ``ch04b_*``), read in order, hold the book's
    sections of that chapter in order; each file holds at least one section."""
    found = []
    for stem in CHAPTER_FILES[chapter]:
        titles = markdown_headings(lesson_text(stem))
        assert titles, f"{stem}: no book section heading"
        for title in titles:  # number, Chinese title and English title, as the book names them
            assert title.startswith(heading(number(title))), title
        found += [number(t) for t in titles]
    assert found == book_sections(CHAPTER_FILES[chapter][0])


@pytest.mark.parametrize("stem", LESSONS)
def test_a_lesson_stays_short_and_has_one_scale_setting(stem):
    text = lesson_text(stem)
    assert len(text.splitlines()) <= MAX_LINES, f"{stem}: {len(text.splitlines())} lines"
    assert "QUICK_" not in text, f"{stem}: use lesson.pick(full=..., quick=...)"


@pytest.mark.slow
@pytest.mark.parametrize("stem", LESSONS)
def test_quick_run_prints_the_same_headings_within_100_columns(stem, run_lesson):
    titles = markdown_headings(lesson_text(stem))
    _, out = run_lesson(stem)
    printed = [line for line in out.splitlines() if line.startswith("§")]
    assert [number(t) for t in printed] == [number(t) for t in titles]
    for line in printed:
        assert line.startswith(heading(number(line))), line
    lines = out.splitlines()  # every lesson ends alike: what we measured, then try this
    assert lines.index("What we measured") < lines.index("Try this")
    assert lines.index("What we measured") > max(lines.index(p) for p in printed)
    wide = [line for line in out.splitlines() if columns(line) > MAX_COLUMNS]
    assert not wide, f"{stem}: {len(wide)} lines over {MAX_COLUMNS} columns, e.g. {wide[0]!r}"
