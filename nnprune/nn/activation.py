r"""Element-wise activations: ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``.

Each caches what its derivative needs and returns a *new* array from
``backward`` (it never writes into ``dout``).

Book: §1.1 (activation functions).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from .module import Module


class ReLU(Module):
    r""":math:`y = \max(x, 0)`, :math:`\partial L/\partial x = \delta \cdot 1[x > 0]`.

    The forward pass keeps its output :math:`y` (as PyTorch's ReLU does) and the
    backward pass uses :math:`1[y > 0] = 1[x > 0]`: one pass over :math:`x` in
    ``forward`` instead of two (a comparison and a product), the cheaper half
    when no gradient follows (inference).
    """

    def __init__(self) -> None:
        super().__init__()
        self._y = None

    def forward(self, x: Any) -> Any:
        self._y = get_xp(x).maximum(x, 0)  # same dtype and memory order as x
        return self._y

    def backward(self, dout: Any) -> Any:
        if self._y is None:
            raise RuntimeError("ReLU.backward called before forward")
        return dout * (self._y > 0)


class LeakyReLU(Module):
    r""":math:`y = x` for :math:`x > 0`, else :math:`\alpha x`; derivative 1 or :math:`\alpha`.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope :math:`\alpha` for negative inputs.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self._slope = None

    def forward(self, x: Any) -> Any:
        xp = get_xp(x)
        self._slope = xp.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)
        return x * self._slope

    def backward(self, dout: Any) -> Any:
        return dout * self._slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    r""":math:`y = \tanh x`, :math:`\partial L/\partial x = \delta (1 - y^2)`."""

    def __init__(self) -> None:
        super().__init__()
        self._y = None

    def forward(self, x: Any) -> Any:
        self._y = get_xp(x).tanh(x)
        return self._y

    def backward(self, dout: Any) -> Any:
        return dout * (1.0 - self._y * self._y)


class Sigmoid(Module):
    r""":math:`y = 1/(1+e^{-x})`, :math:`\partial L/\partial x = \delta\, y (1 - y)`.

    Computed from :math:`e = e^{-|x|} \le 1` as :math:`1/(1+e)` for :math:`x \ge 0`
    and :math:`e/(1+e)` for :math:`x < 0`: it never overflows and keeps full
    relative precision in the lower tail (:math:`\tfrac12(1+\tanh(x/2))` rounds
    :math:`\sigma(-50) \approx 2\cdot10^{-22}` to 0).
    """

    def __init__(self) -> None:
        super().__init__()
        self._y = None

    def forward(self, x: Any) -> Any:
        xp = get_xp(x)
        e = xp.exp(-xp.abs(x))
        self._y = xp.where(x >= 0, 1.0, e) / (1.0 + e)
        return self._y

    def backward(self, dout: Any) -> Any:
        return dout * self._y * (1.0 - self._y)
