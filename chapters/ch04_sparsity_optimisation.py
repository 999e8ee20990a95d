"""Chapter 4: sparsity as optimisation (book §4.1–4.3, corrected; see docs/errata.md).

What it shows, on the digits MLP 64-300-100-10 (trained dense first)
-------------------------------------------------------------------
* §4.1 errata in numbers: the book's "L0 = sum |W|" is L1; its "L1 = sum |W/(W^2+eps)|"
  is largest at |W| = sqrt(eps) and vanishes for large weights; its IRLS
  "lambda = 1/(alpha * trace(W))" has no meaning for a 300x64 weight.
* §4.2 the lambda path of the L1 subgradient (Appendix C), ISTA (proximal L1) and
  reweighted L1: ISTA and reweighted L1 reach exact zeros, the subgradient does not.
* §4.2 ADMM pruning: the primal residual ||W - Z|| over iterations, and the accuracy
  after hard pruning and retraining against one-shot magnitude pruning with the same
  number of training epochs.
* §4.3 GSP / AGSP / GSAP rankings of the first layer, and the book's signed-minimum
  GSP, which removes the weights the loss is most sensitive to.

Takes well under a minute on a 2-core laptop (``--quick``: a few seconds).

Usage::

    python chapters/ch04_sparsity_optimisation.py [--quick] [--seed 0] [--out figures/ch04]
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.stats import spearmanr

from nnprune import nn, optim, prune, saliency
from nnprune.algorithms import admm_prune, lambda_path
from nnprune.data import digits_splits
from nnprune.models import mlp
from nnprune.report import chapter_parser, format_table, save_figure, use_agg
from nnprune.train import evaluate, fit

MLP_SIZES = (64, 300, 100, 10)
DENSE_EPOCHS, QUICK_DENSE_EPOCHS = 20, 3
LR, MOMENTUM, BATCH_SIZE = 0.05, 0.9, 64
PATH_EPOCHS, QUICK_PATH_EPOCHS = 10, 2
L1_LAMS = (0.0, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3)
REWEIGHTED_LAMS = (0.0, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4)  # per-weight strength is lam/(|W|+eps)
QUICK_L1_LAMS, QUICK_REWEIGHTED_LAMS = (0.0, 2e-3, 5e-3), (0.0, 3e-5, 3e-4)
REWEIGHTED_EPS = 1e-2
ADMM = dict(
    rho=0.03,
    rho_growth=1.5,
    admm_iterations=8,
    epochs_per_iteration=2,
    retrain_epochs=8,
    lr=0.02,
    momentum=0.9,
)
QUICK_ADMM = dict(ADMM, rho=0.3, admm_iterations=3, epochs_per_iteration=1, retrain_epochs=2)
ADMM_SPARSITIES, QUICK_ADMM_SPARSITIES = (0.9, 0.95, 0.98), (0.95,)
GSP_FRACTION = 0.10  # prune 10% of all weights by the book's signed minimum vs by |g|


def book_formulas(W: np.ndarray, eps: float = 1e-4) -> dict:
    """§4.1/§4.2 errata, computed on a trained 300x64 weight matrix."""
    out = {
        "book_L0": float(np.abs(W).sum()),
        "L1": float(np.abs(W).sum()),
        "L0": int(np.count_nonzero(W)),
        "L0_of_W_half": int(np.count_nonzero(W / 2)),
    }
    grid = np.logspace(-4, 1, 2001)
    book_l1 = grid / (grid**2 + eps)  # the book's "L1" term of one weight |w|
    out["book_L1_argmax"], out["sqrt_eps"] = float(grid[book_l1.argmax()]), eps**0.5
    out["book_L1_at_1"], out["book_L1_at_sqrt_eps"] = 1 / (1 + eps), 0.5 / eps**0.5
    try:
        np.einsum("ii", W)  # the trace, defined for square matrices only
    except ValueError as err:
        out["trace_error"] = str(err)
    perm = np.random.default_rng(0).permutation(W.shape[0])  # same network, units reordered
    out["np_trace"], out["np_trace_permuted"] = float(np.trace(W)), float(np.trace(W[perm]))
    print(
        f"book 'L0' = sum|W| = {out['book_L0']:.2f} = L1 = {out['L1']:.2f}; "
        f"true L0 = {out['L0']} non-zeros (unchanged by W/2: {out['L0_of_W_half']})"
    )
    print(
        f"book 'L1' |w|/(w^2+eps), eps={eps:g}: largest at |w| = {out['book_L1_argmax']:.4f} "
        f"(sqrt(eps) = {out['sqrt_eps']:.4f}), value {out['book_L1_at_sqrt_eps']:.0f}; "
        f"at |w| = 1 only {out['book_L1_at_1']:.3f}: it penalises small weights, not large"
    )
    print(
        f"book IRLS 1/(alpha*trace(W)) for W {W.shape}: trace -> {out.get('trace_error')}; "
        f"np.trace silently gives {out['np_trace']:.3f}, and {out['np_trace_permuted']:.3f} "
        "after reordering the hidden units (the same network)"
    )
    return out


def one_shot_baseline(dense, splits, sparsity: float, epochs: int, seed: int) -> float:
    """Layer-wise magnitude pruning, then as many masked-retraining epochs as ADMM used."""
    model = copy.deepcopy(dense)
    prune.to_sparsity(model, sparsity, scope="layer")
    fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=ADMM["lr"], momentum=ADMM["momentum"]),
        splits.train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        seed=seed,
        progress=False,
    )
    return evaluate(model, nn.CrossEntropyLoss(), splits.test)[1]


def run_admm(dense, splits, sparsities, settings: dict, seed: int) -> list[dict]:
    rows = []
    budget = settings["admm_iterations"] * settings["epochs_per_iteration"]
    budget += settings["retrain_epochs"]
    for s in sparsities:
        model = copy.deepcopy(dense)
        res = admm_prune(
            model,
            nn.CrossEntropyLoss(),
            splits.train,
            sparsity=s,
            seed=seed,
            batch_size=BATCH_SIZE,
            **settings,
        )
        rows.append(
            {
                "sparsity": s,
                "achieved": res.sparsity,
                "epochs": budget,
                "admm_accuracy": evaluate(model, nn.CrossEntropyLoss(), splits.test)[1],
                "one_shot_accuracy": one_shot_baseline(dense, splits, s, budget, seed),
                "residuals": res.primal_residuals,
                "z_changes": res.z_changes,
            }
        )
    return rows


def saliency_demo(dense, splits) -> dict:
    """§4.3: GSP/AGSP/GSAP on layer 0, and the book's signed-minimum GSP."""
    loss, data = nn.CrossEntropyLoss(), splits.train
    gsp = saliency.gsp_scores(dense, loss, data, batch_size=BATCH_SIZE)["0.weight"]
    agsp = saliency.agsp_scores(dense, loss, data, batch_size=BATCH_SIZE)["0.weight"]
    gsap = saliency.gsap_scores(dense, loss, data, "0", batch_size=BATCH_SIZE)
    mag = np.abs(dense[0].weight.data)
    out = {
        "rho_gsp_agsp": spearmanr(gsp.ravel(), agsp.ravel())[0],
        "rho_agsp_magnitude": spearmanr(agsp.ravel(), mag.ravel())[0],
        "rho_gsap_unit_agsp": spearmanr(gsap, agsp.sum(axis=1))[0],
    }
    base = evaluate(dense, loss, splits.test)[1]
    signed = saliency.signed_gradients(dense, loss, data)  # the book's dJ/dW on all the data
    n_prune = prune.sparsity_to_count(
        GSP_FRACTION, sum(t.param.size for t in dense.prunable_parameters())
    )
    book = copy.deepcopy(dense)
    masks = {n: np.ones(g.shape, dtype=bool) for n, g in signed.items()}
    for name, index in saliency.book_gsp_select(signed, n_prune):
        masks[name].reshape(-1)[index] = False  # (size,) view of the mask
    for name, mask in masks.items():
        module, _, attr = name.rpartition(".")
        prune.custom_from_mask(book.get_submodule(module), attr, mask)
    out["drop_signed_min"] = base - evaluate(book, loss, splits.test)[1]
    fixed = copy.deepcopy(dense)
    prune.to_sparsity(  # scores keyed by parameter name, an exact count
        fixed,
        GSP_FRACTION,
        saliency.gsp_scores(dense, loss, data, batch_size=BATCH_SIZE),
        scope="global",
    )
    out["drop_abs_gradient"] = base - evaluate(fixed, loss, splits.test)[1]
    print(
        f"\nLayer 0 rankings (Spearman): GSP vs AGSP {out['rho_gsp_agsp']:.2f}, "
        f"AGSP vs |W| {out['rho_agsp_magnitude']:.2f}, GSAP vs unit-summed AGSP "
        f"{out['rho_gsap_unit_agsp']:.2f}"
    )
    print(
        f"Prune {GSP_FRACTION:.0%} of the weights, no retraining: accuracy drop "
        f"{out['drop_signed_min']:.2%} by the book's signed minimum, "
        f"{out['drop_abs_gradient']:.2%} by |gradient|"
    )
    return out


