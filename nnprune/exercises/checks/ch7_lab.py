"""Checks of the chapter-7 lab exercise: latency vs MACs (§7.1).

Imported by :mod:`nnprune.exercises.checks.ch7` (the worker imports one module per chapter).
A shared machine makes timings noisy, so the checks grade what is exact (MAC counts, the
prediction, the latency model and its explanation, on given numbers) exactly, and the
measurement only for what a noisy machine cannot break: ``repeats`` positive times whose
median is the reported one.
"""

from __future__ import annotations

import math

import numpy as np

from ..harness import as_array, check, compare, function, require

EX = "ch7.latency_vs_macs"


def _mlp(widths=(64, 256, 256, 10), seed=0):
    rng = np.random.default_rng(seed)
    W = [rng.normal(size=(o, i)) / np.sqrt(i) for i, o in zip(widths[:-1], widths[1:],
                                                                strict=True)]  # fmt: skip
    return W, [rng.normal(size=o) for o in widths[1:]]


@check(EX, "mlp_forward: ReLU between the layers, none on the logits")
def _forward(student):
    fn = function(student, "mlp_forward")
    W, B = _mlp((8, 6, 5, 3))
    x = np.random.default_rng(1).normal(size=(4, 8))
    h = np.maximum(x @ W[0].T + B[0], 0)
    h = np.maximum(h @ W[1].T + B[1], 0)
    truth = h @ W[2].T + B[2]
    compare("mlp_forward(...)", fn(W, B, x.copy()), truth, case="MLP 8-6-5-3, x (4, 8)",
            mistakes=[("no ReLU after the last layer", np.maximum(truth, 0))])


@check(EX, "count_macs and predicted_speedup, dense and non-zero-only")
def _macs(student):
    count, speed = function(student, "count_macs"), function(student, "predicted_speedup")
    W, _ = _mlp()
    dense = sum(w.size for w in W)
    compare("count_macs(weights, 32)", count(W, 32), 32 * dense, case="MLP 64-256-256-10",
            mistakes=[("multiply by the batch: every row costs the same MACs", dense)])
    sparse = [w * (np.abs(w) > np.quantile(np.abs(w), 0.9)) for w in W]
    nnz = sum(int(np.count_nonzero(w)) for w in sparse)
    compare("count_macs(weights, 32, nonzero_only=True)", count(sparse, 32, True), 32 * nnz,
            case="the same MLP, 90% of each layer zeroed")
    compare("count_macs(weights, 32)", count(sparse, 32), 32 * dense,
            case="90% zeroed but stored dense (nonzero_only=False)",
            mistakes=[("a dense product multiplies the zeros too: count every entry unless "
                       "nonzero_only", 32 * nnz)])  # fmt: skip
    compare("predicted_speedup", speed(32 * dense, 32 * nnz), dense / nnz,
            case="dense vs 90% zeroed", mistakes=[("before / after, not after / before",
                                                   nnz / dense)])  # fmt: skip


@check(EX, "time_forward: repeats positive times, their median reported")
def _timing(student):
    fn = function(student, "time_forward")
    W, B = _mlp()
    x = np.random.default_rng(2).normal(size=(32, 64))
    got = fn(W, B, x.copy(), 5)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (median_ms, times_ms), got {type(got).__name__}")  # fmt: skip
    times = as_array(got[1], "times_ms").astype(float).reshape(-1)
    require(times.size == 5, f"repeats=5 but {times.size} times were returned",
            "time every call separately and return all of them")  # fmt: skip
    require(bool(np.all(np.isfinite(times)) and np.all(times > 0)),
            f"every time must be a positive number of ms, got {times.tolist()}")
    require(float(times.max()) < 10_000, f"times of up to {times.max():.0f} ms: milliseconds "
            "for a small MLP should be far below 10 s", "time.perf_counter() is in seconds: "
            "multiply by 1000")  # fmt: skip
    median = float(as_array(got[0], "median_ms"))
    compare("median_ms", median, float(np.median(times)), case="5 timed calls",
            mistakes=[("the median, not the mean: one disturbed run must not move it",
                       float(np.mean(times)))])  # fmt: skip


@check(EX, "latency_model and explain: the fixed cost a that MACs do not predict")
def _explain(student):
    model, explain = function(student, "latency_model"), function(student, "explain")
    t1, t2, m1, m2 = 2.0, 0.9, 4_000_000, 1_000_000  # given numbers: exact answers
    b = (t1 - t2) / (m1 - m2)
    a = t1 - b * m1
    got = model(t1, t2, m1, m2)
    require(isinstance(got, tuple | list) and len(got) == 2,
            f"return (a_ms, b_ms_per_mac), got {type(got).__name__}")  # fmt: skip
    case = "t = 2.0 ms at 4M MACs, 0.9 ms at 1M MACs"
    compare("b (ms per MAC)", got[1], b, case=case, rtol=1e-9, atol=0,
            mistakes=[("b = (t1 - t2) / (m1 - m2): time over MACs", 1 / b)])
    compare("a (ms)", got[0], a, case=case, rtol=1e-9, atol=1e-12,
            mistakes=[("a = t1 - b * m1 (the time left at zero MACs)", t1 + b * m1)])
    ex = explain(t1, t2, m1, m2)
    keys = ("predicted", "measured", "overhead_ms", "overhead_share")
    require(isinstance(ex, dict) and set(keys) <= set(ex),
            f"return a dict with the keys {list(keys)}, got {ex!r:.200}")  # fmt: skip
    truth = {"predicted": m1 / m2, "measured": t1 / t2, "overhead_ms": a,
             "overhead_share": a / t2}  # fmt: skip
    wrong = {"measured": [("measured speed-up = t_dense / t_pruned", t2 / t1)],
             "overhead_share": [("the share of the PRUNED model's time", a / t1)]}
    for k in keys:
        compare(k, as_array(ex[k], k).reshape(()), truth[k], case=case, rtol=1e-9, atol=1e-12,
                mistakes=wrong.get(k, ()))
    require(math.isclose(float(ex["predicted"]) / float(ex["measured"]), (m1 / m2) / (t1 / t2)),
            "predicted and measured speed-ups are inconsistent")
