r"""Architectures by name, or your own builder by import path: what a checkpoint records.

:func:`build_architecture` builds ``model`` for a data set's input shape and
number of classes:

* a built-in name in :data:`ARCHITECTURES` (``mlp``, ``cnn``, ``lenet5``,
  ``resnet``, ``transformer``, ``gru``) with its settings (``{"hidden": [300,
  100]}``), the input size taken from the data;
* an import path ``"module:function"``: your function, called with the
  keywords among ``input_shape``, ``num_classes`` and ``seed`` that it
  accepts, plus your settings; it must return an nnprune ``Module``. The
  module is imported by name, the current folder searched first (as
  ``python -m`` does), so worker processes and Dask workers import it too.
  Modules of the standard library (``os:system``, ``subprocess:call``) are
  refused always: they build no models, and they are what a hostile file
  would name.

Settings (``args``) must be plain data: numbers, strings, booleans, ``None``
and lists of them, with names the builder's signature accepts
(:func:`check_args`), so a file cannot hand a builder an object.

:func:`nnprune.io.save_model` stores the name (or path), the settings, the
input shape and the number of classes, and :func:`nnprune.io.load_model`
calls :func:`build_architecture` again; an import path recorded in a file is
imported only when the user names it again (see :func:`nnprune.io.load_checkpoint`).

Book: §1.2 (models), §6 (the case-study models).
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
from .models import _image_shape, lenet5, mlp, small_cnn
from .rng import SeedLike, as_generator


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
    return TransformerClassifier(
        vocab_size,
        num_classes,
        d_model=d_model,
        nhead=nhead,
        num_layers=num_layers,
        dim_feedforward=dim_feedforward,
        max_len=max(128, input_shape[0]),
        pad_id=pad_id,
        seed=as_generator(seed),
    )


def _build_gru(input_shape, num_classes, seed, conv=32, hidden=64):
    from .casestudies.speech_model import SpeechClassifier

    if len(input_shape) != 2:
        raise ValueError(
            "model 'gru' takes frame sequences (T, F) (data 'speech'), got samples of shape "
            f"{tuple(input_shape)}"
        )
    return SpeechClassifier(input_shape[1], num_classes, conv, hidden, seed=seed)


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


def is_stdlib_module(module_name: str) -> bool:
    """Whether ``module_name`` (or its top-level package) belongs to Python's standard library."""
    top = module_name.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


_PLAIN = (bool, int, float, str, type(None))


def _is_plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple) and depth < 4:
        return all(_is_plain(v, depth + 1) for v in value)
    return False


def check_args(model: str, fn: Callable[..., Any], args: dict[str, Any]) -> None:
    """Refuse settings the builder ``fn`` does not take, or that are not plain data.

    Plain data: ``bool``, ``int``, ``float``, ``str``, ``None`` and lists of
    them (nested at most four deep), what a JSON header can hold.

    Raises
    ------
    ValueError
        Naming the model, the setting and what is accepted.
    """
    if not isinstance(args, dict):
        raise ValueError(f"model {model!r}: args must be a JSON object, got {type(args).__name__}")
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        raise ValueError(f"model {model!r}: the builder has no inspectable signature") from None
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = [p for p in params if p not in ("input_shape", "num_classes", "seed")]
    for key, value in args.items():
        if not isinstance(key, str) or (not takes_any and key not in valid):
            raise ValueError(
                f"model {model!r} has no setting {key!r}; valid: {', '.join(valid) or 'none'}"
            )
        if key in ("input_shape", "num_classes", "seed"):
            raise ValueError(f"model {model!r}: {key!r} comes from the data, not from args")
        if not _is_plain(value):
            raise ValueError(
                f"model {model!r}: setting {key!r} must be a number, string, bool, None or a "
                f"list of them, got {type(value).__name__}"
            )


def import_builder(path: str) -> Callable[..., nn.Module]:
    """Import ``"module:function"`` as Python's ``-m`` would: the current folder is searched too.

    Worker processes (and Dask workers) call this again by name, so the module
    must be importable there (same folder, or installed).

    Raises
    ------
    ValueError
        For a malformed path, a module of the standard library, a module that
        fails to import, or a missing function.
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"model {path!r}: an import path must look like 'module:function'")
    if is_stdlib_module(module_name):
        raise ValueError(
            f"model {path!r}: {module_name!r} is a module of Python's standard library, "
            "which builds no models; name your own 'module:function'"
        )
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
    if not isinstance(model, str):
        raise TypeError(f"model must be a name or 'module:function', got {type(model).__name__}")
    if args is not None and not isinstance(args, dict):
        raise ValueError(f"model {model!r}: args must be a JSON object, got {args!r}")
    args = dict(args or {})
    input_shape, num_classes = _check_sizes(model, input_shape, num_classes)
    if is_import_path(model):
        fn = import_builder(model)
        check_args(model, fn, args)
        params = inspect.signature(fn).parameters
        given = {"input_shape": input_shape, "num_classes": num_classes, "seed": seed}
        kwargs = {k: v for k, v in given.items() if k in params}
        try:
            built = fn(**kwargs, **args)
        except MemoryError:
            raise _too_big(model, input_shape, num_classes) from None
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
    check_args(model, fn, args)
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    try:
        return fn(input_shape, num_classes, seed, **args)
    except MemoryError:
        raise _too_big(model, input_shape, num_classes) from None


# A model this library trains on a CPU has far fewer outputs; 1e9 classes is a typo or a
# hostile file, and would end in an out-of-memory error deep inside a layer.
MAX_CLASSES = 1_000_000


def _check_sizes(
    model: str, input_shape: Any, num_classes: Any
) -> tuple[tuple[int, ...], int]:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or not shape or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(
            f"model {model!r}: input_shape must be a list of positive integers, got "
            f"{input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise ValueError(f"model {model!r}: num_classes must be an integer, got {num_classes!r}")
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(
            f"model {model!r}: num_classes must be in [1, {MAX_CLASSES:,}], got {num_classes!r}"
        )
    return tuple(int(s) for s in shape), int(num_classes)


def _too_big(model: str, input_shape: tuple[int, ...], num_classes: int) -> ValueError:
    return ValueError(
        f"model {model!r} for input shape {input_shape} and {num_classes:,} classes needs "
        "more memory than this machine has; check the data's classes and the model's settings"
    )
