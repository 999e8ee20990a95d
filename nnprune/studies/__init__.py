r"""Chapter 2's sparsity tables (:mod:`.sparsity`).

Chapter 4's studies are written in its lessons, on the library's
:mod:`nnprune.algorithms` and :mod:`nnprune.pipeline` (``saliency_sweep``, ``gsap_sweep``).

The chapter-3 method study is :mod:`nnprune.experiments.method_study`; bytes and CSR timing
are :mod:`nnprune.metrics.storage`. The library never imports this package.
"""
