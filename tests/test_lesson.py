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


def test_section_rule_is_as_wide_as_the_heading_on_a_terminal(capsys):
    from nnprune.lesson import columns

    lesson = start("t", "figures/t", argv=[])
    text = lesson.section("1.1")
    _, title, rule = capsys.readouterr().out.split("\n")[:3]
    assert title == text and set(rule) == {"="}
    assert len(rule) == columns(text) == len(text) + sum(c > "\u2e80" for c in text)


def test_parts_and_try_this_list_the_chapters_exercises(capsys):
    from nnprune.exercises.registry import EXERCISES

    lesson = start("t", "figures/t", argv=[])
    lesson.part("What we measured")
    lesson.try_this("ch2", ["a question " * 12])
    out = capsys.readouterr().out
    assert "\nWhat we measured\n----------------\n" in out
    assert out.index("What we measured") < out.index("Try this\n--------")
    ids = [e.id for e in EXERCISES if e.chapter == "ch2"]
    assert ids and all(f"  {i} " in out for i in ids)
    assert not any(e.id in out for e in EXERCISES if e.chapter != "ch2")
    idea = [line for line in out.splitlines() if "a question" in line]
    assert idea[0].startswith("  - ") and len(idea) > 1 and idea[1].startswith("    ")
    assert all(len(line) <= 100 for line in out.splitlines())
