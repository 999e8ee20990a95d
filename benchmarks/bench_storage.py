"""Bytes on disk of a pruned model, dense to Deep Compression, and what quantisation costs.

Two models:

* LeNet-300-100 (784-300-100-10), untrained, every weight layer pruned to 90%
  by magnitude: file sizes only (they depend on the shapes and the sparsity,
  hardly on the values).
* 64-300-100-10 trained on the 8x8 digits, pruned globally by magnitude to
  90% and fine-tuned: file sizes *and* test accuracy after loading each file
  (quantisation changes the weights; the other formats are exact).

Files: ``io.save`` (dense weights + bit-packed masks, the default checkpoint),
``io.save(compress=True)``, ``sparse.save_sparse`` (CSR, zlib) and
``sparse.save_compressed`` (relative indices + k-means codebook, Han et al.
2016) at several bit widths. Ratios are to the unpruned model's ``io.save``
file. Targets (issue 13): the default checkpoint of a pruned model <= 1.05x
dense; Deep Compression below 0.05x.

Run::

    python benchmarks/bench_storage.py           # ~10 s
    python benchmarks/bench_storage.py --quick   # fewer epochs and bit widths

Book: §2.2 (storage benefits of sparsity).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from nnprune import io, models, nn, optim, prune, sparse
from nnprune.data import digits_splits
from nnprune.train import evaluate, fit

SPARSITY = 0.9
BITS = ((8, 8), (5, 5), (4, 5), (4, 4), (3, 4), (2, 4))
QUICK_BITS = ((5, 5), (3, 4))


def _prune_global(model: nn.Module, sparsity: float) -> None:
    params = [(module, attr) for _, module, attr, _ in model.prunable_parameters()]
    prune.global_unstructured(params, prune.L1Unstructured, amount=sparsity)


def _files(model: nn.Module, folder: Path, bits) -> dict[str, Path]:
    out = {
        "io.save": io.save(model, folder / "save.npz"),
        "io.save(compress=True)": io.save(model, folder / "savez.npz", compress=True),
    }
    sparse.save_sparse(model, folder / "csr.npz")
    out["save_sparse (CSR)"] = folder / "csr.npz"
    for cb, ib in bits:
        path = folder / f"dc_{cb}_{ib}.npz"
        sparse.save_compressed(model, path, codebook_bits=cb, index_bits=ib)
        out[f"save_compressed {cb}-bit codes, {ib}-bit indices"] = path
    return out


def _load(name: str, path: Path) -> dict[str, np.ndarray]:
    if name.startswith("io.save"):
        return io.load_state(path)[0]
    if name.startswith("save_sparse"):
        return sparse.load_sparse(path)
    return sparse.load_compressed(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    bits = QUICK_BITS if args.quick else BITS
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        lenet = models.mlp((784, 300, 100, 10), seed=args.seed)
        dense = io.save(lenet, folder / "dense.npz").stat().st_size
        _prune_global(lenet, SPARSITY)
        print(f"LeNet-300-100 (784-300-100-10), {SPARSITY:.0%} pruned; dense file {dense:,} B")
        print(f"{'file':<44} {'bytes':>10} {'/ dense':>8}")
        for name, path in _files(lenet, folder, bits).items():
            size = path.stat().st_size
            print(f"{name:<44} {size:>10,} {size / dense:>8.3f}")
            if name == "io.save":
                verdicts.append(
                    ("io.save of a 90%-pruned model <= 1.05x dense", size / dense <= 1.05)
                )
            if name.startswith("save_compressed 5-bit codes, 5"):
                verdicts.append(("Deep Compression (5/5 bits) < 0.05x dense", size / dense < 0.05))

        splits = digits_splits(seed=args.seed)
        model = models.mlp((64, 300, 100, 10), seed=args.seed)
        loss = nn.CrossEntropyLoss()
        epochs = 5 if args.quick else 20
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        fit(model, loss, opt, splits.train, epochs=epochs, seed=args.seed, progress=False)
        dense = io.save(model, folder / "dense.npz").stat().st_size
        acc_dense = evaluate(model, loss, splits.test)[1]
        _prune_global(model, SPARSITY)
        opt = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        fit(model, loss, opt, splits.train, epochs=epochs // 2, seed=args.seed, progress=False)
        acc_pruned = evaluate(model, loss, splits.test)[1]
        print(
            f"\n64-300-100-10 on the 8x8 digits: test accuracy {acc_dense:.4f} dense, "
            f"{acc_pruned:.4f} at {SPARSITY:.0%}\n(global magnitude, fine-tuned); "
            f"dense file {dense:,} B"
        )
        print(f"{'file':<44} {'bytes':>10} {'/ dense':>8} {'accuracy':>9} {'change':>8}")
        for name, path in _files(model, folder, bits).items():
            fresh = models.mlp((64, 300, 100, 10), seed=args.seed + 1)
            fresh.load_state_dict(_load(name, path))
            acc = evaluate(fresh, loss, splits.test)[1]
            size = path.stat().st_size
            print(
                f"{name:<44} {size:>10,} {size / dense:>8.3f} {acc:>9.4f} {acc - acc_pruned:>+8.4f}"
            )
    print("\nQuantisation (save_compressed) is lossy: weights become codebook centroids,")
    print("masks, biases and buffers are exact. The other formats are exact.")
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
