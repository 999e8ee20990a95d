r"""Weight initialisers: He/Kaiming and Xavier/Glorot, drawn from a host generator.

For a weight with fan-in :math:`n_{in}` and fan-out :math:`n_{out}`
(for a convolution, channels times kernel area):

.. math::

    \text{Kaiming (He et al. 2015):}\quad
        \mathrm{std} = \frac{g}{\sqrt{n_{\text{mode}}}},\qquad
    \text{Xavier (Glorot \& Bengio 2010):}\quad
        \mathrm{std} = g\sqrt{\frac{2}{n_{in} + n_{out}}},

with gain :math:`g` (:math:`\sqrt 2` for ReLU). Uniform variants draw from
:math:`U(-\sqrt3\,\mathrm{std}, \sqrt3\,\mathrm{std})`. Names and defaults
follow ``torch.nn.init``; the trailing underscore means "fills the parameter
in place". Values are drawn with NumPy on the host, then moved to the
parameter's backend, so NumPy and CuPy runs start from the same weights.

Book: §1.1 (initialisation).
"""

from __future__ import annotations

import math

import numpy as np

from ..rng import SeedLike, as_generator
from .parameter import Parameter

_NONLINEARITIES = ("linear", "conv2d", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a non-linearity (as ``torch.nn.init.calculate_gain``)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(f"nonlinearity must be one of {_NONLINEARITIES}, got {nonlinearity!r}")


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of shape ``(out, in, *kernel)``."""
    if len(shape) < 2:
        raise ValueError(f"fan in/out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fill(param: Parameter, values: np.ndarray) -> Parameter:
    param.data = values.astype(param.dtype)
    return param


def _mode_fan(shape: tuple[int, ...], mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(
    param: Parameter,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: SeedLike = None,
) -> Parameter:
    """He-uniform: :math:`U(-b, b)`, :math:`b = g\\sqrt{3 / n_{mode}}`."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_mode_fan(param.shape, mode))
    bound = math.sqrt(3.0) * std
    return _fill(param, as_generator(seed).uniform(-bound, bound, size=param.shape))


def kaiming_normal_(
    param: Parameter,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: SeedLike = None,
) -> Parameter:
    """He-normal: :math:`N(0, g^2 / n_{mode})`."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_mode_fan(param.shape, mode))
    return _fill(param, as_generator(seed).normal(0.0, std, size=param.shape))


def xavier_uniform_(param: Parameter, gain: float = 1.0, seed: SeedLike = None) -> Parameter:
    """Glorot-uniform: :math:`U(-b, b)`, :math:`b = g\\sqrt{6/(n_{in}+n_{out})}`."""
    fan_in, fan_out = fan_in_and_fan_out(param.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(param, as_generator(seed).uniform(-bound, bound, size=param.shape))


def xavier_normal_(param: Parameter, gain: float = 1.0, seed: SeedLike = None) -> Parameter:
    """Glorot-normal: :math:`N(0, g^2 \\cdot 2/(n_{in}+n_{out}))`."""
    fan_in, fan_out = fan_in_and_fan_out(param.shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(param, as_generator(seed).normal(0.0, std, size=param.shape))


def uniform_(
    param: Parameter, low: float = 0.0, high: float = 1.0, seed: SeedLike = None
) -> Parameter:
    """Fill with :math:`U(\\text{low}, \\text{high})`."""
    return _fill(param, as_generator(seed).uniform(low, high, size=param.shape))


def zeros_(param: Parameter) -> Parameter:
    """Fill with zeros."""
    return _fill(param, np.zeros(param.shape))


def ones_(param: Parameter) -> Parameter:
    """Fill with ones."""
    return _fill(param, np.ones(param.shape))


def default_init_(weight: Parameter, bias: Parameter | None, seed: SeedLike = None) -> None:
    """PyTorch's default for ``Linear``/``Conv``: Kaiming-uniform with ``a=sqrt(5)``.

    That is :math:`W \\sim U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})`, and the bias
    is drawn from the same interval.
    """
    gen = as_generator(seed)
    kaiming_uniform_(weight, a=math.sqrt(5.0), seed=gen)
    if bias is not None:
        fan_in, _ = fan_in_and_fan_out(weight.shape)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, seed=gen)
