"""No file of the repository points to a file outside it (the book's errata are in docs/)."""

from __future__ import annotations

from pathlib import Path

from _repo import repo_files

ROOT = Path(__file__).resolve().parent.parent
# Built from pieces so that this file does not contain what it looks for.
FORBIDDEN = ("BOOK" + ".md", "STYLE" + ".md", "../" + "shared")
SUFFIXES = {".py", ".md", ".toml"}


def text_files() -> list[Path]:
    """The repository's .py, .md and .toml files."""
    return repo_files(SUFFIXES)


def outside_refs(path: Path, root: Path = ROOT) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [
        f"{path.relative_to(root)}:{i}: {line.strip()}"
        for i, line in enumerate(lines, 1)
        if any(word in line for word in FORBIDDEN)
    ]


def test_the_scan_sees_the_repository_and_finds_a_reference(tmp_path):
    names = {p.relative_to(ROOT).as_posix() for p in text_files()}
    assert {"README.md", "pyproject.toml", "nnprune/__init__.py", "docs/errata.md"} <= names
    bad = tmp_path / "x.md"
    bad.write_text("fine\nsee " + FORBIDDEN[0] + " errata\n", encoding="utf-8")
    assert outside_refs(bad, tmp_path) == ["x.md:2: see " + FORBIDDEN[0] + " errata"]


def test_no_reference_to_files_outside_the_repository():
    found = [hit for p in text_files() for hit in outside_refs(p)]
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


def test_errata_anchors_that_the_code_names_exist():
    """Every ``docs/errata.md#<anchor>`` written anywhere is an anchor of docs/errata.md."""
    import re

    errata = (ROOT / "docs" / "errata.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', errata))
    assert len(anchors) >= 10
    missing = []
    for p in text_files():
        text = p.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r"errata\.md#([a-z0-9-]+)((?:, #[a-z0-9-]+)*)", text):
            names = [m.group(1), *re.findall(r"#([a-z0-9-]+)", m.group(2))]
            missing += [f"{p.relative_to(ROOT)}: #{a}" for a in names if a not in anchors]
        if p.name == "errata.md":
            missing += [
                f"errata.md: #{a}"
                for a in re.findall(r"\]\(#([a-z0-9-]+)\)", text)
                if a not in anchors
            ]
    assert not missing, "links to anchors that docs/errata.md lacks:\n" + "\n".join(missing)
