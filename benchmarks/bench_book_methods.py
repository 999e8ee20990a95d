r"""The book's methods that had no implementation, measured once each (one seed).

Sections (each a printed table; numbers are measured here, nothing is asserted):

* A. §4.2 the linear Lasso on scikit-learn's diabetes data: ISTA, ADMM, coordinate
  descent and IRLS against ``sklearn.linear_model.Lasso`` (:math:`\lambda = n\alpha`,
  centred data), and ridge for contrast;
* B. §7 parameter counts from architecture descriptions, and the book's §7 percentages
  checked against its own parameter numbers ("cut %": fewer parameters; "CSR cut %":
  fewer bytes if the kept weights are stored as CSR with 32-bit values and indices;
  "x FLOPs": the speed-up if compute followed the parameter count);
* C. §5.1 removal with bias compensation vs plain removal (digits MLP 64-64-10);
* D. §6.3 APoZ unit removal vs L1 norms vs random (digits MLP 64-128-10, retrained);
* E. §6.2 top-k sparse attention on the text case study's Transformer;
* F. §4.3 GSP / AGSP / magnitude / random weight pruning, and GSAP / L1 / random units,
  at several sparsities with the same retraining;
* G. §4.2 ADMM for the L1 problem vs the cardinality ADMM vs magnitude, same sparsity;
* H. §8.2 multi-granularity pruning and a cross-domain run.

Usage::

    python benchmarks/bench_book_methods.py [--quick] [--seed 0]

Book: §4.2, §4.3, §5.1, §6.2, §6.3, §7, §8.2
"""

from __future__ import annotations

import argparse
import copy
import shlex
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import nn, optim
from nnprune.algorithms import (
    admm_l1_train,
    admm_prune,
    irls_lasso,
    lasso_admm,
    lasso_cd,
    lasso_ista,
)
from nnprune.casestudies.text import MODEL, text_splits
from nnprune.casestudies.text_model import TransformerClassifier
from nnprune.data.datasets import load_digits
from nnprune.metrics import book_section7_check, parameter_counts
from nnprune.models import mlp
from nnprune.pipeline import (
    cross_domain_prune,
    domain_shift,
    gsap_sweep,
    multi_granularity_prune,
    saliency_sweep,
)
from nnprune.prune import (
    prune_units,
    remove_units,
    remove_units_compensated,
    sparse_attention_eval,
    to_sparsity,
)
from nnprune.report import format_table
from nnprune.saliency import apoz_scores
from nnprune.train import evaluate, fit

CE = nn.CrossEntropyLoss()


def _digits(seed):
    X, y = load_digits()
    p = np.random.default_rng(seed).permutation(len(y))
    X, y = X[p], y[p]
    return (X[:1100], y[:1100]), (X[1100:1400], y[1100:1400]), (X[1400:], y[1400:])


def _train(model, train, epochs, lr=0.05, seed=0):
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(model, CE, opt, train, epochs=epochs, seed=seed, progress=False)
    return model


def _retrain(model, train, epochs, seed=0):
    return _train(model, train, epochs, lr=0.01, seed=seed)


def section_a():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Lasso

    X, y = load_diabetes(return_X_y=True)
    A, b = X - X.mean(axis=0), y - y.mean()
    rows = []
    for alpha in (0.1, 0.5):
        lam = len(y) * alpha
        sk = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
        solvers = {
            "ISTA": lambda lam=lam: lasso_ista(A, b, lam, n_iter=100_000, tol=1e-12),
            "ADMM rho=1": lambda lam=lam: lasso_admm(A, b, lam, rho=1.0, n_iter=100_000, tol=1e-10),
            "coordinate descent": lambda lam=lam: lasso_cd(A, b, lam, tol=1e-12),
            "IRLS eps=1e-8": lambda lam=lam: irls_lasso(A, b, lam, eps=1e-8),
        }
        for name, solve in solvers.items():
            t0 = time.perf_counter()
            r = solve()
            ms = 1000 * (time.perf_counter() - t0)
            rows.append(
                {
                    "alpha": alpha,
                    "lam=n*alpha": lam,
                    "solver": name,
                    "iters": r.n_iter,
                    "max|x-sklearn|": float(np.max(np.abs(r.coef - sk.coef_))),
                    "exact zeros": f"{int((r.coef == 0).sum())}/{A.shape[1]}",
                    "sklearn zeros": int((sk.coef_ == 0).sum()),
                    "ms": ms,
                }
            )
        ridge = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ b)
        rows.append(
            {
                "alpha": alpha,
                "lam=n*alpha": lam,
                "solver": "ridge (L2), same lam",
                "iters": 1,
                "max|x-sklearn|": float("nan"),
                "exact zeros": f"{int((ridge == 0).sum())}/{A.shape[1]}",
                "sklearn zeros": int((sk.coef_ == 0).sum()),
                "ms": float("nan"),
            }
        )
    fmt = {"lam=n*alpha": "{:.1f}", "max|x-sklearn|": "{:.1e}", "ms": "{:.1f}"}
    print(format_table(rows, formats=fmt, title="A. §4.2 linear Lasso, diabetes (n=442, d=10)"))


