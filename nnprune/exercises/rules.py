r"""Static rules on a student's file: only the allowed imports, no dynamic imports or exec.

An exercise that re-implements a library function (``soft_threshold``, ``nm_mask``, a CSR
product) would be pointless if the answer could be ``from nnprune.regularizers import
soft_threshold``. Before any code of the student runs, the checker parses the file with
:mod:`ast` and fails the ``rules`` check for

* an ``import`` or ``from ... import`` of a module outside the exercise's allowed list
  (``numpy`` and ``math`` for most; a module allows its sub-modules, so allowing
  ``nnprune.nn`` allows ``from nnprune.nn import Module`` but not ``nnprune.prune``);
* ``import nnprune`` when only a part of it is allowed (the package object reaches all of it);
* the names ``__import__``, ``importlib``, ``exec``, ``eval``, ``compile``, ``globals``,
  ``sys`` and ``builtins`` anywhere in the code (the usual ways around the first rule).

This is a check for honest mistakes and casual shortcuts, not a sandbox: a determined
student can still reach a forbidden function (e.g. through an allowed module's attributes).
A teacher who needs more reads the submitted code, which is short.
"""

from __future__ import annotations

import ast

FORBIDDEN_NAMES = ("__import__", "importlib", "exec", "eval", "compile", "globals", "sys",
                   "builtins", "__builtins__")  # fmt: skip


def _allowed(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def rule_violations(
    source: str, allowed: tuple[str, ...], filename: str = "<student>"
) -> list[str]:
    """Every rule the source breaks, one message each (empty when it keeps them all).

    Raises
    ------
    SyntaxError
        When the source does not parse.
    """
    tree = ast.parse(source, filename=filename)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if not _allowed(name, allowed):
                    found.append(f"line {node.lineno}: `import {name}` is not allowed here")
                elif alias.asname is None and not _allowed(name.split(".")[0], allowed):
                    # `import nnprune.nn` binds `nnprune`, which reaches every sub-package
                    found.append(f"line {node.lineno}: `import {name}` binds the whole package; "
                                 f"write `import {name} as {name.rsplit('.', 1)[1]}`")  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level:
                found.append(f"line {node.lineno}: relative import `from {module} import ...`")
            elif not _allowed(module, allowed):
                for alias in node.names:
                    if not _allowed(f"{module}.{alias.name}", allowed):
                        found.append(f"line {node.lineno}: `from {module} import {alias.name}` "
                                     "is not allowed here")  # fmt: skip
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: `{node.id}` is not allowed in an exercise")
        elif isinstance(node, ast.Attribute) and node.attr in ("__import__", "__builtins__"):
            found.append(f"line {node.lineno}: `.{node.attr}` is not allowed in an exercise")
    return found
