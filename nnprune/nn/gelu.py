r"""``GELU``: the Gaussian error linear unit (Hendrycks & Gimpel, 2016).

The activation of BERT and GPT feed-forward blocks. Kept apart from
``activation.py`` because it needs the error function, which NumPy lacks.

Book: §1.2 (Transformers).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..backend import get_xp
from ._validate import check_input
from .module import Module

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_COEF = 0.044715


def _erf(xp: ModuleType) -> Callable[[Any], Any]:
    """``scipy.special.erf`` for NumPy, ``cupyx.scipy.special.erf`` for CuPy (lazy imports).

    The CuPy module is only imported when the input is already a CuPy array,
    the way ``nnprune.backend.get_sparse_module`` does for sparse matrices.
    """
    name = getattr(xp, "__name__", "")
    special = "cupyx.scipy.special" if name == "cupy" else "scipy.special"
    return importlib.import_module(special).erf


class GELU(Module):
    r"""Gaussian error linear unit, exact or with the tanh approximation.

    Exact (``approximate="none"``), with :math:`\Phi` and :math:`\varphi` the
    standard normal CDF and density:

    .. math::

        y = x\,\Phi(x) = \tfrac12 x\big(1 + \operatorname{erf}(x/\sqrt2)\big),\qquad
        \frac{\partial L}{\partial x} = \delta\,\big(\Phi(x) + x\,\varphi(x)\big).

    Tanh approximation (``approximate="tanh"``), with
    :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)` and :math:`t = \tanh u`:

    .. math::

        y = \tfrac12 x (1 + t),\qquad
        \frac{\partial L}{\partial x} = \delta\Big(\tfrac12(1 + t)
        + \tfrac12 x (1 - t^2)\sqrt{2/\pi}\,(1 + 3\cdot 0.044715\,x^2)\Big).

    Both run on NumPy and CuPy (the exact form uses ``scipy.special.erf`` or
    ``cupyx.scipy.special.erf``).

    Parameters
    ----------
    approximate : {"none", "tanh"}, default "none"
        PyTorch's argument name and values.

    References
    ----------
    D. Hendrycks and K. Gimpel, "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415, 2016.

    Book: §1.2.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._slope = None

    def forward(self, x: Any) -> Any:
        check_input(self, x)
        xp = get_xp(x)
        if self.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + _COEF * x * x * x))
            du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _COEF * x * x)
            self._slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
            return 0.5 * x * (1.0 + t)
        cdf = 0.5 * (1.0 + _erf(xp)(x * _INV_SQRT_2))
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        self._slope = cdf + x * pdf
        return x * cdf

    def backward(self, dout: Any) -> Any:
        if self._slope is None:
            raise RuntimeError("GELU.backward called before forward")
        return dout * self._slope

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


__all__ = ["GELU"]
