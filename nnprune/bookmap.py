r"""The map from the book to the project: ``nnprune book sections | methods | pseudocode``.

For a reader holding the book (《基于稀疏性的神经网络剪枝优化》): every section and what it
names, and where the project shows it, as data a test can check.

* :data:`METHODS`: one :class:`Method` per method or algorithm the book names (27 and a
  few variants): the importable function, the lesson file and section that shows it, the
  graded exercise, the erratum anchor in ``docs/errata.md``.
* :data:`ITEMS`: the other things a section describes (a training loop, a metric, a case
  study), in the same form.
* the pseudocode blocks come from :data:`nnprune.pseudocode.BLOCKS`.

>>> from nnprune.bookmap import METHODS, method_records
>>> len(METHODS) >= 27
True
>>> method_records()[0]["lesson"]
'chapters/ch03_pruning_methods.py §3.1'

Book: all sections (see :mod:`nnprune.book` for their titles).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from .book import SECTIONS, heading

#: The lesson file of each chapter (appendix B's pseudocode is shown with §5.3's); a section
#: key ("3.3", "4.3", "8.2") names the file of a section when a chapter is split over files.
LESSONS: dict[str, str] = {
    "1": "chapters/ch01_neural_network_basics.py",
    "2": "chapters/ch02_sparsity.py",
    "3": "chapters/ch03_pruning_methods.py",
    "3.3": "chapters/ch03b_comparison.py",
    "4": "chapters/ch04_sparsity_optimisation.py",
    "4.3": "chapters/ch04b_gradient_sensitivity.py",
    "5": "chapters/ch05_pruning_pipeline.py",
    "5.3": "chapters/ch05b_pruning_code.py",  # with appendix B's blocks
    "6": "chapters/ch06_applications.py",
    "6.3": "chapters/ch06b_speech.py",
    "7": "chapters/ch07_case_studies.py",
    "8": "chapters/ch08_trends.py",
    "8.2": "chapters/ch08b_future_directions.py",  # a chapter split over files: per section
    "8.3": "chapters/ch08b_future_directions.py",
    "C": "chapters/appc_cifar_l1_project.py",
}


class Method(NamedTuple):
    """One thing the book names, and where nnprune has it.

    ``function`` is a dotted path (``package.module.name``); ``lesson_section`` the
    section whose ``lesson.section(...)`` heading shows it; ``exercise`` an id of
    ``nnprune exercises list`` or None; ``erratum`` an anchor of docs/errata.md or None.
    """

    method: str
    section: str
    function: str
    lesson_section: str
    exercise: str | None = None
    erratum: str | None = None

    @property
    def lesson(self) -> str:
        """``"chapters/ch04_sparsity_optimisation.py §4.2"``."""
        return f"{lesson_file(self.lesson_section)} §{self.lesson_section}"

    def record(self) -> dict[str, Any]:
        """The JSON record of ``nnprune book methods --json``."""
        return {
            "method": self.method,
            "section": self.section,
            "function": self.function,
            "lesson": self.lesson,
            "exercise": self.exercise,
            "erratum": self.erratum,
        }


def lesson_file(section: str) -> str:
    """The lesson file that has ``lesson.section(section)``: ``"4.2"`` -> ch04's file.

    >>> lesson_file("4.2"), lesson_file("4.3")
    ('chapters/ch04_sparsity_optimisation.py', 'chapters/ch04b_gradient_sensitivity.py')
    """
    return LESSONS.get(section) or LESSONS[section.split(".")[0]]


M = Method
#: The methods and algorithms the book names, in the book's order (27, then variants).
METHODS: tuple[Method, ...] = (
    M("weight pruning", "3.1", "nnprune.prune.l1_unstructured", "3.1", "ch3.l1_unstructured",
      "s3-1"),
    M("layer pruning", "3.1", "nnprune.prune.merge_linear", "3.1"),
    M("neuron pruning", "3.1", "nnprune.prune.prune_units", "3.1", "ch3.remove_neuron"),
    M("threshold pruning", "3.2", "nnprune.prune.threshold_unstructured", "3.2", "ch3.threshold"),
    M("importance pruning", "3.2", "nnprune.prune.global_unstructured", "3.2", None, "s3-2"),
    M("adaptive pruning", "3.2", "nnprune.pipeline.PolynomialDecay", "3.2",
      "ch5.polynomial_schedule"),
    M("L0 penalty", "4.1", "nnprune.regularizers.L0", "4.1", None, "s4-1-l0"),
    M("L1 penalty", "4.1", "nnprune.regularizers.L1", "4.1", None, "s4-1-l1"),
    M("L2 penalty", "4.1", "nnprune.regularizers.L2", "4.1"),
    M("ADMM (for the L1 problem)", "4.2", "nnprune.algorithms.lasso.lasso_admm", "4.2", None,
      "s4-2-admm"),
    M("IRLS", "4.2", "nnprune.algorithms.irls.irls_lasso", "4.2", None, "s4-2-irls"),
    M("Lasso", "4.2", "nnprune.algorithms.lasso.lasso_ista", "4.2", "ch4.soft_threshold",
      "s4-2-lasso"),
    M("GSP", "4.3", "nnprune.saliency.gsp_scores", "4.3", None, "s4-3-gsp"),
    M("AGSP", "4.3", "nnprune.saliency.agsp_scores", "4.3", None, "s4-3-agsp"),
    M("GSAP", "4.3", "nnprune.saliency.gsap_prune", "4.3", "ch4.taylor_importance", "s4-3-gsap"),
    M("weight/bias compensation", "5.1", "nnprune.prune.compensation.remove_units_compensated",
      "5.1"),
    M("threshold by cross-validation / grid search", "5.2", "nnprune.pipeline.threshold_sweep",
      "5.2", None, "s5-2"),
    M("linear learning-rate decay", "5.2", "nnprune.optim.lr_scheduler.LinearLR", "5.2"),
    M("cosine annealing", "5.2", "nnprune.optim.lr_scheduler.CosineAnnealingLR", "5.2"),
    M("full retraining", "5.2", "nnprune.pipeline.retrain", "5.2"),
    M("partial / frozen-layer retraining", "5.2", "nnprune.pipeline.retrain", "5.2"),
    M("sparse attention", "6.2", "nnprune.nn.sparse_attention.topk_attention", "6.2"),
    M("activation-sparsity pruning (APoZ)", "6.3", "nnprune.saliency.apoz.apoz_prune", "6.3"),
    M("dynamic pruning", "8.2", "nnprune.pipeline.RigL", "8.2", "ch8.regrow"),
    M("multi-granularity pruning", "8.2", "nnprune.pipeline.granularity.multi_granularity_prune",
      "8.2", None, "s8-2"),
    M("cross-domain pruning", "8.2", "nnprune.pipeline.granularity.cross_domain_prune", "8.2",
      None, "s8-2"),
    M("L1-penalty training (appendix C)", "C", "nnprune.algorithms.subgradient_l1_train", "C",
      "appc.l1_weights_only", "app-c"),
    # variants the book's names are often confused with, each shown beside its book form
    M("ADMM (cardinality form, Zhang et al. 2018)", "4.2", "nnprune.algorithms.admm_prune", "4.2",
      "ch4.admm_updates", "s4-2-admm"),
    M("reweighted L1 (Candès et al. 2008)", "4.2", "nnprune.algorithms.reweighted_l1_train",
      "4.2", None, "s4-2-irls"),
    M("Lasso by coordinate descent", "4.2", "nnprune.algorithms.lasso.lasso_cd", "4.2", None,
      "s4-2-lasso"),
    M("ADMM for the L1 problem on a network", "4.2", "nnprune.algorithms.admm_l1_train", "4.2",
      None, "s4-2-admm"),
    M("IRLS on a network (refreshed per-weight L2)", "4.2", "nnprune.algorithms.irls.irls_train",
      "4.2", None, "s4-2-irls"),
    M("the book's iterative GSP loop", "4.3", "nnprune.pipeline.gsp_iterative_prune", "4.3", None,
      "s4-3-gsp"),
    M("proximal L1 training of a network (ISTA)", "4.2", "nnprune.algorithms.ista_train", "4.2",
      "ch4.soft_threshold", "s4-2-lasso"),
    # the book's §6 pairings, each run beside the usual structured method at an equal budget
    M("Lasso (L1) training for image recognition", "6.1", "nnprune.algorithms.ista_train", "6.1",
      None, "s4-2-lasso"),
    M("filter pruning by L1 norm (Li et al. 2017)", "6.1", "nnprune.prune.prune_units", "6.1",
      "ch6.filter_removal"),
    M("AGSP for NLP (Transformer)", "6.2", "nnprune.saliency.agsp_scores", "6.2", None,
      "s4-3-agsp"),
    M("head importance (Michel et al. 2019)", "6.2", "nnprune.prune.head_importance",
      "6.2", "ch6.head_importance"),
    M("ADMM for speech recognition", "6.3", "nnprune.algorithms.admm_prune", "6.3", None,
      "s4-2-admm"),
)  # fmt: skip

#: What else a section describes, and where it is (same fields as a method).
ITEMS: tuple[Method, ...] = (
    M("training loop: init, forward, backward, iterate", "1.1", "nnprune.train.fit", "1.1",
      "ch1.softmax_ce_grad"),
    M("MLP", "1.2", "nnprune.models.mlp", "1.2"),
    M("CNN", "1.2", "nnprune.models.small_cnn", "1.2", "ch1.conv1d_backward"),
    M("RNN / LSTM / GRU", "1.2", "nnprune.nn.GRU", "6.3"),
    M("Transformer (self-attention)", "1.2", "nnprune.nn.MultiHeadSelfAttention", "6.2"),
    M("size, FLOPs, accuracy of a pruned model", "1.3", "nnprune.metrics.model_size", "1.3"),
    M("weight / activation / connection sparsity", "2.1", "nnprune.metrics.connection_sparsity",
      "2.1", "ch2.sparsity_measures", "s3-2"),
    M("sparse storage", "2.2", "nnprune.metrics.storage.bytes_per_format", "2.2",
      "ch2.csr_matvec"),
    M("sparse compute", "2.3", "nnprune.metrics.storage.dense_vs_csr_time", "2.3"),
    M("the 10 -> 5 'sparse' diagram", "2.3", "nnprune.plots.basics.tiny_layer", "2.3", None,
      "s2-3"),
    M("comparing methods", "3.3", "nnprune.experiments.method_study.study", "3.3", None, "s3-3"),
    M("single-layer perceptron", "1.2", "nnprune.models.mlp", "1.2"),
    M("the §3.2 claim 'prune the important connections'", "3.2",
      "nnprune.pseudocode.claims.prune_important", "3.2", None, "s3-2"),
    M("the pruning pipeline", "5.1", "nnprune.pipeline.prune_retrain", "5.1"),
    M("the §5.3 pseudocode", "5.3", "nnprune.pseudocode.s5_3.book_s5_3", "5.3",
      "ch5.corrected_loop", "s5-3"),
    M("case 1: image recognition", "7.1", "nnprune.casestudies.run_image_study", "7.1", None,
      "s7"),
    M("case 2: NLP", "7.2", "nnprune.casestudies.run_text_study", "7.2", None, "s7"),
    M("case 3: speech", "7.3", "nnprune.casestudies.run_speech_study", "7.3", None, "s7-3"),
    M("§7 parameter counts from architectures", "7",
      "nnprune.metrics.parameter_counts", "7.1", None, "s7"),
    M("§7's percentages against its own numbers", "7", "nnprune.metrics.book_section7_check",
      "7.1", None, "s7"),
    M("§7's 12 claims in miniature", "7",
      "nnprune.experiments.book_claims.section7_claims", "7.3", None, "s7"),
    M("§7.1 L1 + threshold (image)", "7.1",
      "nnprune.pipeline.l1_threshold_prune", "7.1", None, "s7"),
    M("§7.2 AGSP on the Transformer", "7.2", "nnprune.casestudies.text.agsp_prune_linear", "7.2",
      None, "s7"),
    M("§7.3 L1 + threshold (speech)", "7.3",
      "nnprune.experiments.casestudy.l1_threshold_trainer", "7.3", None, "s7-3"),
    M("2:4 sparsity (hardware support)", "8.1", "nnprune.prune.nm_structured", "8.1",
      "ch8.nm_mask"),
    M("gradual pruning", "8.1", "nnprune.pipeline.GradualPruning", "8.1"),
    M("lottery tickets with rewinding", "8.1", "nnprune.pipeline.lottery_ticket", "8.1"),
    M("interpretability: which inputs survive", "8.2",
      "nnprune.casestudies.trends.surviving_inputs", "8.2"),
    M("export: bytes and latency", "8.3", "nnprune.export.costs.export_costs", "8.3"),
    M("pruning tools", "A", "nnprune.prune.global_unstructured", "3.1", None, "app-a"),
    M("TF-Slim and the open-source frameworks", "A", "nnprune.prune.l1_unstructured", "3.1",
      None, "a-3"),
    M("environment (pip install ...)", "C", "nnprune.pseudocode.appc.cifar_data", "C", None,
      "c-1"),
    M("SimpleCNN at the book's settings", "C", "nnprune.pseudocode.appc.book_appc", "C",
      "appc.simple_cnn", "app-c"),
    M("analysis: 'one FC layer', before/after", "C", "nnprune.pseudocode.appc.corrected_appc",
      "C", None, "c-3"),
    M("SimpleCNN as printed: 784 rows, then the loss fails", "C",
      "nnprune.pseudocode.appc.show_book_failure", "C", "appc.simple_cnn", "app-c"),
    M("fc1 -> fc2 with no non-linearity: one Linear", "C", "nnprune.prune.merge_linear", "C",
      None, "c-3"),
)  # fmt: skip
del M


def resolve(path: str) -> Any:
    """Import ``package.module.name`` and return ``name`` (ImportError/AttributeError if not)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def method_records() -> list[dict[str, Any]]:
    """One record per method the book names (``nnprune book methods --json``)."""
    return [m.record() for m in METHODS]


