r"""The book's 10 pseudocode and algorithm blocks, transcribed and run beside their corrections.

Each module holds one block: ``book_<block>`` is the block as the book writes it (its
names and its line order; only what cannot run is fixed, each fix marked with a comment
naming its erratum in ``docs/errata.md``), and ``corrected_<block>`` is its twin with the
same structure and helper names, so the two read side by side. Each module's ``summary()``
runs both on a tiny input and says in one line what really happened.

====================  =========  =============================================================
module                section    block
====================  =========  =============================================================
``s5_3``              5.3        the pruning loop (``BOOK_TEXT``: the code, run verbatim too)
``b1``                B.1        "L1 sparsity optimisation": the §5.3 loop, ``loss`` undefined
``b2``                B.2        the loop with ``evaluate_model_performance``
``s4_2_admm``         4.2        ADMM's three sub-problems; ADMM for the Lasso
``s4_2_irls``         4.2        IRLS's λ = 1/(α·trace(W)); reweighted least squares
``s4_2_lasso``        4.2        the Lasso update; ISTA
``s4_3_gsp``          4.3        GSP: min signed gradient; min |gradient| with a mask
``s4_3_agsp``         4.3        AGSP: min ∂J/∂W·|W|; min |∂J/∂W·W| with a mask
``s4_3_gsap``         4.3        GSAP: zero one activation; remove whole units
``appc``              C          ``SimpleCNN`` and its training code at the book's settings
====================  =========  =============================================================

>>> from nnprune.pseudocode import BLOCKS
>>> len(BLOCKS), BLOCKS[0].section
(10, '5.3')

A lesson runs a block on its own data through a :class:`Setup` (what the book's
``initialize_*`` calls return): ``setup = loop_setup(quick=True)``, then
``s5_3.book_s5_3(setup.problem.x, setup.problem.y, setup)``; ``s5_3.run_s5_3()`` measures
the book's loop and the corrected one on the digits.

Book: §4.2, §4.3, §5.3, appendices B and C (corrected, see docs/errata.md).
"""

from __future__ import annotations

import importlib
import traceback
from typing import Any, NamedTuple

from ._toy import (
    LoopResult,
    Problem,
    PruneResult,
    Regression,
    Setup,
    UndefinedInBook,
    loop_setup,
    regression_problem,
    softmax_problem,
)


class Block(NamedTuple):
    """One book block: its name, section, the module that holds both versions, its erratum."""

    block: str
    section: str
    module: str
    book: str
    corrected: str
    erratum: str

    @property
    def path(self) -> str:
        return "nnprune/pseudocode/" + self.module + ".py"

    def record(self) -> dict[str, Any]:
        """The ``nnprune book pseudocode`` record, not run (``ran`` is None)."""
        return {
            "block": self.block,
            "section": self.section,
            "transcribed": f"{self.path}:{self.book}",
            "corrected": f"{self.path}:{self.corrected}",
            "ran": None,
            "what_happened": "",
        }


BLOCKS: tuple[Block, ...] = (
    Block("pruning loop", "5.3", "s5_3", "book_s5_3", "corrected_s5_3", "s5-3"),
    Block("L1 sparsity optimisation", "B.1", "b1", "book_b1", "corrected_b1", "b-1"),
    Block("pruning with evaluation", "B.2", "b2", "book_b2", "corrected_b2", "s5-3"),
    Block("ADMM", "4.2", "s4_2_admm", "book_admm", "corrected_admm", "s4-2-admm"),
    Block("IRLS", "4.2", "s4_2_irls", "book_irls", "corrected_irls", "s4-2-irls"),
    Block("Lasso", "4.2", "s4_2_lasso", "book_lasso", "corrected_lasso", "s4-2-lasso"),
    Block("GSP", "4.3", "s4_3_gsp", "book_gsp", "corrected_gsp", "s4-3-gsp"),
    Block("AGSP", "4.3", "s4_3_agsp", "book_agsp", "corrected_agsp", "s4-3-agsp"),
    Block("GSAP", "4.3", "s4_3_gsap", "book_gsap", "corrected_gsap", "s4-3-gsap"),
    Block("SimpleCNN project", "C", "appc", "book_appc", "corrected_appc", "app-c"),
)


def run_block(block: Block, quick: bool = True, seed: int = 0) -> dict[str, Any]:
    """Run one block's transcription and correction; its record with ``ran`` and a line.

    ``ran`` is False only when our code raised (the book's own failures are caught inside
    ``summary`` and reported in ``what_happened``).
    """
    record = block.record()
    try:
        module = importlib.import_module(f"{__name__}.{block.module}")
        record["what_happened"] = module.summary(quick=quick, seed=seed)
        record["ran"] = True
    except Exception as err:  # reported, and the CLI exits 1
        last = traceback.extract_tb(err.__traceback__)[-1]
        record["what_happened"] = f"{type(err).__name__}: {err} ({last.filename}:{last.lineno})"
        record["ran"] = False
    return record


def run_all(quick: bool = True, seed: int = 0) -> list[dict[str, Any]]:
    """:func:`run_block` for every block, in the book's order of :data:`BLOCKS`."""
    return [run_block(b, quick, seed) for b in BLOCKS]


__all__ = [
    "BLOCKS",
    "Block",
    "LoopResult",
    "Problem",
    "PruneResult",
    "Regression",
    "Setup",
    "UndefinedInBook",
    "loop_setup",
    "regression_problem",
    "run_all",
    "run_block",
    "softmax_problem",
]
