r"""Sparsity-optimisation training algorithms (book §4.2, corrected).

* :func:`ista_train`: Lasso by proximal gradient (soft-thresholding after each step):
  exact zeros. :func:`subgradient_l1_train`: the book's Appendix C route, adding
  :math:`\lambda\operatorname{sign}(W)` to the gradients: small weights, few exact zeros.
* :func:`reweighted_l1_train`: iteratively reweighted L1 (Candès, Wakin & Boyd 2008),
  :math:`\lambda_{ij} = \lambda/(|W_{ij}| + \epsilon)` refreshed every few epochs.
* :func:`admm_prune`: ADMM pruning (Zhang et al. 2018): W-, Z- (top-k projection) and
  U-steps, then hard pruning to exactly ``k`` weights and masked retraining;
  :func:`admm_l1_train`: ADMM for the L1 problem (Boyd et al. 2011, §6.4), the Z-step a
  soft-threshold, then pruning to Z's support and masked retraining.
* the book's linear Lasso :math:`\tfrac12\lVert Ax-b\rVert^2 + \lambda\lVert x\rVert_1`:
  :func:`lasso_ista`, :func:`lasso_admm`, :func:`lasso_cd`; IRLS: :func:`irls_lasso`
  (each step a weighted least-squares solve) and :func:`irls_train` (networks).
* :func:`lambda_path`: sparsity and accuracy along a list of :math:`\lambda`.

All of them run the shared mini-batch loop :func:`nnprune.train.fit`; each algorithm's
own steps are written out in its file, as callbacks and a gradient hook of that loop:
ISTA's soft-threshold (:class:`SoftThresholdStep`) in ``ista.py``, the refresh of the
reweighted strengths (:class:`RefreshWeights`) in ``reweighted.py``, ADMM's W/Z/U steps
in ``admm.py``. :class:`ProximalStep` applies any penalty of :mod:`nnprune.regularizers`
that has a proximal operator (group lasso, L0) the same way.

Book: §4.2 (corrected, see docs/errata.md#s4-2-admm, #s4-2-irls, #s4-2-lasso)
"""

from .admm import (
    ADMMResult,
    ADMMState,
    L1ADMMState,
    admm_l1_train,
    admm_prune,
    project_sparse,
)
from .irls import IRLSPenalty, irls_lasso, irls_step, irls_train, smoothed_l1_objective
from .ista import (
    GradientHookOptimizer,
    ProximalStep,
    SoftThresholdStep,
    TrainResult,
    ista_train,
    subgradient_l1_train,
    zero_fraction,
)
from .l2 import l2_train
from .lambda_path import METHODS, lambda_path, small_fraction, train_sparse
from .lasso import (
    LassoResult,
    lasso_admm,
    lasso_cd,
    lasso_ista,
    lasso_objective,
)
from .reweighted import RefreshWeights, reweighted_l1_train

__all__ = [
    "ADMMResult",
    "ADMMState",
    "GradientHookOptimizer",
    "IRLSPenalty",
    "L1ADMMState",
    "LassoResult",
    "METHODS",
    "ProximalStep",
    "RefreshWeights",
    "SoftThresholdStep",
    "TrainResult",
    "admm_l1_train",
    "admm_prune",
    "irls_lasso",
    "irls_step",
    "irls_train",
    "ista_train",
    "l2_train",
    "lambda_path",
    "lasso_admm",
    "lasso_cd",
    "lasso_ista",
    "lasso_objective",
    "project_sparse",
    "reweighted_l1_train",
    "small_fraction",
    "smoothed_l1_objective",
    "subgradient_l1_train",
    "train_sparse",
    "zero_fraction",
]
