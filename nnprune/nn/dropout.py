r"""``Dropout``: inverted dropout (Srivastava et al., 2014).

Book: §1.2 (regularisation).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_probability
from ..rng import SeedLike, as_generator
from ._validate import check_input
from .module import Module


class Dropout(Module):
    r"""Zero each input with probability :math:`p` in training mode.

    Inverted dropout scales the kept units so that the expectation is
    unchanged and evaluation mode is the identity:

    .. math::

        y = \frac{k \odot x}{1 - p},\qquad k_i \sim \mathrm{Bernoulli}(1 - p),\qquad
        \frac{\partial L}{\partial x} = \frac{k \odot \delta}{1 - p}.

    In evaluation mode (and for :math:`p = 0`) :math:`y = x` and
    :math:`\partial L/\partial x = \delta`.

    Parameters
    ----------
    p : float in [0, 1), default 0.5
        Probability of zeroing a unit.
    seed : int or numpy.random.Generator, optional
        Source of the noise. ``None`` draws from the process-wide generator
        (:func:`nnprune.manual_seed`) at each call. The noise is drawn on the
        host with NumPy and moved to the input's backend, so NumPy and CuPy
        runs drop the same units.

    Attributes
    ----------
    rng : numpy.random.Generator or None
        The generator; assign a fresh one to replay the same noise.

    References
    ----------
    N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov,
    "Dropout: A Simple Way to Prevent Neural Networks from Overfitting", JMLR 15, 2014.

    Book: §1.2.
    """

    def __init__(self, p: float = 0.5, seed: SeedLike = None) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.rng = None if seed is None else as_generator(seed)
        self._keep = None  # kept units of the last training forward; None = identity

    def forward(self, x: Any) -> Any:
        check_input(self, x)
        if not self.training or self.p == 0.0:
            self._keep = None
            return x
        xp = get_xp(x)
        keep = as_generator(self.rng).random(x.shape) >= self.p  # host draw, P(keep) = 1 - p
        self._keep = xp.asarray(keep)
        return x * self._keep * (1.0 / (1.0 - self.p))

    def backward(self, dout: Any) -> Any:
        if self._keep is None:
            return dout
        return dout * self._keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


__all__ = ["Dropout"]
