r"""Pruning schedules: when to prune and to which sparsity (TF-MOT semantics).

A schedule is called with the global training step and returns
``(should_prune, sparsity)``, exactly like ``tfmot.sparsity.keras``'s
``ConstantSparsity`` and ``PolynomialDecay``. Pruning happens at steps
``begin_step, begin_step + frequency, ...`` up to ``end_step``; afterwards the
mask is frozen.

Gradual pruning (Zhu & Gupta 2017, *To prune, or not to prune*) raises the
sparsity along a cubic curve, fast early and slowly late:

.. math::

    s_t = s_f + (s_i - s_f)\left(1 - \frac{t - t_0}{t_{end} - t_0}\right)^{3},
    \qquad t_0 \le t \le t_{end},

with :math:`s_i` the initial and :math:`s_f` the final sparsity.

Book: §3.2 (adaptive pruning), §8 (gradual pruning).
"""

from __future__ import annotations

import numbers

from ..checks import check_int, check_probability


class PruningSchedule:
    """Base class: ``__call__(step) -> (should_prune, sparsity)``."""

    begin_step: int
    end_step: int
    frequency: int

    def _should_prune(self, step: int) -> bool:
        in_range = step >= self.begin_step and (self.end_step == -1 or step <= self.end_step)
        return in_range and (step - self.begin_step) % self.frequency == 0

    def sparsity(self, step: int) -> float:
        """Target sparsity at ``step``."""
        raise NotImplementedError

    def __call__(self, step: int) -> tuple[bool, float]:
        step = check_int("step", step, minimum=0)
        return self._should_prune(step), self.sparsity(step)


class ConstantSparsity(PruningSchedule):
    """Prune to one fixed sparsity every ``frequency`` steps from ``begin_step``.

    Parameters
    ----------
    target_sparsity : float in [0, 1)
        The sparsity to keep.
    begin_step : int, default 0
        First step at which to prune.
    end_step : int, default -1
        Last step at which to prune (-1: no end).
    frequency : int, default 100
        Prune every this many steps.
    """

    def __init__(
        self, target_sparsity: float, begin_step: int = 0, end_step: int = -1, frequency: int = 100
    ) -> None:
        self.target_sparsity = check_probability("target_sparsity", target_sparsity)
        self.begin_step = check_int("begin_step", begin_step, minimum=0)
        self.end_step = check_int("end_step", end_step, minimum=-1)
        if self.end_step != -1 and self.end_step < self.begin_step:
            raise ValueError(f"end_step must be -1 or >= begin_step ({begin_step}), got {end_step}")
        self.frequency = check_int("frequency", frequency, minimum=1)

    def sparsity(self, step: int) -> float:
        return self.target_sparsity

    def __repr__(self) -> str:
        return (
            f"ConstantSparsity(target_sparsity={self.target_sparsity}, "
            f"begin_step={self.begin_step}, end_step={self.end_step}, "
            f"frequency={self.frequency})"
        )


class PolynomialDecay(PruningSchedule):
    r"""Zhu & Gupta's gradual schedule (``power=3``: cubic), as TF-MOT's ``PolynomialDecay``.

    .. math::

        s_t = s_f + (s_i - s_f)\,(1 - p)^{\text{power}},\qquad
        p = \min\!\left(1, \max\!\left(0, \frac{t - t_0}{t_{end} - t_0}\right)\right).

    Parameters
    ----------
    initial_sparsity, final_sparsity : float in [0, 1)
        :math:`s_i` and :math:`s_f`.
    begin_step, end_step : int
        :math:`t_0` and :math:`t_{end}` (``end_step > begin_step``).
    power : float, default 3
        Exponent of the decay.
    frequency : int, default 100
        Prune every this many steps.
    """

    def __init__(
        self,
        initial_sparsity: float,
        final_sparsity: float,
        begin_step: int,
        end_step: int,
        power: float = 3.0,
        frequency: int = 100,
    ) -> None:
        self.initial_sparsity = check_probability("initial_sparsity", initial_sparsity)
        self.final_sparsity = check_probability("final_sparsity", final_sparsity)
        self.begin_step = check_int("begin_step", begin_step, minimum=0)
        self.end_step = check_int("end_step", end_step, minimum=1)
        if self.end_step <= self.begin_step:
            raise ValueError(f"end_step must be > begin_step ({begin_step}), got {end_step}")
        if not isinstance(power, numbers.Real) or power <= 0:
            raise ValueError(f"power must be a positive number, got {power!r}")
        self.power = float(power)
        self.frequency = check_int("frequency", frequency, minimum=1)

    def sparsity(self, step: int) -> float:
        p = (step - self.begin_step) / (self.end_step - self.begin_step)
        p = min(1.0, max(0.0, p))
        s_i, s_f = self.initial_sparsity, self.final_sparsity
        return s_f + (s_i - s_f) * (1.0 - p) ** self.power

    def __repr__(self) -> str:
        return (
            f"PolynomialDecay(initial_sparsity={self.initial_sparsity}, "
            f"final_sparsity={self.final_sparsity}, begin_step={self.begin_step}, "
            f"end_step={self.end_step}, power={self.power}, frequency={self.frequency})"
        )


def iterative_sparsities(final_sparsity: float, rounds: int) -> list[float]:
    r"""Sparsity after each of ``rounds`` rounds that each prune the same fraction of survivors.

    Each round removes :math:`1 - (1 - P)^{1/n}` of the remaining weights, so
    after round :math:`r` the sparsity is :math:`1 - (1 - P)^{r/n}` (the
    lottery-ticket and Han et al. iterative protocols).

    Book: §5.1 (iterative pruning).
    """
    final_sparsity = check_probability("final_sparsity", final_sparsity)
    rounds = check_int("rounds", rounds, minimum=1)
    return [1.0 - (1.0 - final_sparsity) ** (r / rounds) for r in range(1, rounds + 1)]
