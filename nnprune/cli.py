r"""The ``nnprune`` command: ``compare`` (the main job), ``train`` and ``info``.

::

    nnprune compare                      # every method, 5 sparsities, 3 seeds, digits MLP
    nnprune compare --quick              # a tiny grid in seconds
    nnprune compare --config examples/compare.toml --workers 2 --out runs/mine
    nnprune compare --scheduler tcp://host:8786    # on a Dask cluster
    nnprune train --model cnn --epochs 10
    nnprune info
    nnprune exercises list|init DIR      # classroom exercises (docs/teaching.md)
    nnprune check ID|all [--path DIR]    # grade them

Errors in the options or the config reach you as one line,
``nnprune: error: ...``, with exit status 2.

Book: §3.3 (comparing methods).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

DESCRIPTION = """\
nnprune: sparsity-based neural-network pruning in NumPy.

Commands:
  compare   compare pruning methods at several sparsities and seeds (the ShrinkBench
            protocol): a table, results.csv/summary.csv/results.json and a plot
  train     train the digits MLP or CNN and print its test accuracy
  info      version, array backends and registered pruning methods
  exercises list the classroom exercises, or copy them into a folder (init DIR)
  check     grade exercise ID (or all) in a folder: PASS/FAIL per check, exit 1 on any FAIL
"""

COMPARE_HELP = """\
Run every method on the same trained dense model per seed: prune to each target
sparsity, retrain with the same budget, and report test accuracy (mean ± std over
seeds), achieved sparsity, compression ratio, theoretical speed-up, FLOPs, bytes
(dense and CSR) and measured latency. With no options: the default grid on the
built-in 8x8 digits (MLP 64-300-100-10, sparsities 0.5-0.98, seeds 0 1 2).
Options given here override the config file.
"""


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, so :func:`main` can return the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _csv_list(kind: type, what: str):
    def parse(text: str) -> list:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{what} must be a comma-separated list, got {text!r}")
        try:
            return [kind(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be a comma-separated list of {kind.__name__}s, got {text!r}"
            ) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``nnprune`` argument parser (subcommands ``compare``, ``train``, ``info``)."""
    from ._version import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _ArgumentParser(prog="nnprune", description=DESCRIPTION, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"nnprune {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{compare,train,info,exercises,check}")

    cmp = sub.add_parser(
        "compare",
        help="compare pruning methods (the main job)",
        description=COMPARE_HELP,
        formatter_class=fmt,
    )
    cmp.add_argument("--config", metavar="TOML", help="settings file (see examples/compare.toml)")
    cmp.add_argument(
        "--methods",
        type=_csv_list(str, "--methods"),
        metavar="A,B,...",
        help="methods to run (default: all registered; see `nnprune info`)",
    )
    cmp.add_argument(
        "--sparsities",
        type=_csv_list(float, "--sparsities"),
        metavar="S,...",
        help="target fractions of zero weights in [0, 1), e.g. 0.5,0.9,0.98",
    )
    cmp.add_argument(
        "--seeds",
        type=_csv_list(int, "--seeds"),
        metavar="N,...",
        help="seeds, one dense model each (default 0,1,2)",
    )
    cmp.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: one per CPU core; 1 = inline)",
    )
    cmp.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://host:8786 "
        "(needs pip install 'nnprune[distributed]')",
    )
    cmp.add_argument(
        "--out", default="runs/compare", metavar="DIR", help="output folder (default runs/compare)"
    )
    cmp.add_argument(
        "--quick", action="store_true", help="tiny grid: 2 sparsities, 1 seed, few epochs (seconds)"
    )
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")

    tr = sub.add_parser(
        "train",
        help="train the digits MLP or CNN, print test accuracy",
        description="Train a model on the built-in 8x8 digits with SGD + "
        "momentum and print its test accuracy.",
    )
    tr.add_argument(
        "--model",
        choices=["mlp", "cnn"],
        default="mlp",
        help="mlp: 64-300-100-10; cnn: two 3x3 conv blocks (16, 32) (default mlp)",
    )
    tr.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    tr.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling (0)")
    tr.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    tr.add_argument("--save", metavar="PATH", help="save the trained model (.npz, nnprune.io)")

    sub.add_parser(
        "info",
        help="version, backends and registered methods",
        description="Print the version, the available array backends and the "
        "registered pruning methods.",
    )
    _add_exercise_parsers(sub)
    return parser