def pseudocode_records(run: bool = False, quick: bool = True) -> list[dict[str, Any]]:
    """One record per pseudocode block; ``run=True`` runs each book/corrected pair."""
    from .pseudocode import BLOCKS, run_all

    return run_all(quick) if run else [b.record() for b in BLOCKS]


def _shown(key: str) -> str:
    """Where a section is shown: its lesson file and heading (a chapter: the file)."""
    if key == "A":
        return "docs/tools.md"
    if key == "B":
        return f"{lesson_file('5.3')} §5.3"
    lesson = LESSONS.get(key) or LESSONS.get(key.split(".")[0], "")
    return f"{lesson} §{key}" if "." in key or key == "C" else lesson


def section_rows() -> list[dict[str, Any]]:
    """Every section, then its items: what, where shown, function, exercise, erratum.

    A section's own row has ``function`` ``""``; its items follow it.
    """
    from .pseudocode import BLOCKS

    rows = []
    for s in SECTIONS:
        key = s.number
        rows.append({"section": key, "item": heading(key), "lesson": _shown(key),
                     "function": "", "exercise": None, "erratum": None})  # fmt: skip
        for m in METHODS + ITEMS:
            if m.section == key:
                rows.append({"section": key, "item": m.method, "lesson": m.lesson,
                             "function": m.function, "exercise": m.exercise,
                             "erratum": m.erratum})  # fmt: skip
        for b in BLOCKS:
            if b.section.split(".")[0] == key if key == "B" else b.section == key:
                rows.append({"section": key, "item": f"pseudocode {b.section}: {b.block}",
                             "lesson": _shown("B" if key == "B" else key),
                             "function": f"{b.path}:{b.book} and :{b.corrected}",
                             "exercise": None, "erratum": b.erratum})  # fmt: skip
    return rows


