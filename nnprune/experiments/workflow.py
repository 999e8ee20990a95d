r"""Your data and your model, checked against each other before any training.

The commands ``train``, ``prune``, ``evaluate``, ``sensitivity``, ``export`` and
``compare`` share these steps:

1. :func:`prepare_data`: load ``data`` (:func:`nnprune.data.sources.load_dataset`),
   flattened when the architecture takes vectors (``mlp``);
2. :func:`architecture`: the JSON description a checkpoint carries (name or
   import path, its settings, the input shape and number of classes);
3. :func:`build` then :func:`check_fits`: build the model and run two samples
   through it, so an input-size or class-count mismatch is a one-line
   ``ValueError`` before any training;
4. :func:`check_checkpoint_data`: a saved model (its architecture) against the
   data given on the command line.

Book: §1.2 (models), §1.3 (held-out evaluation), §3.3 (comparing methods).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..architectures import build_architecture, takes_vectors
from ..data.sources import Dataset, load_dataset
from ..nn.module import Module


def prepare_data(
    data: str | os.PathLike,
    model: str,
    seed: int = 0,
    *,
    label_column: str = "label",
    preprocess: dict[str, Any] | None = None,
    num_classes: int | None = None,
) -> Dataset:
    """Load ``data``; flatten every sample when ``model`` takes vectors (``mlp``).

    ``preprocess``: a checkpoint's record (see :mod:`nnprune.data.preprocess`),
    applied to the raw data instead of statistics fitted on it; ``num_classes``
    declares classes that may have no training sample.
    """
    dataset = load_dataset(
        data, seed, label_column=label_column, preprocess=preprocess, num_classes=num_classes
    )
    return dataset.flattened() if takes_vectors(model) else dataset


def architecture(model: str, dataset: Dataset, args: dict[str, Any] | None = None) -> dict:
    """``{"model", "args", "input_shape", "num_classes", "data"}`` for a checkpoint header.

    Token data adds its ``vocab_size`` and ``pad_id`` to the transformer's settings.
    """
    args = dict(args or {})
    if model == "transformer":
        for key in ("vocab_size", "pad_id"):
            if key in dataset.info:
                args.setdefault(key, dataset.info[key])
    args = {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}
    arch = {
        "model": model,
        "args": args,
        "input_shape": list(dataset.input_shape),
        "num_classes": int(dataset.num_classes),
        "data": str(dataset.name),
    }
    if "preprocess" in dataset.info:  # what the loader did to the raw features
        arch["preprocess"] = dataset.info["preprocess"]
    return arch


def build(arch: dict[str, Any], seed: int = 0) -> Module:
    """The untrained model described by ``arch`` (same seed, same initial weights)."""
    return build_architecture(
        arch["model"], arch["input_shape"], arch["num_classes"], seed, arch.get("args")
    )


def check_fits(model: Module, dataset: Dataset, what: str) -> None:
    """Run two test samples through ``model``; refuse a shape or class-count mismatch.

    Parameters
    ----------
    model : Module
    dataset : Dataset
    what : str
        How to name the model in the message (``"model 'mlp'"``, ``"checkpoint 'm.npz'"``).

    Raises
    ------
    ValueError
        One line naming the model, the data and both shapes.
    """
    X = dataset.splits.test[0][:2]
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    except Exception as exc:
        raise ValueError(
            f"{what} does not accept the samples of data {dataset.name!r} (shape "
            f"{dataset.input_shape}): {type(exc).__name__}: {exc}"
        ) from None
    finally:
        model.train(was_training)
    shape = tuple(np.shape(out))
    if shape != (len(X), dataset.num_classes):
        raise ValueError(
            f"{what} outputs shape {shape[1:]} per sample, but data {dataset.name!r} has "
            f"{dataset.num_classes} classes"
        )


def check_checkpoint_data(arch: dict[str, Any], dataset: Dataset, path: str) -> None:
    """Refuse data whose sample shape or class count differs from the checkpoint's."""
    saved = (tuple(arch["input_shape"]), int(arch["num_classes"]))
    given = (tuple(dataset.input_shape), int(dataset.num_classes))
    if saved != given:
        raise ValueError(
            f"checkpoint {path!r} was built for input shape {saved[0]} and {saved[1]} classes "
            f"(data {arch.get('data', '?')!r}), but data {dataset.name!r} has input shape "
            f"{given[0]} and {given[1]} classes"
        )


__all__ = ["architecture", "build", "check_checkpoint_data", "check_fits", "prepare_data"]
