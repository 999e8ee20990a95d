from __future__ import annotations

import pytest

from nnprune.book import SECTIONS, heading, section


def test_heading_has_number_chinese_and_english_titles():
    assert heading("4.2") == (
        "§4.2 基于稀疏度的优化算法 — sparsity-driven optimisation algorithms (ADMM, IRLS, Lasso)"
    )
    assert heading("§8.2", "dynamic pruning").endswith("future directions: dynamic pruning")


def test_sections_are_unique_and_in_book_order():
    numbers = [s.number for s in SECTIONS]
    assert len(numbers) == len(set(numbers))
    chapters = [n.split(".")[0] for n in numbers]
    order = [c for i, c in enumerate(chapters) if i == 0 or c != chapters[i - 1]]
    assert order == ["1", "2", "3", "4", "5", "6", "7", "8", "A", "B", "C"]
    assert all(s.zh and s.en for s in SECTIONS)


def test_unknown_section_is_a_clear_error():
    with pytest.raises(ValueError, match=r"number must be one of .* got '9.9'"):
        section("9.9")
