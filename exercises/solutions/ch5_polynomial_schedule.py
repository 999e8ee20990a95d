r"""Exercise ch5.polynomial_schedule: §5.2 剪枝算法的参数调优 (tuning pruning).

Task
----
Gradual pruning (Zhu & Gupta, 2017) raises the sparsity from :math:`s_i` to :math:`s_f`
between two training steps, fast at first and slowly at the end, when fewer weights are
left to lose. Write the schedule and the rule that says at which steps to prune (as
TF-MOT's ``PolynomialDecay`` and nnprune's ``pipeline.PolynomialDecay``).

Maths
-----
.. math::

    p = \min\!\Big(1, \max\!\Big(0, \frac{t - t_0}{t_{end} - t_0}\Big)\Big),\qquad
    s_t = s_f + (s_i - s_f)\,(1 - p)^{\text{power}}.

Prune at step :math:`t` when :math:`t_0 \le t \le t_{end}` and :math:`(t - t_0)` is a
multiple of ``frequency``.

Shapes
------
Scalars: ``polynomial_sparsity(step, initial, final, begin, end, power=3)`` -> float;
``should_prune(step, begin, end, frequency)`` -> bool.

Rules
-----
NumPy / math only.

Hint
----
Before ``begin`` the sparsity is ``initial`` and after ``end`` it stays ``final``: clip
:math:`p` to [0, 1].

Check your work: ``nnprune check ch5.polynomial_schedule``
"""


def polynomial_sparsity(step, initial, final, begin, end, power=3.0):
    """Target sparsity at ``step``: ``final + (initial - final) * (1 - p) ** power``."""
    # BEGIN SOLUTION
    # Why this is right: p = (t - begin) / (end - begin) clipped to [0, 1]; (1 - p) ** power falls
    # fast at first, so most pruning happens early (Zhu & Gupta).
    # Usual mistake: p ** power, or no clipping before begin and after end.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return final + (initial - final) * (1.0 - p) ** power
    # END SOLUTION


def should_prune(step, begin, end, frequency):
    """True when ``begin <= step <= end`` and ``(step - begin) % frequency == 0``."""
    # BEGIN SOLUTION
    return begin <= step <= end and (step - begin) % frequency == 0
    # END SOLUTION
