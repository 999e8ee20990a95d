r"""Chapter 4's studies: ADMM against one-shot magnitude at equal epochs; GSP/AGSP/GSAP compared.

Book: §4.1 (corrected, see docs/errata.md#s4-1-l0 and docs/errata.md#s4-1-l1),
§4.2 (corrected, see docs/errata.md#s4-2-admm and docs/errata.md#s4-2-irls),
§4.3 (corrected, see docs/errata.md#s4-3-gsp).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from .. import nn, optim, prune, saliency
from ..algorithms import admm_prune
from ..data.loader import Splits
from ..train import evaluate, fit


def one_shot(dense: nn.Module, splits: Splits, sparsity: float, epochs: int, seed: int, lr: float):
    """Layer-wise magnitude pruning to ``sparsity``, then ``epochs`` of masked retraining."""
    model = copy.deepcopy(dense)
    prune.to_sparsity(model, sparsity, scope="layer")
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, splits.train, epochs=epochs, batch_size=64, seed=seed)
    return evaluate(model, nn.CrossEntropyLoss(), splits.test)[1]


def admm_vs_one_shot(
    dense: nn.Module, splits: Splits, sparsity: float, settings: dict[str, Any], seed: int
) -> dict[str, Any]:
    """ADMM pruning + masked retraining against one-shot magnitude with the same epochs.

    Accuracies are on the *test* split; ``epochs`` counts every ADMM epoch and
    the retraining, and the one-shot model gets as many.
    """
    model = copy.deepcopy(dense)
    res = admm_prune(
        model,
        nn.CrossEntropyLoss(),
        splits.train,
        sparsity=sparsity,
        seed=seed,
        batch_size=64,
        **settings,
    )
    epochs = settings["admm_iterations"] * settings["epochs_per_iteration"]
    epochs += settings["retrain_epochs"]
    return {
        "sparsity": sparsity,
        "achieved": res.sparsity,
        "epochs": epochs,
        "admm acc": evaluate(model, nn.CrossEntropyLoss(), splits.test)[1],
        "one-shot acc": one_shot(dense, splits, sparsity, epochs, seed, settings["lr"]),
        "residuals": res.primal_residuals,
    }


def saliency_study(dense: nn.Sequential, splits: Splits, fraction: float = 0.1) -> dict:
    """§4.3: GSP/AGSP/GSAP rankings of layer ``"0"``; the book's signed-minimum GSP.

    Returns Spearman correlations of the rankings and the test-split accuracy
    drop (a fraction) when ``fraction`` of all weights is pruned without
    retraining, by the book's signed minimum and by the gradient's magnitude.
    """
    loss, data = nn.CrossEntropyLoss(), splits.train
    gsp_all = saliency.gsp_scores(dense, loss, data, batch_size=64)
    gsp = gsp_all["0.weight"]
    agsp = saliency.agsp_scores(dense, loss, data, batch_size=64)["0.weight"]
    gsap = saliency.gsap_scores(dense, loss, data, "0", batch_size=64)
    mag = np.abs(dense[0].weight.data)
    out = {
        "rho_gsp_agsp": spearmanr(gsp.ravel(), agsp.ravel())[0],
        "rho_agsp_magnitude": spearmanr(agsp.ravel(), mag.ravel())[0],
        "rho_gsap_unit_agsp": spearmanr(gsap, agsp.sum(axis=1))[0],
    }
    base = evaluate(dense, loss, splits.test)[1]
    signed = saliency.signed_gradients(dense, loss, data)  # the book's dJ/dW on all the data
    total = sum(t.param.size for t in dense.prunable_parameters())
    book = copy.deepcopy(dense)
    masks = {n: np.ones(g.shape, dtype=bool) for n, g in signed.items()}
    for name, index in saliency.book_gsp_select(signed, prune.sparsity_to_count(fraction, total)):
        masks[name].reshape(-1)[index] = False  # (size,) view of the mask
    for name, mask in masks.items():
        module, _, attr = name.rpartition(".")
        prune.custom_from_mask(book.get_submodule(module), attr, mask)
    out["drop_signed_min"] = base - evaluate(book, loss, splits.test)[1]
    fixed = copy.deepcopy(dense)
    prune.to_sparsity(fixed, fraction, gsp_all, scope="global")  # scores keyed by name
    out["drop_abs_gradient"] = base - evaluate(fixed, loss, splits.test)[1]
    return out
