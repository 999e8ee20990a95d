"""nnprune: a small, exact, readable NumPy library for sparsity-based neural-network pruning.

The runnable companion of the book *Sparsity-based neural network pruning
optimisation*: every layer has a hand-written, gradient-checked backward pass,
every pruning method is the standard, cited algorithm, and every number the
chapter scripts print is measured.

Sub-packages: ``nn`` (layers), ``optim`` (optimisers, schedules), ``data``,
``prune`` (masks and structured removal), ``metrics`` (sparsity, size, FLOPs),
``sparse`` (scipy.sparse storage and inference), ``regularizers`` (§4.1
penalties), ``algorithms`` (§4.2 ISTA, reweighted L1, ADMM), ``saliency`` (§4.3
criteria), ``pipeline`` (§5 prune-retrain loops), ``experiments`` (§3.3 comparison
harness), ``casestudies`` (§6–7), ``export`` (ONNX, PyTorch state dicts), ``models``,
``train``, ``io``.
"""

from . import (
    algorithms,
    architectures,
    backend,
    casestudies,
    data,
    experiments,
    export,
    gradcheck,
    io,
    metrics,
    models,
    nn,
    optim,
    pipeline,
    prune,
    regularizers,
    saliency,
    sparse,
    train,
)
from ._version import __version__
from .rng import manual_seed

__all__ = [
    "__version__",
    "algorithms",
    "architectures",
    "backend",
    "casestudies",
    "data",
    "experiments",
    "export",
    "gradcheck",
    "io",
    "manual_seed",
    "metrics",
    "models",
    "nn",
    "optim",
    "pipeline",
    "prune",
    "regularizers",
    "saliency",
    "sparse",
    "train",
]
