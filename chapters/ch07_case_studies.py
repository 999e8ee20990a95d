r"""Chapter 7: three case studies, image, text and speech (book §7.1–7.3).

What it shows
-------------
For each study a dense model is trained, copies of it are pruned with the
methods that fit the model family and retrained with the same budget, and a
measured before/after table is printed (parameters, non-zeros, FLOPs, bytes
dense and CSR, latency, test accuracy mean ± std over seeds) with a plot:

* §7.1 image: a plain CNN and a small ResNet on the 8x8 digits (CIFAR-10 with
  ``--cifar-root``): global magnitude 80% and 50% of the filters removed;
* §7.2 text: a 2-layer Transformer encoder on a synthetic set that needs word
  order and negation (AG News with ``--ag-news``): half the attention heads
  removed, and magnitude 80% of the ``Linear`` weights;
* §7.3 speech: Conv1d + GRU on synthetic speech-like words (FSDD with
  ``--fsdd-root``): 80% sparsity of the recurrent weights, and half of the
  hidden units removed.

The book's §7 quotes "ResNet-50 ... 138 million parameters" (ResNet-50 has
about 25.6M; 138M is VGG-16), "BERT 300 million" (BERT-base about 110M,
BERT-large about 340M) and accuracy gains without a source (docs/errata.md#s7).
This script reports only what it measures, on data that runs here.

Each pruned model gets the same retraining budget as an unpruned copy of the
dense checkpoint (the row ``dense+retrain``), and ``delta_pts`` is measured
against that copy: the gain of the extra epochs is not credited to pruning.

Runs in a few minutes on a 2-core machine with one seed (``--seeds 0 1 2``
for the mean ± std over three); ``--quick``: under 30 s. ``--backend cupy``
trains and times the models on a GPU (CuPy); without CuPy and a GPU the
script stops at once with a RuntimeError that says so.

Usage::

    python chapters/ch07_case_studies.py [--quick] [--seed 0] [--seeds 0 1 2]
        [--study image text speech] [--cifar-root DIR] [--ag-news DIR]
        [--fsdd-root DIR] [--out figures/ch07] [--backend numpy|cupy]
"""

from __future__ import annotations

from nnprune.backend import get_backend
from nnprune.casestudies import run_image_study, run_speech_study, run_text_study
from nnprune.report import chapter_parser, use_agg

STUDIES = ("image", "text", "speech")


def main(argv: list[str] | None = None) -> dict[str, list[dict]]:
    parser = chapter_parser(__doc__, "figures/ch07")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="several seeds for mean ± std (default: --seed only)",
    )
    parser.add_argument("--study", nargs="+", choices=STUDIES, default=list(STUDIES))
    parser.add_argument("--cifar-root", default=None, help="folder of CIFAR-10 files (optional)")
    parser.add_argument("--ag-news", default=None, help="folder with AG News train/test.csv")
    parser.add_argument("--fsdd-root", default=None, help="folder of FSDD WAV files (optional)")
    args = parser.parse_args(argv)
    get_backend(args.backend)  # fail now, not after training, when CuPy or a GPU is missing
    use_agg()
    seeds = tuple(args.seeds) if args.seeds else (args.seed,)
    results: dict[str, list[dict]] = {}
    if "image" in args.study:
        # In --quick mode only the plain CNN runs: the ResNet would not fit in the 30 s.
        models = ("cnn",) if args.quick else ("cnn", "resnet")
        results["image"] = run_image_study(
            seeds,
            args.quick,
            args.out,
            models=models,
            cifar_root=args.cifar_root,
            backend=args.backend,
        )
        print()
    if "text" in args.study:
        results["text"] = run_text_study(
            seeds, args.quick, args.out, ag_news=args.ag_news, backend=args.backend
        )
        print()
    if "speech" in args.study:
        results["speech"] = run_speech_study(
            seeds, args.quick, args.out, fsdd_root=args.fsdd_root, backend=args.backend
        )
    return results


if __name__ == "__main__":
    main()
