r"""Exercise ch7.latency_vs_macs: §7.1 案例一：图像识别任务中的剪枝优化 (image case study).

Task
----
Papers report MACs (multiply-accumulates); users feel latency. Count the MACs of an MLP,
predict the speed-up of a pruned one from them, measure the real latency (a median of
several runs, because one run on a shared machine means little), and explain the gap with
one number: the fixed time per call that does not shrink with the MACs.

Maths
-----
A Linear layer :math:`(o, i)` on a batch of :math:`N` costs :math:`N\,o\,i` MACs, or
:math:`N \cdot \mathrm{nnz}(W)` if only non-zero weights count. Predicted speed-up:
:math:`\mathrm{MACs}_{before} / \mathrm{MACs}_{after}`. Measured latency is modelled as
:math:`t = a + b\,\mathrm{MACs}`: through two measurements,

.. math::

    b = \frac{t_1 - t_2}{M_1 - M_2},\qquad a = t_1 - b\,M_1,

and :math:`a` (ms per call: Python, memory allocation, launching each layer) is why a
model with 4x fewer MACs is less than 4x faster, the more so the smaller the model.
Zeroed weights in a dense matrix change neither the MACs the hardware does nor the
latency: only removed channels do.

Shapes
------
``weights[l]`` ``(out, in)``, ``biases[l]`` ``(out,)``, ``x`` ``(N, in)``. ``count_macs``
returns an int; ``time_forward`` returns ``(median_ms, times_ms)`` with ``repeats`` times;
``latency_model`` returns ``(a_ms, b_ms_per_mac)``; ``explain`` a dict (see its docstring).

Rules
-----
NumPy, ``math``, ``time`` and ``statistics``. Time with ``time.perf_counter()``.

Hint
----
Run the forward once before timing (the first call pays for memory allocation), then time
each of the ``repeats`` calls separately and take the median, not the mean: one run
disturbed by another program should not move the result.

Check your work: ``nnprune check ch7.latency_vs_macs``
"""

import time

import numpy as np


def mlp_forward(weights, biases, x):
    """Logits of the ReLU MLP (no ReLU after the last layer)."""
    # BEGIN SOLUTION
    h = x
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ w.T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h
    # END SOLUTION


def count_macs(weights, batch, nonzero_only=False):
    """MACs of one forward pass on ``batch`` rows (biases and ReLU not counted)."""
    # BEGIN SOLUTION
    # Why: each output of each row is one dot product of length `in`. Usual mistake:
    # forgetting the batch, or counting a zeroed weight as saved work in a dense product.
    per_row = sum(int(np.count_nonzero(w)) if nonzero_only else w.size for w in weights)
    return batch * per_row
    # END SOLUTION


def predicted_speedup(macs_before, macs_after):
    """The speed-up the MACs promise: ``macs_before / macs_after``."""
    # BEGIN SOLUTION
    return macs_before / macs_after
    # END SOLUTION


def time_forward(weights, biases, x, repeats=7):
    """``(median_ms, times_ms)``: one warm-up call, then ``repeats`` timed calls."""
    # BEGIN SOLUTION
    # Why: the median of several timed calls after a warm-up is robust to a run disturbed
    # by another process. Usual mistake: timing the loop once and dividing (a mean).
    mlp_forward(weights, biases, x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mlp_forward(weights, biases, x)
        times.append(1000.0 * (time.perf_counter() - start))
    return float(np.median(times)), times
    # END SOLUTION


def latency_model(t1, t2, m1, m2):
    """``(a_ms, b_ms_per_mac)`` of ``t = a + b * MACs`` through ``(m1, t1)`` and ``(m2, t2)``."""
    # BEGIN SOLUTION
    b = (t1 - t2) / (m1 - m2)
    return t1 - b * m1, b
    # END SOLUTION


def explain(t_dense, t_pruned, macs_dense, macs_pruned):
    """A dict: ``predicted`` and ``measured`` speed-ups, ``overhead_ms`` (``a``) and
    ``overhead_share`` (``a / t_pruned``, the part of the pruned model's time that pruning
    cannot remove)."""
    # BEGIN SOLUTION
    a, _ = latency_model(t_dense, t_pruned, macs_dense, macs_pruned)
    return {"predicted": predicted_speedup(macs_dense, macs_pruned),
            "measured": t_dense / t_pruned, "overhead_ms": a, "overhead_share": a / t_pruned}
    # END SOLUTION