def plot(path_rows: list[dict], admm_rows: list[dict], out: str) -> list[str]:
    import matplotlib.pyplot as plt

    fig, (ax_z, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, method in enumerate(("subgradient", "ista", "reweighted")):
        rows = [r for r in path_rows if r["method"] == method and r["lam"] > 0]
        lams = [r["lam"] for r in rows]
        ax_z.semilogx(
            lams,
            [r["zero_fraction"] for r in rows],
            "o-",
            color=f"C{i}",
            label=f"{method}: exact zeros",
        )
        ax_z.semilogx(
            lams,
            [r["small_fraction"] for r in rows],
            "x--",
            color=f"C{i}",
            label=f"{method}: |W| < 1e-3",
        )
        ax_acc.plot(
            [r["small_fraction"] for r in rows],
            [r["accuracy"] for r in rows],
            "o-",
            color=f"C{i}",
            label=method,
        )
    ax_z.set(xlabel="lambda", ylabel="fraction of weights", title="Sparsity along the lambda path")
    ax_acc.set(xlabel="fraction |W| < 1e-3", ylabel="test accuracy", title="Accuracy vs sparsity")
    ax_z.legend(fontsize=7)
    ax_acc.legend(fontsize=8)
    fig.tight_layout()
    paths = [str(save_figure(fig, out, "ch04_lambda_path.png"))]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for r in admm_rows:
        ax.semilogy(
            np.arange(1, len(r["residuals"]) + 1),
            r["residuals"],
            "o-",
            label=f"||W - Z||, sparsity {r['sparsity']:.0%}",
        )
    ax.set(xlabel="ADMM iteration", ylabel="primal residual", title="ADMM convergence")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(str(save_figure(fig, out, "ch04_admm_residual.png")))
    return paths


def main(argv: list[str] | None = None) -> dict:
    args = chapter_parser(__doc__, "figures/ch04").parse_args(argv)
    use_agg()
    q = args.quick
    splits = digits_splits(args.seed)
    dense = mlp(MLP_SIZES, seed=args.seed)
    fit(
        dense,
        nn.CrossEntropyLoss(),
        optim.SGD(dense.parameters(), lr=LR, momentum=MOMENTUM),
        splits.train,
        epochs=QUICK_DENSE_EPOCHS if q else DENSE_EPOCHS,
        batch_size=BATCH_SIZE,
        seed=args.seed,
        progress=False,
        backend=args.backend,
    )
    dense.to("numpy")
    dense_acc = evaluate(dense, nn.CrossEntropyLoss(), splits.test)[1]
    print(f"Dense MLP {MLP_SIZES}: test accuracy {dense_acc:.2%}\n")
    errata = book_formulas(dense[0].weight.data.astype(np.float64))

    epochs = QUICK_PATH_EPOCHS if q else PATH_EPOCHS
    l1_lams, rw_lams = (QUICK_L1_LAMS, QUICK_REWEIGHTED_LAMS) if q else (L1_LAMS, REWEIGHTED_LAMS)
    path_rows = []
    for method, lams in (("subgradient", l1_lams), ("ista", l1_lams), ("reweighted", rw_lams)):
        path_rows += lambda_path(
            dense,
            splits,
            lams,
            method,
            epochs=epochs,
            lr=LR,
            batch_size=BATCH_SIZE,
            seed=args.seed,
            eps=REWEIGHTED_EPS,
        )
    print()
    print(
        format_table(
            path_rows,
            columns=["method", "lam", "zero_fraction", "small_fraction", "accuracy"],
            formats={
                "lam": "{:g}",
                "zero_fraction": "{:.2%}",
                "small_fraction": "{:.2%}",
                "accuracy": "{:.2%}",
            },
            title=f"Lambda path from the dense model, {epochs} epochs of plain SGD each",
        )
    )

    admm_rows = run_admm(
        dense,
        splits,
        QUICK_ADMM_SPARSITIES if q else ADMM_SPARSITIES,
        QUICK_ADMM if q else ADMM,
        args.seed,
    )
    print()
    print(
        format_table(
            admm_rows,
            columns=["sparsity", "achieved", "epochs", "admm_accuracy", "one_shot_accuracy"],
            formats={
                "sparsity": "{:.0%}",
                "achieved": "{:.4f}",
                "admm_accuracy": "{:.2%}",
                "one_shot_accuracy": "{:.2%}",
            },
            title="ADMM + masked retraining vs one-shot magnitude + retraining (same epochs)",
        )
    )
    sal = saliency_demo(dense, splits)
    figures = plot(path_rows, admm_rows, args.out)
    print("\nfigures: " + ", ".join(figures))
    return {
        "dense_accuracy": dense_acc,
        "errata": errata,
        "lambda_path": path_rows,
        "admm": admm_rows,
        "saliency": sal,
        "figures": figures,
    }


if __name__ == "__main__":
    main()
