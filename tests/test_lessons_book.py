"""``nnprune lessons build OUT``: the executed lessons as a static HTML book, readable offline.

The build needs the ``notebooks`` extra (jupytext, nbclient, ipykernel, nbconvert)
and is skipped cleanly without it; its errors are checked without it.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nnprune.cli import main
from nnprune.lesson_book import book_order, build_book


class Page(HTMLParser):
    """Links, images and script sources of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])


def test_book_order_puts_chapters_first_and_the_appendix_last():
    stems = ["appc_x", "ch10_z", "ch02_y", "ch04b_w", "ch04_v", "ch01_u"]
    got = [p.stem for p in book_order([Path(f"{s}.py") for s in stems])]
    assert got == ["ch01_u", "ch02_y", "ch04_v", "ch04b_w", "ch10_z", "appc_x"]


def test_build_refuses_a_missing_folder_and_unknown_lessons(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="chapters must be the lessons folder"):
        build_book(tmp_path / "book", chapters=tmp_path / "nowhere")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "ch01_a.py").write_text("# %%\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"only must name lessons of .*, got \['zz'\]"):
        build_book(tmp_path / "book", only=["zz"], chapters=tmp_path / "chapters")
    assert main(["lessons", "build", str(tmp_path / "book"), "--only", "zz"]) == 2
    assert "nnprune: error: only must name lessons" in capsys.readouterr().err


@pytest.mark.slow
def test_lessons_build_writes_an_offline_html_book(tmp_path, capsys):
    for module in ("jupytext", "nbclient", "ipykernel", "nbconvert"):
        pytest.importorskip(module)
    out = tmp_path / "book"
    assert main(["lessons", "build", str(out), "--quick", "--only", "ch01", "ch02"]) == 0
    assert f"lessons book: {out / 'index.html'}" in capsys.readouterr().out
    index = Page((out / "index.html").read_text(encoding="utf-8"))
    assert index.links == ["ch01_neural_network_basics.html", "ch02_sparsity.html"]
    for href in index.links:
        text = (out / href).read_text(encoding="utf-8")
        page = Page(text)
        assert "index.html" in page.links
        assert "§" + href[2:4].lstrip("0") + ".1" in text  # the lesson's sections, executed
        inline = [s for s in page.images if s.startswith("data:image/png;base64,")]
        assert inline, f"{href}: no inline figure"
        png = base64.b64decode(inline[0].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
        assert not [s for s in page.scripts if s.startswith("http")], page.scripts
        assert "cdnjs" not in text and "quick run: these numbers are not findings" in text
