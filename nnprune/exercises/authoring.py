r'''For teachers: make the student files from the reference solutions.

A solution marks each part the student writes::

    def soft_threshold(V, tau):
        r"""Soft-thresholding."""
        # BEGIN SOLUTION
        return np.sign(V) * np.maximum(np.abs(V) - tau, 0)
        # END SOLUTION

:func:`make_stub` replaces every marked block by ``raise NotImplementedError(...)`` at the
block's indentation. From the repository root,
``python -m nnprune.exercises.authoring exercises/solutions/ch4_soft_threshold.py`` writes
the student file into ``nnprune/exercises/stubs/`` (shipped with the package) and
``exercises/`` (what the repository shows); without arguments it does so for every
solution. The test suite checks that both copies equal ``make_stub(solution)``.
'''

from __future__ import annotations

import re
import sys
from pathlib import Path

from .._atomic import atomic_write

_BLOCK = re.compile(r"^([ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n", re.S | re.M)


def make_stub(solution: str) -> str:
    """The student file for the ``solution`` source: marked blocks become NotImplementedError."""
    if "# BEGIN SOLUTION" not in solution:
        raise ValueError("the solution has no `# BEGIN SOLUTION` ... `# END SOLUTION` block")

    def replace(match: re.Match) -> str:
        return f'{match.group(1)}raise NotImplementedError("your code here")\n'

    stub = _BLOCK.sub(replace, solution)
    if "# BEGIN SOLUTION" in stub or "# END SOLUTION" in stub:
        raise ValueError("unbalanced `# BEGIN SOLUTION` / `# END SOLUTION` markers")
    return stub


def write_stubs(solutions: list[Path], repo: Path) -> list[Path]:
    """Write the stub of each solution file into the package and into ``repo/exercises``."""
    written = []
    for sol in solutions:
        stub = make_stub(sol.read_text(encoding="utf-8"))
        for folder in (repo / "nnprune" / "exercises" / "stubs", repo / "exercises"):
            target = folder / sol.name
            atomic_write(target, lambda f, text=stub: f.write(text))
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo = Path(__file__).resolve().parents[2]
    files = [Path(a) for a in args] or sorted((repo / "exercises" / "solutions").glob("*.py"))
    for path in write_stubs(files, repo):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
