r"""Small model builders used by the chapter scripts, the CLI and the benchmarks.

Every builder returns an ordinary :class:`~nnprune.nn.Sequential`, so a reader
can print it, prune it and shrink it like any model they build by hand.

Book: §1.2 (MLP and CNN).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import nn
from .nn._validate import check_positive_int, check_probability
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
        layers.append(nn.Linear(n_in, n_out, rng=rng))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(_activation(activation))
            if p > 0:
                layers.append(nn.Dropout(p, rng=rng))
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
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, rng=rng))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c_out
    side = image_size // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(c_in * side * side, num_classes, rng=rng)]
    return nn.Sequential(*layers)


# ------------------------------------------------------- architectures by name
def _seed_kw(cls: Any) -> str:
    """``"seed"`` or ``"rng"``: the name under which ``cls`` takes its random source."""
    params = inspect.signature(cls).parameters
    return "seed" if "seed" in params else "rng"


def _seeded(cls: Any, *args: Any, gen: Any, **kwargs: Any) -> Any:
    return cls(*args, **{_seed_kw(cls): gen}, **kwargs)


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
        _seeded(nn.Conv2d, c, 6, 5, padding=2, gen=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        _seeded(nn.Conv2d, 6, 16, 5, gen=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        _seeded(nn.Linear, 16 * h2 * w2, 120, gen=gen),
        nn.ReLU(),
        _seeded(nn.Linear, 120, 84, gen=gen),
        nn.ReLU(),
        _seeded(nn.Linear, 84, num_classes, gen=gen),
    )


def _build_mlp(
    input_shape, num_classes, seed, hidden=(300, 100), batchnorm=False, activation="relu"
):
    n_in = int(np.prod(input_shape))
    return mlp((n_in, *hidden, num_classes), batchnorm=batchnorm, activation=activation, seed=seed)


def _build_cnn(input_shape, num_classes, seed, channels=(16, 32), batchnorm=False):
    c, h, w = _image_shape("cnn", tuple(input_shape))
    if h != w:
        raise ValueError(f"model 'cnn' takes square images, got {h}x{w}")
    return small_cnn(c, num_classes, h, channels=channels, batchnorm=batchnorm, seed=seed)


def _build_lenet5(input_shape, num_classes, seed):
    return lenet5(input_shape, num_classes, seed=seed)


def _build_resnet(input_shape, num_classes, seed, widths=(16, 32), blocks_per_stage=1):
    from .models_resnet import small_resnet

    c, _, _ = _image_shape("resnet", tuple(input_shape))
    return small_resnet(c, num_classes, widths=widths, blocks_per_stage=blocks_per_stage, seed=seed)


def _build_transformer(
    input_shape,
    num_classes,
    seed,
    vocab_size=None,
    d_model=32,
    nhead=4,
    num_layers=1,
    dim_feedforward=64,
    pad_id=0,
):
    from .casestudies.text_model import TransformerClassifier

    if len(input_shape) != 1 or vocab_size is None:
        raise ValueError(
            "model 'transformer' takes token ids (T,) with a vocabulary (data 'text'), "
            f"got samples of shape {tuple(input_shape)}"
        )
    return _seeded(
        TransformerClassifier,
        vocab_size,
        num_classes,
        d_model=d_model,
        nhead=nhead,
        num_layers=num_layers,
        dim_feedforward=dim_feedforward,
        max_len=max(128, input_shape[0]),
        pad_id=pad_id,
        gen=as_generator(seed),
    )


def _build_gru(input_shape, num_classes, seed, conv=32, hidden=64):
    from .casestudies.speech_model import SpeechClassifier

    if len(input_shape) != 2:
        raise ValueError(
            "model 'gru' takes frame sequences (T, F) (data 'speech'), got samples of shape "
            f"{tuple(input_shape)}"
        )
    return _seeded(SpeechClassifier, input_shape[1], num_classes, conv, hidden, gen=seed)


# name -> (builder, whether it takes flattened vectors, what it is)
ARCHITECTURES: dict[str, tuple[Callable[..., nn.Module], bool, str]] = {
    "mlp": (_build_mlp, True, "Linear-ReLU stack; args: hidden (300, 100), batchnorm"),
    "cnn": (
        _build_cnn,
        False,
        "[Conv3x3-ReLU-MaxPool] x len(channels) -> Linear; args: channels (16, 32), batchnorm",
    ),
    "lenet5": (_build_lenet5, False, "LeNet-5: 2 conv (6, 16) + 3 Linear (120, 84, classes)"),
    "resnet": (
        _build_resnet,
        False,
        "small ResNet of BasicBlocks; args: widths (16, 32), blocks_per_stage 1",
    ),
    "transformer": (
        _build_transformer,
        False,
        "Transformer encoder classifier over token ids; args: d_model 32, nhead 4, num_layers 1",
    ),
    "gru": (_build_gru, False, "Conv1d + GRU over frames; args: conv 32, hidden 64"),
}


def is_import_path(model: str) -> bool:
    """True for ``"module:function"`` (a user's builder), False for a built-in name."""
    return isinstance(model, str) and ":" in model


def import_builder(path: str) -> Callable[..., nn.Module]:
    """Import ``"module:function"`` as Python's ``-m`` would: the current folder is searched too.

    Worker processes (and Dask workers) call this again by name, so the module
    must be importable there (same folder, or installed).

    Raises
    ------
    ValueError
        For a malformed path, a module that fails to import, or a missing function.
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"model {path!r}: an import path must look like 'module:function'")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, SyntaxError, errors raised by the module itself
        raise ValueError(
            f"model {path!r}: cannot import module {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise ValueError(f"model {path!r}: module {module_name!r} has no {attr!r}")
    if not callable(fn):
        raise ValueError(f"model {path!r}: {attr!r} is not callable")
    return fn  # type: ignore[return-value]


def takes_vectors(model: str) -> bool:
    """Whether the built-in ``model`` wants each sample flattened to a vector (``mlp``)."""
    return model in ARCHITECTURES and ARCHITECTURES[model][1]


def build_architecture(
    model: str,
    input_shape: Sequence[int],
    num_classes: int,
    seed: SeedLike = 0,
    args: dict[str, Any] | None = None,
) -> nn.Module:
    """Build a built-in architecture by name, or call a user's ``"module:function"``.

    Parameters
    ----------
    model : str
        A name in :data:`ARCHITECTURES` or an import path ``"module:function"``.
        A user's function is called with the keywords among ``input_shape``,
        ``num_classes`` and ``seed`` that it accepts, plus ``args``, and must
        return an nnprune :class:`~nnprune.nn.Module`.
    input_shape : sequence of int
        One sample's shape (flattened for ``mlp``).
    num_classes : int
    seed : int or numpy.random.Generator, default 0
        Initial weights.
    args : dict, optional
        The architecture's own settings (``{"hidden": [300, 100]}``, ...).

    Raises
    ------
    ValueError
        Unknown name, unknown setting, a failing import, a result that is not a Module.
    """
    args = dict(args or {})
    input_shape = tuple(int(s) for s in input_shape)
    if not isinstance(model, str):
        raise TypeError(f"model must be a name or 'module:function', got {type(model).__name__}")
    if is_import_path(model):
        fn = import_builder(model)
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        given = {"input_shape": input_shape, "num_classes": num_classes, "seed": seed}
        kwargs = {k: v for k, v in given.items() if k in params}
        try:
            built = fn(**kwargs, **args)
        except Exception as exc:
            raise ValueError(f"model {model!r} failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(built, nn.Module):
            raise ValueError(
                f"model {model!r} returned a {type(built).__name__}, not an nnprune Module"
            )
        return built
    if model not in ARCHITECTURES:
        raise ValueError(
            f"model {model!r} is neither a built-in architecture ({', '.join(ARCHITECTURES)}) "
            "nor an import path 'module:function'"
        )
    fn = ARCHITECTURES[model][0]
    valid = [
        p
        for p in inspect.signature(fn).parameters
        if p not in ("input_shape", "num_classes", "seed")
    ]
    for key in args:
        if key not in valid:
            raise ValueError(
                f"model {model!r} has no setting {key!r}; valid: {', '.join(valid) or 'none'}"
            )
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    return fn(input_shape, num_classes, seed, **args)