def section_b():
    rows = [{"model": k, "parameters": f"{v:,}"} for k, v in parameter_counts().items()]
    print(format_table(rows, title="B. §7 parameter counts (BERT: encoder + embeddings + pooler)"))
    rows = [
        {
            "§": r["section"],
            "book model": r["model"],
            "params": f"{r['params_before'] / 1e6:.0f}M->{r['params_after'] / 1e6:.0f}M",
            "cut %": r["param_reduction_pct"],
            "CSR cut %": r["storage_cut_csr_pct"],
            "book store %": r["book_storage_gain_pct"],
            "x FLOPs": r["speedup_if_flops_follow_params"],
            "book comp %": r["book_compute_gain_pct"],
            "real count": "-"
            if r["named_model_params"] is None
            else f"{r['named_model_params']:,}",
        }
        for r in book_section7_check()
    ]
    fmt = {"cut %": "{:.1f}", "CSR cut %": "{:.1f}", "x FLOPs": "{:.1f}"}
    print(format_table(rows, formats=fmt, title="B. the book's §7 figures against themselves"))


def section_c(seed, quick):
    train, _, test = _digits(seed)
    model = _train(mlp((64, 64, 10), seed=seed).double(), train, 4 if quick else 15)
    h = np.maximum(model[0].forward(train[0]), 0)
    rows = []
    for how, k in [
        ("least variance", 16),
        ("least variance", 32),
        ("least variance", 48),
        ("random", 16),
        ("random", 48),
    ]:
        if how == "random":
            units = np.sort(np.random.default_rng(seed).choice(64, k, replace=False))
        else:
            units = np.sort(np.argsort(h.var(axis=0))[:k])
        plain, comp = copy.deepcopy(model), copy.deepcopy(model)
        remove_units(plain, "0", units)
        remove_units_compensated(comp, "0", units, train[0])
        lp, ap = evaluate(plain, CE, test)
        lc, ac = evaluate(comp, CE, test)
        rows.append(
            {
                "units removed": f"{k}/64 {how}",
                "plain loss": lp,
                "plain acc": ap,
                "compensated loss": lc,
                "compensated acc": ac,
            }
        )
    fmt = {c: "{:.3f}" for c in ("plain loss", "plain acc", "compensated loss", "compensated acc")}
    print(
        format_table(rows, formats=fmt, title="C. §5.1 bias compensation (held-out, no retraining)")
    )


def section_d(seed, quick):
    train, _, test = _digits(seed)
    model = _train(mlp((64, 128, 10), seed=seed), train, 4 if quick else 15)
    apoz = apoz_scores(model, train[0], "0")
    rows = [
        {
            "criterion": "dense",
            "amount": 0.0,
            "acc pruned": evaluate(model, CE, test)[1],
            "acc retrained": float("nan"),
        }
    ]
    for amount in (0.5, 0.75):
        for crit in ("apoz", "l1", "random"):
            m = copy.deepcopy(model)
            c = 1.0 - apoz if crit == "apoz" else crit
            prune_units(m, "0", amount, criterion=c, seed=seed)
            acc_p = evaluate(m, CE, test)[1]
            _retrain(m, train, 1 if quick else 3, seed)
            rows.append(
                {
                    "criterion": crit,
                    "amount": amount,
                    "acc pruned": acc_p,
                    "acc retrained": evaluate(m, CE, test)[1],
                }
            )
    print(
        f"APoZ of the 128 hidden units: mean {apoz.mean():.3f}, max {apoz.max():.3f}, "
        f"units with APoZ > 0.9: {(apoz > 0.9).sum()}"
    )
    print(
        format_table(
            rows,
            formats={"acc pruned": "{:.3f}", "acc retrained": "{:.3f}"},
            title="D. §6.3 activation-sparsity (APoZ) unit removal, layer 0",
        )
    )


def section_e(seed, quick):
    splits, vocab = text_splits(seed, 600 if quick else 3000, None)
    model = TransformerClassifier(
        len(vocab),
        int(splits.train[1].max()) + 1,
        num_layers=2,
        max_len=max(splits.train[0].shape[1], 16),
        pad_id=vocab.pad_id,
        seed=seed,
        **MODEL,
    )
    opt = optim.Adam(model.parameters(), lr=3e-3)
    fit(
        model,
        CE,
        opt,
        splits.train,
        epochs=2 if quick else 40,
        batch_size=32,
        seed=seed,
        progress=False,
    )
    T = splits.test[0].shape[1]
    rows = sparse_attention_eval(model, CE, splits.test, [1, 2, 4, 8, T])
    print(f"dense test accuracy {evaluate(model, CE, splits.test)[1]:.3f} (T = {T})")
    print(
        format_table(
            rows,
            formats={"loss": "{:.3f}", "accuracy": "{:.3f}", "kept_fraction": "{:.3f}"},
            title="E. §6.2 top-k attention per query, 2-layer Transformer",
        )
    )


