"""Figure labels are bilingual with a CJK font and English without one: never empty boxes.

Matplotlib warns "Glyph ... missing from font(s)" when it draws a character as an empty
box; rendering must not warn, with or without an installed CJK font.
"""

from __future__ import annotations

import warnings

import pytest

from nnprune.plots import fonts


def render(title: str, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fonts.setup()
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    ax.set(title=title, xlabel=fonts.label("权重", "weights"), ylabel="λ (%)")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        fig.savefig(path)
    plt.close(fig)


def test_without_a_cjk_font_labels_are_english(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    title = fonts.label("测试准确率 (%)", "test accuracy (%)")
    assert title == "test accuracy (%)"
    render(title, tmp_path / "en.png")
    assert (tmp_path / "en.png").stat().st_size > 1000


def test_with_a_cjk_font_labels_are_bilingual_and_drawn(tmp_path):
    fonts.cjk_font.cache_clear()
    if fonts.cjk_font() is None:
        pytest.skip("no CJK font installed (e.g. apt install fonts-wqy-microhei)")
    title = fonts.label("测试准确率 (%)", "test accuracy (%)")
    assert title == "测试准确率 (%) / test accuracy (%)"
    render(title, tmp_path / "zh.png")  # no glyph missing: the CJK font is the fallback
    assert (tmp_path / "zh.png").stat().st_size > 1000


def figure_texts(fig) -> str:
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        texts += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
    return " ".join(texts)


@pytest.mark.parametrize("font", [None, "installed"])
def test_a_lesson_figure_is_english_without_the_font_and_bilingual_with_it(
    font, monkeypatch, tmp_path
):
    import re

    from nnprune.plots import basics

    fonts.cjk_font.cache_clear()
    if font is None:
        monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    elif fonts.cjk_font() is None:
        pytest.skip("no CJK font installed (e.g. apt install fonts-wqy-microhei)")
    caught = []
    monkeypatch.setattr(basics, "save_figure", lambda fig, out, name: caught.append(fig))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        basics.tiny_layer(0, tmp_path)
        (fig,) = caught
        fig.savefig(tmp_path / "tiny.png")  # drawing it: no glyph missing either way
    text = figure_texts(fig)
    chinese = re.search(r"[\u4e00-\u9fff]", text)
    assert "10 inputs" in text and "line width = |weight|" in text
    assert bool(chinese) == (font is not None), text
