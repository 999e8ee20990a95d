r"""Learning-rate schedules (``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``, ...).

Names, arguments and values follow ``torch.optim.lr_scheduler``: creating a
scheduler sets each group's ``lr`` to the epoch-0 value (and remembers the
original as ``group["initial_lr"]``); each :meth:`LRScheduler.step`, called
once per epoch after the optimiser's steps, moves to the next epoch.

Each schedule here is written in closed form, :math:`\eta_e = f(e)` from the
base rate, which is the formula a reader checks (:meth:`LRScheduler.get_lr`).

Chaining. Two schedulers on one optimiser compose as PyTorch's "chainable"
schedulers do: each one scales the rate it finds by the change of its own
formula. With :math:`a` the schedule's floor (``eta_min`` for the cosine, 0
for the others), the rate :math:`\ell` found in the group before step
:math:`e` and the schedule's own previous value :math:`f(e-1)`
(:math:`f(-1) = \eta_0`):

.. math::

    \ell \leftarrow a + \bigl(f(e) - a\bigr)\,\frac{\ell - a}{f(e-1) - a}.

For ``StepLR``, ``ExponentialLR`` and ``LinearLR`` (:math:`a = 0`) this
multiplies the schedules: ``StepLR`` then ``ExponentialLR`` give
:math:`\eta_0\,\gamma_1^{\lfloor e/s\rfloor}\gamma_2^{e}`. It is PyTorch's
recursive update written once; alone, a scheduler finds its own last value,
the fraction is exactly 1, and it sets :math:`f(e)` itself, to the bit. A rate changed
by hand between steps is scaled on in the same way. When :math:`f(e-1) = a`
(the cosine at ``T_max``) the previous fraction is kept; there PyTorch's
cosine adds instead, so a chained cosine run past ``T_max`` differs from
PyTorch's. To run schedules one *after* another, use :class:`SequentialLR`.

Pruned networks are usually retrained ("fine-tuned") with a smaller or
decaying learning rate; a short linear warm-up followed by cosine decay is a
common choice for both training and retraining.

Book: §5.2 (tuning the learning rate for retraining).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

from ..checks import check_finite, check_positive_int
from .optimizer import Optimizer


class LRScheduler:
    """Base class: sets ``group["lr"]`` of every parameter group once per epoch.

    Subclasses implement :meth:`get_lr`, the learning rates at epoch
    ``self.last_epoch`` (0 at creation), from ``self.base_lrs``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser whose learning rates are scheduled.

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``initial_lr``.
    last_epoch : int
        The current epoch (0 after creation, +1 per :meth:`step`).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be an nnprune.optim.Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._own_lrs = list(self.base_lrs)  # f(e - 1) of this schedule; f(-1) = base rate
        self._scales = [1.0] * len(self.base_lrs)  # what the other schedulers applied
        self.step()

    @property
    def _floor(self) -> float:
        """The rate :math:`a` the schedule scales towards (0; ``eta_min`` for the cosine)."""
        return 0.0

    def get_lr(self) -> list[float]:
        """Return the learning rate of every group at epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimiser (chained, see above).

        Raises
        ------
        ValueError
            If a new rate is not finite (nothing is changed then).
        """
        self.last_epoch += 1
        own = self.get_lr()  # f(e), the closed form
        a = self._floor
        scales, lrs = list(self._scales), []
        for i, (group, prev, new) in enumerate(
            zip(self.optimizer.param_groups, self._own_lrs, own, strict=True)
        ):
            if prev != a:
                scales[i] = (group["lr"] - a) / (prev - a)  # exactly 1.0 when alone
            lrs.append(new if scales[i] == 1.0 else a + (new - a) * scales[i])
        try:
            self._check_finite(lrs)
        except ValueError:
            self.last_epoch -= 1
            raise
        self._own_lrs, self._scales = list(own), scales
        self._set_lrs(lrs)

    def _check_finite(self, lrs: list[float]) -> None:
        for i, lr in enumerate(lrs):
            if not math.isfinite(lr):
                raise ValueError(
                    f"{type(self).__name__}: the lr of parameter group {i} must be finite, "
                    f"got {lr!r} at epoch {self.last_epoch}"
                )

    def _restart(self) -> None:
        """Start again at epoch 0 from the base rates, ignoring the current ones."""
        self.last_epoch = -1
        self._own_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self._scales = [1.0] * len(self._own_lrs)

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """Return the learning rates set by the last :meth:`step` (one per group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the scheduler's state (every attribute but the optimiser)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state returned by :meth:`state_dict`.

        The rates the scheduler last set are written back into the optimiser,
        so that a scheduler restored without its optimiser's state goes on
        where it stopped. (Chained schedulers: load the optimiser's state
        after theirs.)
        """
        self.__dict__.update(state_dict)
        self._set_lrs(self._last_lr)


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    .. math::

        \eta_e = \eta_0 \, \gamma^{\lfloor e / s \rfloor}

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    step_size : int
        :math:`s \ge 1`, epochs between decays.
    gamma : float, default 0.1
        Decay factor :math:`\gamma > 0`.

    Book: §5.2 (step schedule).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_positive_int("step_size", step_size)
        self.gamma = check_finite("gamma", gamma)
        if not self.gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma!r}")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch.

    .. math::

        \eta_e = \eta_0 \, \gamma^{e}

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    gamma : float
        Decay factor :math:`\gamma > 0`.

    Book: §5.2 (decaying the learning rate).
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_finite("gamma", gamma)
        if not self.gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma!r}")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        factor = self.gamma**self.last_epoch
        return [base_lr * factor for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the base rate down to ``eta_min`` over ``T_max`` epochs.

    .. math::

        \eta_e = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
                 \left(1 + \cos\frac{\pi e}{T_{\max}}\right)

    (Loshchilov & Hutter, 2017, "SGDR: Stochastic gradient descent with warm
    restarts", ICLR, without the restarts). Past ``T_max`` the cosine rises
    again, as in PyTorch; choose ``T_max`` = the number of epochs.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    T_max : int
        :math:`T_{\max} \ge 1`, epochs of one half-period.
    eta_min : float, default 0
        Final learning rate :math:`\eta_{\min} \ge 0`.

    Book: §5.2 (cosine schedule).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = check_positive_int("T_max", T_max)
        self.eta_min = check_finite("eta_min", eta_min)
        if self.eta_min < 0:
            raise ValueError(f"eta_min must be >= 0, got {eta_min!r}")
        super().__init__(optimizer)

    @property
    def _floor(self) -> float:
        return self.eta_min

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the rate linearly from ``start_factor`` to ``end_factor`` (warm-up).

    .. math::

        \eta_e = \eta_0 \left(f_s + (f_e - f_s) \frac{\min(e, T)}{T}\right)

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    start_factor : float, default 1/3
        :math:`f_s \in (0, 1]`, the factor at epoch 0.
    end_factor : float, default 1
        :math:`f_e \in [0, 1]`, the factor from epoch :math:`T` on.
    total_iters : int, default 5
        :math:`T \ge 1`, epochs of the ramp.

    Book: §5.2 (warm-up).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        self.start_factor = check_finite("start_factor", start_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor!r}")
        self.end_factor = check_finite("end_factor", end_factor)
        if not 0 <= self.end_factor <= 1:
            raise ValueError(f"end_factor must be in [0, 1], got {end_factor!r}")
        self.total_iters = check_positive_int("total_iters", total_iters)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        progress = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    r"""Run ``schedulers`` one after another, switching at the ``milestones``.

    Scheduler :math:`k` runs from epoch ``milestones[k-1]`` (0 for the first)
    and restarts its own count at 0 there, as ``torch.optim.lr_scheduler.SequentialLR``:
    ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)],
    milestones=[5])`` warms up for 5 epochs and then anneals over 95.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser; every scheduler must belong to it.
    schedulers : list of LRScheduler
        The schedules, in order (not ``SequentialLR`` themselves).
    milestones : list of int
        ``len(schedulers) - 1`` strictly increasing positive epochs.

    Book: §5.2 (warm-up then decay).
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int]
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be an nnprune.optim.Optimizer, got {type(optimizer).__name__}"
            )
        schedulers = list(schedulers)
        milestones = list(milestones)
        if len(schedulers) == 0:
            raise ValueError("SequentialLR needs at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, SequentialLR):
                raise TypeError(
                    f"schedulers[{i}] must be an LRScheduler other than SequentialLR, "
                    f"got {type(s).__name__}"
                )
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"schedulers[{i}] ({type(s).__name__}) belongs to another optimizer; "
                    "every scheduler must belong to the optimizer passed to SequentialLR"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"milestones must have len(schedulers) - 1 = {len(schedulers) - 1} entries, "
                f"got {len(milestones)}"
            )
        for m in milestones:
            check_positive_int("each milestone", m)
        if any(b <= a for a, b in zip(milestones, milestones[1:], strict=False)):
            raise ValueError(f"milestones must be strictly increasing, got {milestones!r}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        # Creating each scheduler already stepped it once and overwrote the rates:
        # undo that, then start the first one at epoch 0.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        for s in schedulers:
            s._restart()
        self.last_epoch = 0
        schedulers[0].step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        """Advance one epoch in the scheduler whose turn it is."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._restart()  # its step() below starts it at epoch 0, from the base rates
        scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def get_lr(self) -> list[float]:
        """Return the rates of the scheduler whose turn it is."""
        idx = bisect_right(self._milestones, self.last_epoch)
        return self._schedulers[idx].get_lr()

    def state_dict(self) -> dict[str, Any]:
        """Return this scheduler's state, with each sub-scheduler's state."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state returned by :meth:`state_dict`."""
        state = dict(state_dict)
        for s, sub in zip(self._schedulers, state.pop("_schedulers"), strict=True):
            s.load_state_dict(sub)
        self.__dict__.update(state)
        self._set_lrs(self._last_lr)
