r"""The book's §7 numbers: checked against each other, and re-measured in miniature.

Book §7 makes 12 numeric claims, four per case study (parameters before → after,
accuracy before → after, "compute efficiency +x%", "storage +y%"):

======  ============  ============  =============  =========
case    parameters    accuracy      compute        storage
======  ============  ============  =============  =========
§7.1    138M → 20M    75% → 78%     +60%           +70%
§7.2    300M → 50M    90% → 92%     +50%           +60%
§7.3    500M → 100M   85% → 87%     +40%           +50%
======  ============  ============  =============  =========

:func:`section7_check_rows` checks them against each other
(:func:`nnprune.metrics.book_section7_check`) and names the real size of the model the
book names (:func:`nnprune.metrics.parameter_counts`). :func:`section7_claims` puts
each claim beside what the lesson's case studies measure in miniature (the book's
method of that section, at the equal-budget control's retraining budget), and says why
the full-size number cannot be reproduced here (no ImageNet, BERT or LibriSpeech
download, no training of 10^8 parameters on a CPU).

Book: §7 (corrected, see docs/errata.md#s7, #s7-3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..metrics.architectures import BOOK_SECTION7, book_section7_check
from .casestudy import CONTROL

#: The case study of each section, and why its full-size claim is not reproducible here.
CASES = {
    "7.1": ("image", "ImageNet and a 138M-parameter model: no download, no CPU training"),
    "7.2": ("text", "a 300M BERT on AG News: no download, no CPU training at that size"),
    "7.3": ("speech", "'C5B' is no known model; LibriSpeech is scored by WER, not accuracy"),
}


def _m(n: float) -> str:
    return f"{n / 1e6:g}M"


def section7_check_rows() -> list[dict[str, Any]]:
    """The book's §7 figures against each other, one row per case, for printing.

    Columns: ``§``, ``model (book)``, ``params`` (the book's before → after), ``real
    count`` (of the model the book names: ResNet-50, BERT-base; "C5B" is no known model),
    ``cut`` (the parameter reduction the book's own numbers imply), ``CSR cut`` (the
    storage cut in CSR with 32-bit values and indices), ``storage`` (the book's claim),
    ``speed-up`` (if FLOPs fell with the parameters), ``compute`` (the book's claim).

    Book: §7
    """
    rows = []
    for r in book_section7_check():
        named = r["named_model_params"]
        rows.append({
            "§": r["section"], "model (book)": r["model"],
            "params": f"{_m(r['params_before'])} → {_m(r['params_after'])}",
            "real count": "no such model" if named is None else f"{named:,}",
            "cut": f"{r['param_reduction_pct']:.1f}%",
            "CSR cut": f"{r['storage_cut_csr_pct']:.1f}%",
            "storage": f"+{r['book_storage_gain_pct']}%",
            "speed-up": f"{r['speedup_if_flops_follow_params']:.1f}x",
            "compute": f"+{r['book_compute_gain_pct']}%",
        })  # fmt: skip
    return rows


def _book_row(rows: Sequence[Mapping[str, Any]]) -> tuple[Mapping, Mapping, Mapping]:
    """The book-method row of the first model family, its dense row and its control row."""
    book = next(r for r in rows if r["method"].endswith("(book)"))
    same = [r for r in rows if r["model"] == book["model"]]
    dense = next(r for r in same if r["method"] == "dense")
    control = next(r for r in same if r["method"] == CONTROL)
    return book, dense, control


def _change(before: float, after: float) -> str:
    return f"{100 * (after / before - 1):+.1f}%" if before else "n/a"


def section7_claims(results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, str]]:
    """Each of §7's 12 claims beside this run's miniature measurement.

    Parameters
    ----------
    results : mapping of str to list of dict
        ``{"image": rows, "text": rows, "speech": rows}`` as the case studies return
        them (:func:`nnprune.casestudies.run_image_study` ...); a missing study gives
        "not run" rows.

    Returns
    -------
    list of dict
        ``{"§", "claim", "book", "in miniature"}`` for the 12 claims; the book's method
        row is the one whose method name ends in ``"(book)"``; accuracy change in points
        against the equal-budget control ``dense+retrain``.

    Book: §7
    """
    out = []
    for sec, _model, p0, p1, a0, a1, compute, storage in BOOK_SECTION7:
        study, _why = CASES[sec]
        book = {"parameters": f"{_m(p0)} → {_m(p1)}", "accuracy": f"{a0}% → {a1}%",
                "compute": f"+{compute}%", "storage": f"+{storage}%"}  # fmt: skip
        if study not in results:
            out += [{"§": sec, "claim": k, "book": v, "in miniature": f"not run (--study {study})"}
                    for k, v in book.items()]  # fmt: skip
            continue
        b, d, c = _book_row(results[study])
        delta = 100 * (b["acc_mean"] - c["acc_mean"])
        measured = {
            "parameters": f"{d['nonzeros']:,} → {b['nonzeros']:,} non-zeros "
                          f"({_change(d['nonzeros'], b['nonzeros'])})",
            "accuracy": f"{100 * d['acc_mean']:.1f}% → {100 * b['acc_mean']:.1f}% "
                        f"({delta:+.1f} vs control {100 * c['acc_mean']:.1f}%)",
            "compute": f"MACs {_change(d['flops_nz'], b['flops_nz'])} (counted, not timed)",
            "storage": f"{d['kB_dense']:.1f} kB dense → {b['kB_csr']:.1f} kB CSR "
                       f"({_change(d['kB_dense'], b['kB_csr'])})",
        }  # fmt: skip
        out += [{"§": sec, "claim": k, "book": book[k], "in miniature": measured[k]} for k in book]
    return out


__all__ = ["CASES", "section7_check_rows", "section7_claims"]
