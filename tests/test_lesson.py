from __future__ import annotations

import pytest

from nnprune.lesson import start


def test_start_parses_options_and_picks_the_scale():
    lesson = start("demo", "figures/demo", argv=["--quick", "--seed", "3", "--out", "x"])
    assert (lesson.quick, lesson.seed, str(lesson.out), lesson.backend) == (True, 3, "x", "numpy")
    assert lesson.pick(full=20, quick=2) == 2
    full = start("demo", "figures/demo", argv=[])
    assert not full.quick and full.pick(full=20, quick=2) == 20
    assert str(full.out) == "figures/demo"


def test_environment_selects_quick_mode(monkeypatch):
    monkeypatch.setenv("NNPRUNE_QUICK", "1")
    monkeypatch.setenv("NNPRUNE_SEED", "7")
    lesson = start("demo", "figures/demo", argv=[])
    assert lesson.quick and lesson.seed == 7


def test_section_prints_the_book_heading(capsys):
    lesson = start("demo", "figures/demo", argv=[])
    text = lesson.section("3.1")
    assert text == "§3.1 传统剪枝方法 — traditional pruning"
    assert text in capsys.readouterr().out


def test_negative_seed_is_refused(capsys):
    with pytest.raises(SystemExit):
        start("demo", "figures/demo", argv=["--seed", "-1"])
    assert "--seed must be a non-negative integer, got -1" in capsys.readouterr().err