# ---- classroom exercises (nnprune.exercises): `exercises list|init DIR`, `check ID|all`
def _add_exercise_parsers(sub) -> None:
    ex = sub.add_parser("exercises", help="list the classroom exercises or copy them (init DIR)")
    ex_sub = ex.add_subparsers(dest="exercises_command", metavar="{list,init}", required=True)
    ex_sub.add_parser("list", help="one exercise id per line, then its title")
    init = ex_sub.add_parser("init", help="copy every student file into DIR (never overwrites)")
    init.add_argument("dir", metavar="DIR")
    chk = sub.add_parser(
        "check",
        help="grade an exercise (or all) in a folder",
        description="Grade the student's file for ID (or every exercise: all) in --path. "
        "Exit status 0 when every check passes, 1 when any fails.",
    )
    chk.add_argument("id", nargs="?", metavar="ID", help="exercise id, or all")
    chk.add_argument("--path", default=".", metavar="DIR", help="student folder (default .)")
    chk.add_argument("--list", action="store_true", help="list the exercise ids and exit")
    chk.add_argument("--timeout", type=float, default=60.0, metavar="S",
                     help="seconds per exercise (default 60)")  # fmt: skip
    chk.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="exercises graded in parallel by check all (default 1)")  # fmt: skip
    chk.add_argument("-v", "--verbose", action="store_true",
                     help="check all: every exercise's report before the table")  # fmt: skip


def _exercises(args: argparse.Namespace) -> int:
    from . import exercises

    if args.command == "exercises" and args.exercises_command == "init":
        try:
            paths = exercises.init_exercises(args.dir)
        except FileExistsError as exc:  # a usage error: exit 2, one line
            raise _UsageError(str(exc)) from None
        print(f"copied {len(paths)} exercise files into {args.dir}; then: "
              f"nnprune check ID --path {args.dir}")  # fmt: skip
        return 0
    if args.command == "exercises" or args.list:
        print("\n".join(exercises.list_lines()))
        return 0
    if args.id is None:
        raise _UsageError("check needs an exercise ID or all (nnprune check --list shows them)")
    if args.id == "all":
        reports = exercises.grade_all(args.path, timeout=args.timeout, jobs=args.jobs)
        for report in reports if args.verbose else []:
            print(exercises.format_report(report) + "\n")
        print(exercises.format_summary(reports))
    else:
        reports = [exercises.grade(args.id, args.path, timeout=args.timeout)]
        print(exercises.format_report(reports[0]))
    return 0 if all(r.passed for r in reports) else 1


def _compare(args: argparse.Namespace) -> int:
    from .experiments import compare, load_config, make_config, quick_config
    from .experiments.config import replace

    config = load_config(args.config) if args.config else make_config()
    if args.quick:
        config = quick_config(config)
    config = replace(
        config,
        methods=args.methods,
        sparsities=args.sparsities,
        seeds=args.seeds,
        workers=args.workers,
    )
    start = time.perf_counter()
    result = compare(
        config, out=args.out, scheduler=args.scheduler, progress=False if args.no_progress else None
    )
    print(f"\n{len(result.rows)} runs in {time.perf_counter() - start:.1f} s; results written to:")
    for path in result.paths.values():
        print(f"  {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from . import io, nn, optim
    from .checks import check_positive_int
    from .experiments import make_config
    from .experiments.runner import build_model, load_splits
    from .train import evaluate, fit

    epochs = check_positive_int("--epochs", args.epochs)
    if not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    config = make_config({"compare": {"model": args.model, "seeds": [args.seed]}})
    splits = load_splits(config)
    model = build_model(config, args.seed)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        splits.train,
        splits.val,
        epochs=epochs,
        batch_size=config.batch_size,
        seed=args.seed,
    )
    elapsed = time.perf_counter() - start
    _, acc = evaluate(model, nn.CrossEntropyLoss(), splits.test)
    print(
        f"{args.model}: {model.num_parameters():,} parameters, {epochs} epoch(s) in "
        f"{elapsed:.1f} s, test accuracy {acc:.2%} ({len(splits.test[1])} images)"
    )
    if args.save:
        path = io.save(
            model,
            args.save,
            metadata={
                "model": args.model,
                "epochs": epochs,
                "seed": args.seed,
                "test_accuracy": acc,
            },
        )
        print(f"saved to {path}")
    return 0


def _info() -> int:
    import importlib.util

    from ._version import __version__
    from .backend import cupy_available
    from .experiments import available_methods, get_method

    print(f"nnprune {__version__} (Python {sys.version.split()[0]})")
    print("backends: numpy" + (", cupy" if cupy_available() else " (cupy: not available)"))
    for name, what in (("torch", "PyTorch parity tests"), ("dask", "nnprune compare --scheduler")):
        found = importlib.util.find_spec(name) is not None
        print(f"{name}: {'installed' if found else 'not installed'} ({what})")
    print("pruning methods (nnprune compare --methods ...):")
    for name in available_methods(batchnorm=True):
        method = get_method(name)
        note = " [needs batchnorm = true in [compare]]" if method.requires_batchnorm else ""
        print(f"  {name:<17} {method.summary}{note}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnprune`` command; return the exit status (0 ok, 2 usage or config error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "compare":
            return _compare(args)
        if args.command == "train":
            return _train(args)
        if args.command in ("exercises", "check"):
            return _exercises(args)
        return _info()
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except (_UsageError, ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"nnprune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnprune: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
