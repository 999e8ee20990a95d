"""The package's import graph: no cycle between modules, no import from a higher layer.

The graph is built from the source with ``ast`` (no module is imported): every
``import nnprune.x``, ``from nnprune.x import y``, ``from .x import y`` and ``from . import x``
anywhere in a file, including imports inside functions (lazy imports), is an edge.
``from pkg import name`` counts as an import of ``pkg.name`` when that is a module,
else of ``pkg`` (its ``__init__``). Edges into a package's own ``__init__`` from one of
its modules, and from ``nnprune/__init__.py`` (which only re-exports), are not checked
against the layers; every other edge must point to the same or a lower layer.

The layer order is the one documented in CONTRIBUTING.md ("Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "nnprune"

# Lowest first. A module may import modules of its own layer (without a cycle) and of
# lower layers, never of a higher one. Each entry is a module or a package (all its
# modules); the longest matching entry decides.
LAYERS: list[list[str]] = [
    [
        "nnprune._version",
        "nnprune.backend",
        "nnprune.rng",
        "nnprune._atomic",
        "nnprune._npzcheck",
        "nnprune.checks",
        "nnprune.book",
        "nnprune.exercises.registry",  # data only: exercise ids, titles, book sections
        "nnprune.exercises.levels",  # data only: exercise difficulties
        "nnprune.plots.fonts",  # figure labels only (no nnprune import): plots of any layer use it
    ],
    ["nnprune.nn", "nnprune.optim"],
    ["nnprune.gradcheck"],
    ["nnprune.data"],
    ["nnprune.train"],
    ["nnprune.sparse"],
    ["nnprune.metrics"],
    ["nnprune.prune"],
    ["nnprune.regularizers"],
    ["nnprune.saliency"],
    ["nnprune.algorithms"],
    ["nnprune.pipeline"],
    ["nnprune.models", "nnprune.models_resnet", "nnprune.models_lm", "nnprune.models_text",
     "nnprune.models_speech"],
    # output for the harness, chapters and CLI; the library never imports it
    ["nnprune.report", "nnprune.lesson", "nnprune.lesson_book", "nnprune.plots", "nnprune.studies"],
    # architectures by name or import path; checkpoints that rebuild themselves; ONNX/torch
    ["nnprune.architectures", "nnprune.io", "nnprune.export"],
    ["nnprune.experiments"],
    # the lessons' studies, built on the experiments' runner; pseudocode: the book's blocks, run
    ["nnprune.casestudies", "nnprune.pseudocode"],
    ["nnprune.exercises"],  # classroom exercises: checks use the whole library
    ["nnprune.bookmap"],  # the book mapped to functions, lessons, exercises, errata
    ["nnprune.cli", "nnprune.commands"],
    ["nnprune"],  # the package __init__: re-exports only
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module named by ``from <level dots><module> import ...``."""
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The nnprune modules that ``name`` (source ``path``) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "nnprune" or alias.name.startswith("nnprune."):
                    out.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, path.name == "__init__.py", node)
            if target != "nnprune" and not target.startswith("nnprune."):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
    return {m for m in out if m in modules and m != name}


def build_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for i, layer in enumerate(LAYERS):
        for entry in layer:
            inside = module.startswith(entry + ".") and entry != "nnprune"  # root: itself only
            if (module == entry or inside) and len(entry) > best_len:
                best, best_len = i, len(entry)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or ``None``."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return [*stack[stack.index(v) :], v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state and (found := visit(u)):
            return found
    return None


GRAPH = build_graph()


def test_the_graph_sees_relative_absolute_and_lazy_imports():
    # Known edges of each kind, so that a parser bug cannot make the checks below vacuous.
    assert "nnprune.nn.module" in GRAPH["nnprune.nn.linear"]  # from .module import Module
    assert "nnprune.rng" in GRAPH["nnprune.nn.linear"]  # from ..rng import ...
    assert "nnprune.commands" in GRAPH["nnprune.cli"]  # from . import commands, in a function
    assert len(GRAPH) > 100 and sum(map(len, GRAPH.values())) > 300


def test_find_cycle_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_has_a_layer():
    for name in GRAPH:
        layer_of(name)
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("nnprune.not_a_module")


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def own_init(importer: str, imported: str) -> bool:
    """``imported`` is the ``__init__`` of a subpackage that contains ``importer``."""
    return imported != "nnprune" and importer.startswith(imported + ".")


@pytest.mark.parametrize("importer", sorted(GRAPH))
def test_no_upward_import(importer):
    if importer == "nnprune":
        return
    upward = [
        f"{importer} (layer {layer_of(importer)}) imports {m} (layer {layer_of(m)})"
        for m in sorted(GRAPH[importer])
        if layer_of(m) > layer_of(importer) and not own_init(importer, m)
    ]
    assert not upward, "\n".join(upward)
