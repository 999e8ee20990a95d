r"""Gradient checking: hand-written backward passes against central differences.

For a scalar objective :math:`L(\theta)` the central difference

.. math::

    \frac{\partial L}{\partial \theta_i} \approx
    \frac{L(\theta + h e_i) - L(\theta - h e_i)}{2h}

has error :math:`O(h^2)`. In float64 with :math:`h = 10^{-6}` a correct
backward agrees to about :math:`10^{-9}`; a wrong one is off by order 1.

The error reported per array is the relative sup-norm error

.. math::

    \varepsilon = \frac{\max_i |a_i - n_i|}{\max(\max_i |a_i|, \max_i |n_i|, 10^{-12})},

with :math:`a` the analytic and :math:`n` the numerical gradient.

To check a module, :func:`gradcheck` uses the objective
:math:`L = \sum_i y_i r_i` with a fixed random :math:`r` (so that every
output matters with a different weight), compares ``backward(r)`` with the
numerical gradient for the input and for every parameter, and raises
:class:`GradcheckError` with an analytic-vs-numeric message when an error
exceeds ``tol``. Masked parameters are checked on all entries: backward
returns dense gradients by contract (gradient-based pruning criteria need
them). While the numerical gradients are taken, the masks are lifted (the
pruned entries stay at zero, the point where backward was evaluated):
with a mask on, the mask rule of :class:`nnprune.nn.Parameter` reads every
perturbed pruned entry as zero again.

Book: §1.1 (backward propagation), used throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import get_xp, to_numpy
from .nn.parameter import masks_lifted
from .rng import SeedLike, as_generator

_R_STREAM = 0x67726164  # tag mixed into an int seed for the output weights r


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


@dataclass
class GradcheckReport:
    """Result of a gradient check.

    Attributes
    ----------
    errors : dict of str to float
        Relative error per checked array (``"input"``, ``"weight"``, ...).
    tol : float
        The tolerance used.
    """

    errors: dict[str, float] = field(default_factory=dict)
    tol: float = 1e-6

    @property
    def max_error(self) -> float:
        """Largest relative error over all checked arrays."""
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        """True when every error is below ``tol``."""
        return self.max_error < self.tol

    def __str__(self) -> str:
        rows = [f"  {name:<24s} {err:.2e}" for name, err in self.errors.items()]
        status = "OK" if self.ok else "FAILED"
        return f"gradcheck {status} (tol {self.tol:.0e}):\n" + "\n".join(rows)


def relative_error(analytic: Any, numeric: Any) -> float:
    """Relative sup-norm error between two arrays (see module docstring)."""
    a, n = to_numpy(analytic).astype(np.float64), to_numpy(numeric).astype(np.float64)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(n), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - n), initial=0.0) / scale)


def numerical_gradient(f: Callable[[], float], x: Any, eps: float = 1e-6) -> Any:
    """Central-difference gradient of the scalar ``f()`` with respect to array ``x``.

    ``x`` is perturbed *in place*, one entry at a time, and restored.

    Parameters
    ----------
    f : callable
        Takes no argument and returns the objective for the current ``x``.
    x : array
        A float64 array that ``f`` reads.
    eps : float, default 1e-6
        Step :math:`h`.

    Returns
    -------
    array
        Same shape as ``x``.
    """
    xp = get_xp(x)
    grad = xp.zeros_like(x)
    if not x.flags.c_contiguous:
        raise ValueError("numerical_gradient needs a C-contiguous array it can perturb in place")
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views of x and grad
    for i in range(x.size):
        old = float(flat[i])
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2.0 * eps)
    return grad


def _check_float64(name: str, arr: Any) -> None:
    if arr.dtype != np.float64:
        raise ValueError(
            f"gradcheck needs float64 {name}, got {arr.dtype}; call module.double() "
            "and pass float64 inputs"
        )


def gradcheck(
    module: Any,
    x: Any,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    seed: SeedLike = 0,
    check_input: bool = True,
    forward_kwargs: dict[str, Any] | None = None,
    setup: Callable[[], None] | None = None,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Check ``module.backward`` against central differences.

    Parameters
    ----------
    module : Module
        A module with float64 parameters (call ``module.double()`` first).
    x : array
        A float64 input batch. Keep it small: each entry costs two forwards.
    eps : float, default 1e-6
        Finite-difference step.
    tol : float, default 1e-6
        Largest accepted relative error.
    seed : int or Generator, default 0
        Draws the random output weights :math:`r` (an int seeds a stream
        distinct from ``np.random.default_rng(seed)``).
    check_input : bool, default True
        Also check ``dL/dx`` (turn off for integer inputs such as token ids).
    forward_kwargs : dict, optional
        Extra keyword arguments for ``forward`` (e.g. a padding mask).
    setup : callable, optional
        Called before every forward, e.g. to reset a Dropout generator so
        that every evaluation sees the same noise.
    raise_exception : bool, default True
        Raise :class:`GradcheckError` on failure (else just report).

    Returns
    -------
    GradcheckReport
        Relative error per array: ``"input"`` and each parameter name.

    Examples
    --------
    >>> import numpy as np
    >>> from nnprune import nn
    >>> from nnprune.gradcheck import gradcheck
    >>> layer = nn.Linear(4, 3, seed=0).double()
    >>> gradcheck(layer, np.random.default_rng(0).normal(size=(2, 4))).ok
    True
    """
    kwargs = forward_kwargs or {}
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if check_input:
        _check_float64("input", x)
    for n, p in params:
        _check_float64(f"parameter {n!r}", p.data)

    def run() -> Any:
        if setup is not None:
            setup()
        return module.forward(x, **kwargs)

    y = run()
    xp = get_xp(y)
    gen = as_generator(seed)
    if isinstance(seed, int | np.integer):
        # A tagged stream, so that r never equals an input drawn from the same seed:
        # with r = x, a normalisation layer's dL/dx is O(eps) and the check is vacuous.
        gen = np.random.default_rng([int(seed), _R_STREAM])
    r = xp.asarray(gen.normal(size=y.shape))

    def objective() -> float:
        return float((run() * r).sum())

    module.zero_grad()
    run()
    r_copy = r.copy()
    dx = module.backward(r)
    if not bool(xp.all(r == r_copy)):
        raise GradcheckError(f"{type(module).__name__}.backward modified its dout argument")
    if check_input and dx is None:
        raise GradcheckError(
            f"{type(module).__name__}.backward returned no input gradient "
            "(input_requires_grad is False): set it to True, or pass check_input=False"
        )

    report = GradcheckReport(tol=tol)
    largest = 0.0
    pairs = [("input", dx, x)] if check_input else []
    pairs += [(n, p.grad.copy(), p.data) for n, p in params]
    with masks_lifted(p for _, p in params):  # the dense gradient: pruned entries move too
        for name, analytic, wrt in pairs:
            numeric = numerical_gradient(objective, wrt, eps)
            largest = max(largest, float(np.max(np.abs(to_numpy(numeric)), initial=0.0)))
            report.errors[name] = relative_error(analytic, numeric)
    if largest == 0.0:
        raise GradcheckError(
            f"{type(module).__name__}: every numerical gradient is zero, so the check proves "
            "nothing; use inputs that reach the active region of every layer"
        )
    _raise_if_failed(report, type(module).__name__, raise_exception)
    return report


def gradcheck_loss(
    criterion: Any,
    prediction: Any,
    target: Any,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Check a loss's ``backward()`` against central differences of ``forward``.

    Parameters
    ----------
    criterion : Module
        A loss such as ``CrossEntropyLoss()``.
    prediction : array
        float64 logits or predictions.
    target : array
        Targets (held fixed).
    """
    _check_float64("prediction", prediction)
    criterion.forward(prediction, target)
    analytic = criterion.backward()
    numeric = numerical_gradient(lambda: criterion.forward(prediction, target), prediction, eps)
    report = GradcheckReport({"input": relative_error(analytic, numeric)}, tol)
    _raise_if_failed(report, type(criterion).__name__, raise_exception)
    return report


def _raise_if_failed(report: GradcheckReport, what: str, raise_exception: bool) -> None:
    if raise_exception and not report.ok:
        bad = {k: f"{v:.2e}" for k, v in report.errors.items() if v >= report.tol}
        raise GradcheckError(
            f"{what}: analytic and numerical gradients disagree (relative error > "
            f"{report.tol:.0e}) for {bad}\n{report}"
        )