def section_f(seed, quick):
    train, _, test = _digits(seed)
    model = _train(mlp((64, 128, 64, 10), seed=seed), train, 4 if quick else 15)
    sparsities = [0.8, 0.95] if quick else [0.5, 0.8, 0.9, 0.95]
    rows = []
    for crit in ("gsp", "agsp", "magnitude", "random"):
        rows += saliency_sweep(
            model,
            CE,
            train,
            test,
            sparsities,
            criterion=crit,
            retrain_epochs=1 if quick else 2,
            seed=seed,
        )
    fmt = {"sparsity": "{:.2f}", "acc_pruned": "{:.3f}", "acc": "{:.3f}"}
    cols = ["criterion", "sparsity", "acc_pruned", "acc"]
    print(format_table(rows, cols, fmt, title="F. §4.3 weight saliency, one-shot + retrain"))
    rows = []
    for crit in ("gsap", "l1", "random"):
        rows += gsap_sweep(
            model,
            CE,
            train,
            test,
            ["0", "2"],
            [0.5, 0.75],
            criterion=crit,
            retrain_epochs=1 if quick else 2,
            seed=seed,
        )
    cols = ["criterion", "amount", "params", "acc_pruned", "acc"]
    print(format_table(rows, cols, fmt, title="F. §4.3 GSAP unit removal (both hidden layers)"))


def section_g(seed, quick):
    train, _, test = _digits(seed)
    dense = _train(mlp((64, 128, 64, 10), seed=seed), train, 4 if quick else 15)
    its, ep = (3, 1) if quick else (10, 1)
    m = copy.deepcopy(dense)
    res = admm_l1_train(
        m,
        CE,
        train,
        lam=1e-2,
        rho=1e-2,
        admm_iterations=its,
        epochs_per_iteration=ep,
        retrain_epochs=2,
        lr=0.01,
        seed=seed,
    )
    s = res.sparsity
    rows = [
        {
            "method": "ADMM-L1 (lam 1e-2, rho 1e-2)",
            "sparsity": s,
            "acc": evaluate(m, CE, test)[1],
            "last |W-Z|": res.primal_residuals[-1],
        }
    ]
    m2 = copy.deepcopy(dense)
    res2 = admm_prune(
        m2,
        CE,
        train,
        sparsity=s,
        rho=1e-2,
        admm_iterations=its,
        epochs_per_iteration=ep,
        retrain_epochs=2,
        lr=0.01,
        seed=seed,
    )
    rows.append(
        {
            "method": "ADMM cardinality, same sparsity",
            "sparsity": res2.sparsity,
            "acc": evaluate(m2, CE, test)[1],
            "last |W-Z|": res2.primal_residuals[-1],
        }
    )
    m3 = copy.deepcopy(dense)
    to_sparsity(m3, s, None, "layer")
    _retrain(m3, train, its * ep + 2, seed)
    rows.append(
        {
            "method": "magnitude (layer), same epochs",
            "sparsity": s,
            "acc": evaluate(m3, CE, test)[1],
            "last |W-Z|": float("nan"),
        }
    )
    print(
        format_table(
            rows,
            formats={"sparsity": "{:.3f}", "acc": "{:.3f}", "last |W-Z|": "{:.3f}"},
            title="G. §4.2 ADMM for L1 vs cardinality ADMM vs magnitude",
        )
    )


def section_h(seed, quick):
    train, val, test = _digits(seed)
    m = _train(mlp((64, 64, 64, 64, 10), seed=seed), train, 4 if quick else 15)
    rows = multi_granularity_prune(
        m,
        CE,
        train,
        val,
        test,
        n_layers=1,
        unit_fraction=0.25,
        sparsity=0.7,
        retrain_epochs=1 if quick else 3,
        seed=seed,
    )
    for r in rows:
        r["removed"] = str(r["removed"])
    print(
        format_table(
            rows,
            formats={"accuracy": "{:.3f}", "loss": "{:.3f}"},
            title="H. §8.2 layers -> units -> weights in one run",
        )
    )
    src = _train(mlp((64, 64, 10), seed=seed), train, 4 if quick else 15)
    rows = []
    for kind in ("flip", "rotate", "invert"):
        tgt = (domain_shift(train[0], kind), train[1])
        tgt_test = (domain_shift(test[0], kind), test[1])
        for r in cross_domain_prune(
            src,
            CE,
            train,
            tgt,
            tgt_test,
            0.8,
            finetune_epochs=1 if quick else 5,
            lr=0.05,
            seed=seed,
        ):
            rows.append({"shift": kind, **r})
    print(
        format_table(
            rows,
            formats={"sparsity": "{:.2f}", "accuracy": "{:.3f}", "loss": "{:.3f}"},
            title="H. §8.2 cross-domain: masks from source vs target (digits)",
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    argv_s = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    print(f"command: python benchmarks/bench_book_methods.py {argv_s}".rstrip())
    with threadpool_limits(1):
        section_a()
        section_b()
        section_c(args.seed, args.quick)
        section_d(args.seed, args.quick)
        section_e(args.seed, args.quick)
        section_f(args.seed, args.quick)
        section_g(args.seed, args.quick)
        section_h(args.seed, args.quick)
    print(f"wall time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
