"""docs/recipes.md: every code block runs, in order, in one namespace (and stays 5-15 lines)."""

from __future__ import annotations

import re

from tests._repo import ROOT

RECIPES = ROOT / "docs" / "recipes.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", RECIPES.read_text(encoding="utf-8"), flags=re.S)


def test_each_recipe_is_short():
    blocks = _blocks()
    assert len(blocks) == 6  # the setup and five recipes
    for code in blocks[1:]:
        assert 5 <= len(code.strip().splitlines()) <= 15, code


def test_the_recipes_run_in_order(capsys):
    namespace: dict = {"__name__": "recipes"}
    for code in _blocks():
        exec(compile(code, str(RECIPES), "exec"), namespace)
    out = capsys.readouterr().out
    assert "layer 4: 100 of 1152 weights kept" in out
    assert "FLOPs non-zero" in out and "thread" in out
    assert namespace["slim"][0].out_channels == 4
