r"""The quality bar of the three case studies (book §7), measured over seeds.

Targets (accuracy change after pruning and retraining, mean over seeds, in
points of test accuracy). The change is measured against the equal-budget
control ``dense+retrain``: the dense checkpoint trained, unpruned, for the
same retraining epochs as every pruned model (same learning rate, schedule
and optimiser), so that extra training is not counted as a gain of pruning.
The plain dense checkpoint is printed for reference.

* image: 80% weight sparsity within 1 point of dense; 50% of the filters
  removed within 2 points (plain CNN and ResNet on the 8x8 digits);
* text: at least half of the attention heads removed within 2 points;
* speech: 80% sparsity of the recurrent weights within 2 points.

PASS/FAIL is computed from the measured numbers; the figures are printed
either way. Nothing here is asserted by the test suite.

Usage::

    python benchmarks/bench_applications.py [--seeds 0 1 2] [--out figures/bench]
"""

from __future__ import annotations

import argparse
import time

from nnprune.casestudies import run_image_study, run_speech_study, run_text_study
from nnprune.experiments.casestudy import CONTROL
from nnprune.report import format_table, use_agg

# (study, model, method, largest accepted drop in points)
TARGETS = [
    ("image", "cnn", "magnitude 80%", 1.0),
    ("image", "resnet", "magnitude 80%", 1.0),
    ("image", "cnn", "filters -50%", 2.0),
    ("image", "resnet", "filters -50%", 2.0),
    ("text", None, "heads -50%", 2.0),
    ("speech", None, "recurrent 80%", 2.0),
]


def quality_bar(results: dict[str, list[dict]]) -> list[dict]:
    """One row per target: dense, control and pruned accuracy, the change vs the control."""
    rows = []
    for study, model, method, limit in TARGETS:
        for r in results[study]:
            if r["method"] != method or (model is not None and r["model"] != model):
                continue
            same = {d["method"]: d for d in results[study] if d["model"] == r["model"]}
            rows.append(
                {
                    "study": study,
                    "model": r["model"],
                    "method": method,
                    "dense_acc": same["dense"]["accuracy"],
                    "control_acc": same[CONTROL]["accuracy"],
                    "pruned_acc": r["accuracy"],
                    "delta_pts": r["delta_pts"],
                    "target": f">= -{limit:g}",
                    "result": "PASS" if r["delta_mean"] >= -limit else "FAIL",
                }
            )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="figures/bench")
    parser.add_argument("--quick", action="store_true", help="pipeline check only")
    args = parser.parse_args(argv)
    use_agg()
    seeds, start, results = tuple(args.seeds), time.perf_counter(), {}
    for name, run in (
        ("image", run_image_study),
        ("text", run_text_study),
        ("speech", run_speech_study),
    ):
        results[name] = run(seeds, args.quick, args.out)
        print()
    rows = quality_bar(results)
    print(
        format_table(
            rows,
            title=f"Quality bar over {len(seeds)} seed(s) {list(seeds)}: accuracy %, "
            f"delta_pts = pruned - {CONTROL} (the unpruned checkpoint retrained with the "
            "same budget), in points, mean ± std; dense_acc before retraining, for reference",
        )
    )
    print(f"\nwall time: {time.perf_counter() - start:.0f} s")
    return rows


if __name__ == "__main__":
    main()
