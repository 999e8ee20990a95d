r"""The lessons' figures, one module per chapter, and a check that a figure can be read.

* :mod:`.basics`: chapters 1 and 2 (learning curves, weight histograms, masks);
* :mod:`.methods`: chapter 3 (accuracy and speed-up against parameters removed);
* :mod:`.optimisation`: chapter 4 (the lambda path, ADMM's residual, the §4.3 sweeps);
* :func:`figure_problems`: what a reader would miss in a figure (titles, axis
  labels, legends), used by the tests on every figure the lessons draw.

These modules sit above what they plot (with :mod:`nnprune.report`); the library
never imports them.
"""

from __future__ import annotations

from typing import Any


def figure_problems(fig: Any) -> list[str]:
    """What a reader would miss in ``fig``: one line per problem, empty when readable.

    Every axes with data needs a title (or the figure a suptitle), an x and a y
    label (an image may instead name its axes by tick labels or hide them), and a
    legend when it draws more than one labelled line or point set.
    Colorbars are checked for a label.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    list of str
    """
    problems = []
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    for i, ax in enumerate(fig.axes):
        where = f"axes {i} ({ax.get_title() or 'untitled'})"
        if getattr(ax, "_colorbar", None) is not None:
            if not (ax.get_ylabel() or ax.get_xlabel()):
                problems.append(f"{where}: colorbar without a label")
            continue
        if not ax.has_data():
            continue
        if not (ax.get_title() or suptitle):
            problems.append(f"{where}: no title and no suptitle")
        for axis in ("x", "y"):
            label = getattr(ax, f"get_{axis}label")()
            named = any(t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")())
            hidden = not len(getattr(ax, f"get_{axis}ticks")())
            if not (label or (ax.images and (named or hidden))):
                problems.append(f"{where}: no {axis} label")
        labelled = [a for a in (*ax.lines, *ax.collections) if _shown_label(a)]
        if len(labelled) > 1 and ax.get_legend() is None and not fig.legends:
            problems.append(f"{where}: {len(labelled)} labelled lines but no legend")
        curves = [ln for ln in ax.lines if len(ln.get_xdata()) > 2]
        if len(curves) > 1 and not labelled:
            problems.append(f"{where}: {len(curves)} curves and no legend labels")
    return problems


def _shown_label(artist: Any) -> bool:
    label = artist.get_label() or ""
    return bool(label) and not label.startswith("_")
