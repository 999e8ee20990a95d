r"""The longer measurements of the chapter lessons, called from ``chapters/chNN_*.py``.

A lesson shows the steps of a book section with the library's public API; when a
step is a whole study (prune one trained model with every method and time them
all, a lambda path, the book's formulas checked in numbers), the study lives
here, one module per chapter, and the lesson calls it and prints what it returns.

* :mod:`.sparsity`: §2.1–2.3 (sparsity measures, storage, dense vs CSR timing);
* :mod:`.optimisation`: §4.1–4.3 (the book's formulas, ADMM vs one-shot, saliency).

These modules sit with :mod:`nnprune.report` and :mod:`nnprune.lesson`, above
the library they call; the library never imports them.
"""
