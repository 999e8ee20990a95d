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
    raise NotImplementedError("your code here")


def count_macs(weights, batch, nonzero_only=False):
    """MACs of one forward pass on ``batch`` rows (biases and ReLU not counted)."""
    raise NotImplementedError("your code here")


def predicted_speedup(macs_before, macs_after):
    """The speed-up the MACs promise: ``macs_before / macs_after``."""
    raise NotImplementedError("your code here")


def time_forward(weights, biases, x, repeats=7):
    """``(median_ms, times_ms)``: one warm-up call, then ``repeats`` timed calls."""
    raise NotImplementedError("your code here")


def latency_model(t1, t2, m1, m2):
    """``(a_ms, b_ms_per_mac)`` of ``t = a + b * MACs`` through ``(m1, t1)`` and ``(m2, t2)``."""
    raise NotImplementedError("your code here")


def explain(t_dense, t_pruned, macs_dense, macs_pruned):
    """A dict: ``predicted`` and ``measured`` speed-ups, ``overhead_ms`` (``a``) and
    ``overhead_share`` (``a / t_pruned``, the part of the pruned model's time that pruning
    cannot remove)."""
    raise NotImplementedError("your code here")