def format_sections(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as text: a section heading, then one indented line per item."""
    lines = []
    for r in rows:
        if r["function"] == "":
            lines.append(f"\n{r['item']}" + (f"\n  lesson: {r['lesson']}" if r["lesson"] else ""))
            continue
        extra = [f"exercise {r['exercise']}"] if r["exercise"] else []
        extra += [f"docs/errata.md#{r['erratum']}"] if r["erratum"] else []
        lines.append(f"  - {r['item']}: {r['function']}")
        lines.append(f"      shown in {r['lesson']}")
        if extra:
            lines.append(f"      {', '.join(extra)}")
    return "\n".join(lines).lstrip("\n")


def format_methods(records: Sequence[dict[str, Any]]) -> str:
    """The method records as a table under 100 columns (function and lesson on two lines)."""
    lines = [f"{'method':<44} {'§':<4} exercise / erratum"]
    for r in records:
        extra = " / ".join(x for x in (r["exercise"], r["erratum"] and "#" + r["erratum"]) if x)
        lines.append(f"{r['method'][:44]:<44} {r['section']:<4} {extra}".rstrip())
        lines.append(f"    {r['function']}")
        lines.append(f"    {r['lesson']}")
    return "\n".join(lines)


def format_pseudocode(records: Sequence[dict[str, Any]]) -> str:
    """The block records as text, one block per paragraph."""
    out = []
    for r in records:
        state = {True: "ran", False: "FAILED", None: "not run (--run runs it)"}[r["ran"]]
        out.append(f"{r['section']:<4} {r['block']}: {state}")
        out.append(f"     book:      {r['transcribed']}")
        out.append(f"     corrected: {r['corrected']}")
        if r["what_happened"]:
            import textwrap

            out.append(textwrap.fill(r["what_happened"], 100, initial_indent="     ",
                                     subsequent_indent="     "))  # fmt: skip
    return "\n".join(out)


__all__ = [
    "ITEMS",
    "LESSONS",
    "METHODS",
    "Method",
    "format_methods",
    "format_pseudocode",
    "format_sections",
    "lesson_file",
    "method_records",
    "pseudocode_records",
    "resolve",
    "section_rows",
]
