"""`nnprune book`: every mapped function imports, every lesson section exists, blocks run."""

from __future__ import annotations

import json
import re

import pytest
from _repo import ROOT

from nnprune.book import SECTIONS
from nnprune.bookmap import ITEMS, METHODS, method_records, resolve, section_rows
from nnprune.cli import main
from nnprune.exercises.registry import EXERCISES
from nnprune.pseudocode import BLOCKS

ALL = METHODS + ITEMS


@pytest.mark.parametrize("path", sorted({m.function for m in ALL}))
def test_every_function_path_imports(path):
    assert callable(resolve(path))


@pytest.mark.parametrize("m", ALL, ids=lambda m: m.method)
def test_every_lesson_file_exists_and_has_its_section_heading(m):
    file, _, number = m.lesson.partition(" §")
    text = (ROOT / file).read_text(encoding="utf-8")
    assert f'lesson.section("{number}"' in text, f"{file} has no lesson.section({number!r})"


def test_exercises_and_errata_anchors_exist():
    ids = {e.id for e in EXERCISES}
    errata = (ROOT / "docs" / "errata.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', errata))
    for m in ALL:
        assert m.exercise is None or m.exercise in ids, m
        assert m.erratum is None or m.erratum in anchors, m
    for block in BLOCKS:
        assert block.erratum in anchors, block


def test_methods_cover_the_books_27_and_every_section_is_listed():
    assert len(METHODS) >= 27
    assert len({m.method for m in METHODS}) == len(METHODS)
    listed = {r["section"] for r in section_rows()}
    assert listed == {s.number for s in SECTIONS}


def test_cli_methods_json(capsys):
    assert main(["book", "methods", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records == method_records()
    assert set(records[0]) == {"method", "section", "function", "lesson", "exercise", "erratum"}


def test_cli_sections_fit_in_100_columns(capsys):
    assert main(["book", "sections"]) == 0
    out = capsys.readouterr().out
    assert "§4.2" in out and "nnprune/pseudocode/s4_2_irls.py" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_cli_pseudocode_run_json_every_block_ran(capsys):
    assert main(["book", "pseudocode", "--run", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) >= 10
    assert {"5.3", "B.1", "B.2", "4.2", "4.3", "C"} <= {r["section"] for r in records}
    for r in records:
        assert r["ran"] is True and r["what_happened"], r
        for key in ("transcribed", "corrected"):
            file, function = r[key].split(":")
            assert (ROOT / file).is_file()
            module = file.removesuffix(".py").replace("/", ".")
            assert callable(resolve(f"{module}.{function}"))
    by = {r["section"]: r["what_happened"] for r in records}
    assert "NameError: name 'loss' is not defined" in by["B.1"]
    assert "784" in by["C"]




@pytest.mark.parametrize(
    "m", ALL, ids=lambda m: m.method
)  # every record, every lesson file
def test_the_lesson_names_the_function_it_is_mapped_to(m):
    file, _, number = m.lesson.partition(" §")
    text = (ROOT / file).read_text(encoding="utf-8")
    name = m.function.rsplit(".", 1)[1]
    assert re.search(rf"\b{re.escape(name)}\b", text), (
        f"{file} (§{number}) never names {name} ({m.method})"
    )


def test_a_section_in_a_second_lesson_file_maps_there():
    from nnprune.bookmap import lesson_file

    assert lesson_file("4.2") == "chapters/ch04_sparsity_optimisation.py"
    assert lesson_file("4.3") == "chapters/ch04b_gradient_sensitivity.py"
    text = (ROOT / lesson_file("4.3")).read_text(encoding="utf-8")
    assert 'lesson.section("4.3")' in text


def test_a_split_chapter_maps_each_section_to_its_file():
    from nnprune.bookmap import lesson_file

    assert lesson_file("3.3") == "chapters/ch03b_comparison.py"
    assert lesson_file("3.2") == "chapters/ch03_pruning_methods.py"
    assert lesson_file("8.1") == "chapters/ch08_trends.py"
    assert lesson_file("8.2") == lesson_file("8.3") == "chapters/ch08b_future_directions.py"
    rows = {r["section"]: r["lesson"] for r in section_rows() if r["function"] == ""}
    assert rows["8.2"] == "chapters/ch08b_future_directions.py §8.2"
    assert lesson_file("6.2") == "chapters/ch06_applications.py"
    assert lesson_file("6.3") == "chapters/ch06b_speech.py"
    by = {m.method: m.lesson for m in METHODS}
    assert by["ADMM for speech recognition"] == "chapters/ch06b_speech.py §6.3"


def test_chapter5_and_appendix_b_blocks_are_shown_in_their_lesson():
    from nnprune.bookmap import lesson_file

    text = (ROOT / lesson_file("5.3")).read_text(encoding="utf-8")
    for block in BLOCKS:
        if block.section in ("5.3", "B.1", "B.2"):
            for function in (block.book, block.corrected):
                assert f"{block.module}.{function}" in text, (block.section, function)
    rows = {r["item"]: r["lesson"] for r in section_rows() if r["section"] in ("5.3", "B")}
    assert all(lesson == f"{lesson_file('5.3')} §5.3" for lesson in rows.values()), rows
