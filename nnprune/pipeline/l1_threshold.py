r"""The book's §7.1 and §7.3 strategy: L1-penalised training, a rising threshold, retraining.

The book's case studies describe their pruning in one sentence: "L1-penalty sparsity
pruning: set a suitable threshold and iteratively remove the connections of smallest
absolute weight, then retrain". :func:`l1_threshold_prune` does exactly that in a fixed
budget of ``epochs`` epochs, so that it can be compared with any other method given the
same epochs (one optimiser, one learning-rate schedule, the same batches):

1. for the first ``l1_epochs`` epochs, every step follows the gradient of

   .. math:: \mathrm{Loss}(W) + \lambda \lVert W_S \rVert_1 ,

   i.e. :math:`\lambda\,\operatorname{sign}(W)` is added to the gradient of the chosen
   weights :math:`W_S` (the subgradient, as in the book's appendix C); after epoch
   :math:`e` (from 1) the smallest :math:`|w|` of :math:`W_S` are pruned (global
   magnitude, masks kept) so that a fraction :math:`s\,e/E_1` is zero: the threshold
   rises to the target sparsity :math:`s` in :math:`E_1` steps;
2. the remaining ``epochs - l1_epochs`` epochs retrain without the penalty, the masks kept.

With ``lam = 0`` it is gradual magnitude pruning in the same budget, the control that
shows what the L1 term adds.

Book: §7.1, §7.3 (the pruning strategy of the image and speech case studies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..algorithms.ista import GradientHookOptimizer
from ..checks import check_nonnegative, check_positive_int, check_sparsity
from ..nn.module import Module
from ..prune import to_sparsity
from ..regularizers import L1
from ..train import History, fit


@dataclass
class L1ThresholdResult:
    """What :func:`l1_threshold_prune` returns.

    Attributes
    ----------
    history : History
        Per-epoch metrics of the whole run (``loss`` without the penalty).
    sparsities : list of float
        Fraction of zeros of the chosen weights after each epoch.
    """

    history: History
    sparsities: list[float] = field(default_factory=list)


def _zero_fraction(model: Module, names: Sequence[str]) -> float:
    params = dict(model.named_parameters())
    zeros = sum(int((params[n].data == 0).sum()) for n in names)
    return zeros / sum(params[n].size for n in names)


def l1_threshold_prune(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    *,
    names: Sequence[str],
    lam: float,
    sparsity: float,
    epochs: int,
    l1_epochs: int | None = None,
    batch_size: int = 64,
    seed: int = 0,
    **fit_kwargs: Any,
) -> L1ThresholdResult:
    r"""Train with an L1 penalty while a magnitude threshold rises, then retrain with masks.

    Parameters
    ----------
    model : Module
        Trained in place and pruned (masks on the ``names`` weights).
    loss_fn, optimizer, train
        As in :func:`nnprune.train.fit`; ``optimizer`` holds the model's parameters.
    names : sequence of str
        Qualified names of the penalised and pruned weights (global ranking).
    lam : float
        :math:`\lambda \ge 0` of the L1 term (0: gradual magnitude pruning).
    sparsity : float in [0, 1)
        Fraction of the ``names`` weights that is zero at the end.
    epochs : int
        The whole budget.
    l1_epochs : int, optional
        Epochs with the penalty and the rising threshold, ``1..epochs``; default
        :math:`\lceil \text{epochs}/2 \rceil`.
    batch_size, seed, **fit_kwargs
        Passed on to :func:`nnprune.train.fit` (``scheduler``, ``backend``, ...).

    Returns
    -------
    L1ThresholdResult

    Raises
    ------
    ValueError
        If ``names`` is empty or names no parameter, or ``l1_epochs`` is out of range.

    Book: §7.1, §7.3
    """
    lam = check_nonnegative("lam", lam)
    sparsity = check_sparsity("sparsity", sparsity)
    epochs = check_positive_int("epochs", epochs)
    l1_epochs = -(-epochs // 2) if l1_epochs is None else check_positive_int("l1_epochs", l1_epochs)
    if l1_epochs > epochs:
        raise ValueError(f"l1_epochs must be in [1, epochs={epochs}], got {l1_epochs}")
    params = dict(model.named_parameters())
    names = list(names)
    unknown = [n for n in names if n not in params]
    if not names or unknown:
        raise ValueError(f"names must name parameters of the model, got {unknown or names}")
    penalty, plist = L1(lam), [params[n] for n in names]
    phase = {"l1": True}  # the hook adds lam * sign(W) only during the L1 epochs
    hooked = GradientHookOptimizer(optimizer, lambda: phase["l1"] and penalty.add_grad(plist))
    result = L1ThresholdResult(History())

    class RisingThreshold:
        def on_epoch_end(self, epoch: int, history: History) -> None:
            if epoch < l1_epochs:  # after L1 epoch e = epoch + 1: a fraction s * e / E1 zero
                to_sparsity(model, sparsity * (epoch + 1) / l1_epochs, names=names)
            phase["l1"] = epoch + 1 < l1_epochs
            result.sparsities.append(_zero_fraction(model, names))

    result.history = fit(model, loss_fn, hooked, train, None, epochs=epochs,
                         batch_size=batch_size, seed=seed, callbacks=[RisingThreshold()],
                         **fit_kwargs)  # fmt: skip
    return result


__all__ = ["L1ThresholdResult", "l1_threshold_prune"]
