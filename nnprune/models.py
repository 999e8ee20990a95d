r"""Small model builders used by the chapter scripts, the CLI and the benchmarks.

Every builder returns an ordinary :class:`~nnprune.nn.Sequential`, so a reader
can print it, prune it and shrink it like any model they build by hand.

Book: §1.2 (MLP and CNN).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import nn
from .checks import check_positive_int, check_probability
from .rng import SeedLike, as_generator

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()


def mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    batchnorm: bool = False,
    dropout: float = 0.0,
    seed: SeedLike = 0,
) -> nn.Sequential:
    """Multi-layer perceptron ``Linear -> [BatchNorm1d] -> act -> [Dropout] -> ... -> Linear``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``(64, 300, 100, 10)``
        (LeNet-300-100 on 8x8 digits).
    activation : {"relu", "tanh", "sigmoid", "leaky_relu"}, default "relu"
        Non-linearity after every hidden layer.
    batchnorm : bool, default False
        Insert ``BatchNorm1d`` after every hidden ``Linear``.
    dropout : float in [0, 1), default 0
        Dropout probability after every hidden activation (0 = none).
    seed : int or numpy.random.Generator, default 0
        Source of the initial weights (and of the dropout noise).

    Returns
    -------
    Sequential
    """
    sizes = [check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    p = check_probability("dropout", dropout)
    rng = as_generator(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out, seed=rng))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(_activation(activation))
            if p > 0:
                layers.append(nn.Dropout(p, seed=rng))
    return nn.Sequential(*layers)


def small_cnn(
    in_channels: int = 1,
    num_classes: int = 10,
    image_size: int = 8,
    *,
    channels: Sequence[int] = (16, 32),
    batchnorm: bool = False,
    seed: SeedLike = 0,
) -> nn.Sequential:
    """A small CNN: ``[Conv3x3(pad 1) -> [BN] -> ReLU -> MaxPool2] x len(channels) -> Linear``.

    Parameters
    ----------
    in_channels : int, default 1
        Channels of the input images.
    num_classes : int, default 10
        Outputs of the classifier.
    image_size : int, default 8
        Height = width of the input; must be divisible by ``2 ** len(channels)``.
    channels : sequence of int, default (16, 32)
        Filters of each convolution block.
    batchnorm : bool, default False
        Insert ``BatchNorm2d`` after every convolution.
    seed : int or numpy.random.Generator, default 0
        Source of the initial weights.
    """
    in_channels = check_positive_int("in_channels", in_channels)
    num_classes = check_positive_int("num_classes", num_classes)
    image_size = check_positive_int("image_size", image_size)
    channels = [check_positive_int(f"channels[{i}]", c) for i, c in enumerate(channels)]
    if image_size % (2 ** len(channels)):
        raise ValueError(
            f"image_size must be divisible by 2**len(channels) = {2 ** len(channels)}, "
            f"got {image_size}"
        )
    rng = as_generator(seed)
    layers: list[nn.Module] = []
    c_in = in_channels
    for c_out in channels:
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, seed=rng))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c_out
    side = image_size // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(c_in * side * side, num_classes, seed=rng)]
    return nn.Sequential(*layers)


# ------------------------------------------------------------------ LeNet-5
def _image_shape(name: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(
            f"model {name!r} takes images (C, H, W), but the data's samples have shape "
            f"{tuple(input_shape)}"
        )
    return input_shape  # type: ignore[return-value]


def lenet5(
    input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10, *, seed: SeedLike = 0
) -> nn.Sequential:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling.

    ``Conv5x5(6, pad 2) -> ReLU -> MaxPool2 -> Conv5x5(16) -> ReLU -> MaxPool2 ->
    Linear(120) -> ReLU -> Linear(84) -> ReLU -> Linear(num_classes)``; on 28x28
    images the flattened features are 16 x 5 x 5 = 400.

    Book: §1.2.
    """
    c, h, w = _image_shape("lenet5", tuple(input_shape))
    h2, w2 = (h // 2 - 4) // 2, (w // 2 - 4) // 2
    if h2 < 1 or w2 < 1:
        raise ValueError(f"model 'lenet5' needs images of at least 12x12, got {h}x{w}")
    gen = as_generator(seed)
    return nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=2, seed=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * h2 * w2, 120, seed=gen),
        nn.ReLU(),
        nn.Linear(120, 84, seed=gen),
        nn.ReLU(),
        nn.Linear(84, num_classes, seed=gen),
    )
