r"""Bilingual figure labels when a CJK font is installed, English otherwise: never empty boxes.

Matplotlib draws a character its font lacks as an empty box ("tofu"). :func:`cjk_font`
looks in Matplotlib's font manager for an installed font with Chinese glyphs (Noto Sans
CJK, Source Han Sans, WenQuanYi, SimHei, Microsoft YaHei, PingFang, ...);
:func:`label` returns ``"中文 / English"`` when one is there (and adds it to Matplotlib's
``font.family`` as the fallback for the glyphs the first font lacks), and the English
alone when none is. Install one with your system's package manager (e.g.
``apt install fonts-noto-cjk`` or ``fonts-wqy-microhei``); nothing in nnprune requires it.

Book: the lessons' figures (all chapters).
"""

from __future__ import annotations

import functools
from typing import Any

CANDIDATES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei",
              "PingFang SC", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback")  # fmt: skip


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or ``None``."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CANDIDATES:
        if name in installed:
            return name
    return next((n for n in sorted(installed) if "CJK" in n), None)


def setup() -> str | None:
    """Add the installed CJK font (if any) to Matplotlib's ``font.family`` as a fallback.

    Call it before creating a figure (:func:`nnprune.lesson.start` does): a figure's
    texts take their font when they are created. Returns the font's name, or ``None``.
    """
    font = cjk_font()
    if font is not None:
        import matplotlib

        families = list(matplotlib.rcParams["font.family"])
        if font not in families:  # Latin letters keep their font, Chinese falls back to this
            matplotlib.rcParams["font.family"] = [*families, font]
    return font


def fit_texts(fig: Any) -> None:
    """Give the CJK fallback to every text of ``fig`` that holds Chinese characters.

    A text keeps the font it was created with: axis labels are created with their axes,
    so a figure made before :func:`setup` ran would draw their Chinese as empty boxes.
    :func:`nnprune._atomic.save_figure` calls this before it writes a figure.
    """
    if setup() is None:
        return
    import matplotlib
    from matplotlib.text import Text

    families = list(matplotlib.rcParams["font.family"])
    for text in fig.findobj(Text):
        if any("\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in text.get_text()):
            text.set_fontfamily(families)


def label(chinese: str, english: str, sep: str = " / ") -> str:
    """``"chinese / english"`` if a CJK font is installed (see :func:`setup`), else English.

    ``sep="\\n"`` puts the two on lines of their own (long titles of narrow panels).

    >>> label("测试准确率 (%)", "test accuracy (%)") in ("测试准确率 (%) / test accuracy (%)",
    ...                                              "test accuracy (%)")
    True
    """
    return english if setup() is None else f"{chinese}{sep}{english}"


__all__ = ["CANDIDATES", "cjk_font", "fit_texts", "label", "setup"]
