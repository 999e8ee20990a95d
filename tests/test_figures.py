"""Every figure of the ch01-ch04 lessons and of ``nnprune compare`` can be read.

Each plotting function is called on small made-up inputs with ``save_figure``
replaced by a catcher, and the figure is checked through Matplotlib's API
(``nnprune.plots.figure_problems``): a title or suptitle, x and y labels, a
legend where more than one line is labelled.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.plots import basics, figure_problems, methods, optimisation
from nnprune.train import History


@pytest.fixture
def caught(monkeypatch):
    figures = []

    def catch(fig, out, name, dpi=120):
        figures.append(fig)
        return Path(out) / name

    for module in (basics, methods, optimisation):
        monkeypatch.setattr(module, "save_figure", catch)
    import nnprune.experiments  # noqa: F401  (the module is shadowed by the function)

    monkeypatch.setattr(sys.modules["nnprune.experiments.compare"], "save_figure", catch)
    yield figures
    for fig in figures:
        plt.close(fig)


def test_figure_problems_finds_what_is_missing():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], label="a")
    ax.plot([0, 1, 2], [2, 1, 0], label="b")
    problems = figure_problems(fig)
    assert any("no title" in p for p in problems)
    assert any("no x label" in p for p in problems) and any("no y label" in p for p in problems)
    assert any("no legend" in p for p in problems)
    ax.set(title="t", xlabel="x", ylabel="y")
    ax.legend()
    assert figure_problems(fig) == []
    plt.close(fig)


def history(n: int = 3) -> History:
    h = History()
    for i in range(n):
        h.loss.append(1.0 / (i + 1))
        h.val_loss.append(1.2 / (i + 1))
        h.val_accuracy.append(0.5 + 0.1 * i)
        h.epoch_time.append(0.01)
    return h


def test_lesson_figures_are_readable(caught, tmp_path):
    rng = np.random.default_rng(0)
    basics.learning_curves(
        [{"model": "a", "history": history()}, {"model": "b", "history": history()}], tmp_path
    )
    before = {"0": rng.normal(size=(6, 4)), "2": rng.normal(size=(3, 6))}
    after = {k: np.where(np.abs(v) > 0.5, v, 0) for k, v in before.items()}
    basics.weight_histograms(before, after, 0.5, tmp_path)
    first, second = nn.Linear(64, 8, seed=0), nn.Linear(8, 4, seed=0)
    for layer in (first, second):
        prune.l1_unstructured(layer, "weight", amount=0.5)
    basics.masks(first, second, tmp_path)
    basics.tiny_layer(0, tmp_path)
    rows = [
        {
            "method": m,
            "removed": r,
            "acc pruned": a,
            "acc retrained": a + 0.01,
            "x dense": 1.0,
            "x csr": 0.5,
            "theory x": 1 / (1 - r),
        }
        for m, r, a in (
            ("dense", 0.0, 0.9),
            ("control", 0.0, 0.91),
            ("global", 0.5, 0.85),
            ("global", 0.9, 0.6),
        )
    ]
    methods.accuracy_and_speed(rows, "MLP", tmp_path, "x.png", "control")
    path = [
        {"method": m, "lam": lam, "zero_fraction": z, "small_fraction": z + 0.01, "accuracy": 0.9}
        for m in ("subgradient", "ista", "reweighted")
        for lam, z in ((0.0, 0.0), (1e-3, 0.1), (1e-2, 0.3))
    ]
    optimisation.lambda_path(path, 0.92, 359, tmp_path)
    optimisation.admm_residual([{"sparsity": 0.9, "residuals": [1.0, 0.5, 0.1]}], tmp_path)
    assert len(caught) == 7
    for fig in caught:
        assert figure_problems(fig) == [], fig.get_suptitle() or fig.axes[0].get_title()


def test_compare_figure_is_readable_and_uses_display_names(caught, tmp_path):
    from nnprune.experiments.compare import plot_summary
    from nnprune.experiments.config import quick_config

    summary = [
        {
            "method": "dense",
            "target_sparsity": 0.0,
            "achieved_sparsity": 0.0,
            "accuracy_mean": 0.95,
            "accuracy_std": 0.01,
            "accuracy_before_retrain": 0.95,
        }
    ]
    for method, acc in (("global_magnitude", 0.94), ("snip", 0.1), ("dense_retrain", 0.96)):
        for s in (0.5, 0.9):
            summary.append(
                {
                    "method": method,
                    "target_sparsity": s,
                    "achieved_sparsity": 0.0 if method == "dense_retrain" else s,
                    "accuracy_mean": acc,
                    "accuracy_std": 0.0,
                    "accuracy_before_retrain": acc,
                }
            )
    plot_summary(summary, tmp_path, quick_config())
    (fig,) = caught
    assert figure_problems(fig) == []
    title = fig.get_suptitle()
    assert "digits" in title and "mlp" in title and "seeds 0" in title
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "global magnitude" in labels and "global_magnitude" not in labels
    assert any(label.startswith("dense + retraining") for label in labels)
    assert fig.axes[0].get_ylim()[0] > 50  # the collapse does not squeeze the others
    assert "below this range" in " ".join(t.get_text() for t in fig.axes[0].texts)


LESSONS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "chapters").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("stem", LESSONS)
def test_every_figure_a_quick_lesson_saves_is_readable(stem, run_lesson):
    from conftest import LESSON_FIGURES

    run_lesson(stem)  # cached: shared with the chapter tests
    figures = LESSON_FIGURES[(stem,)]
    assert figures, f"{stem} saved no figure"
    bad = {name: problems for name, problems in figures if problems}
    assert not bad, f"{stem}: {bad}"
