r"""Chapter 2's sparsity tables (:mod:`.sparsity`) and chapter 4's studies (:mod:`.optimisation`).

The chapter-3 method study is :mod:`nnprune.experiments.method_study`; bytes and CSR timing
are :mod:`nnprune.metrics.storage`. The library never imports this package.
"""
