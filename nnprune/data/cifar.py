r"""Read CIFAR-10 from a folder you already have: the binary or the python batches.

nnprune never downloads anything. CIFAR-10 (Krizhevsky, 2009) comes in two
official archives, both 10 classes of 32x32 colour images, five training
batches of 10000 images and one test batch of 10000:

* **binary version** (``cifar-10-binary.tar.gz`` -> ``cifar-10-batches-bin/``,
  **recommended**): ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
  ``test_batch.bin``, each a run of 3073-byte records::

      label   1 byte, 0-9
      pixels  3072 bytes: 1024 red, 1024 green, 1024 blue, each 32x32 row-major

  Reading it is ``numpy.frombuffer``: no code in the file is ever run.

* **python version** (``cifar-10-python.tar.gz`` -> ``cifar-10-batches-py/``):
  ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``, each a pickled dict
  with ``b'data'`` (a ``(10000, 3072)`` uint8 array, same pixel layout) and
  ``b'labels'`` (a list of ints).

**The risk of pickles.** Unpickling calls whatever callables the file names,
so a tampered ``data_batch_1`` can run arbitrary code (``os.system``, ...) the
moment ``pickle.load`` reads it. nnprune reads these files with
:class:`RestrictedUnpickler`, whose ``find_class`` hands out only the few
callables a NumPy array pickle needs (``numpy._core.multiarray._reconstruct``
under its NumPy 1 and 2 names, ``numpy.ndarray``, ``numpy.dtype``, and
``_codecs.encode`` limited to the ``latin1`` codec, which Python 3 uses to
pickle bytes at protocol 2) and refuses every other global with an error
before anything is called. Those callables are guarded too: ``numpy.ndarray``
cannot be called, ``_reconstruct`` only makes the empty ``(0,)`` array a
NumPy pickle starts from (never uninitialised memory of a size the file
chooses), ``numpy.dtype`` only plain numeric types, and the array's
``BUILD`` step must bring exactly the bytes its shape declares. Before
unpickling, :func:`check_pickle` walks the opcodes without running them and
refuses protocols above 4 and any length, frame or memo index larger than the
file (so a 60-byte file cannot make the unpickler allocate terabytes). The
loaded dict is then checked: keys, dtype, shape and label range. This closes
the code-execution hole of plain ``pickle.load``; the binary version needs no
unpickling at all, so prefer it.

Book: §6 (image case study), appendix C (CNN on CIFAR-10).
"""

from __future__ import annotations

import codecs
import io
import math
import os
import pickle
import pickletools
import struct
from pathlib import Path
from typing import Any

import numpy as np

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32  # 3072 bytes per image
RECORD_BYTES = 1 + PIXELS  # 3073: label byte + pixels
_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
_TEST = ["test_batch"]
_SUBFOLDERS = {"bin": "cifar-10-batches-bin", "py": "cifar-10-batches-py"}


class ForbiddenPickleError(pickle.UnpicklingError):
    """A pickle named a callable outside :class:`RestrictedUnpickler`'s allow-list."""


def _latin1_encode(obj: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` use it, and nothing else."""
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(obj, str):
        raise ForbiddenPickleError(
            f"refusing _codecs.encode({type(obj).__name__}, {encoding!r}): only latin1 "
            "encoding of a str is allowed"
        )
    return obj.encode("latin1", errors)


_SAFE_KINDS = "biuf"  # bool, signed, unsigned, float: no objects, records or sub-arrays


class _PickledDtype:
    """What a pickle's ``numpy.dtype(...)`` asked for, checked; numpy's own dtype ``__setstate__``
    never sees the file's state (only a byte order is taken from it)."""

    def __init__(self, obj: Any = None, align: Any = False, copy: Any = False) -> None:
        if isinstance(obj, bytes):
            obj = obj.decode("latin1")
        if not isinstance(obj, str) or len(obj) > 8:
            raise ForbiddenPickleError(f"refusing numpy.dtype({obj!r}): a short type code only")
        try:
            dtype = np.dtype(obj)
        except TypeError as exc:
            raise ForbiddenPickleError(f"refusing numpy.dtype({obj!r}): {exc}") from None
        if dtype.kind not in _SAFE_KINDS or dtype.fields is not None or dtype.subdtype:
            raise ForbiddenPickleError(
                f"refusing numpy.dtype({obj!r}): only plain numeric dtypes are allowed"
            )
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 5 or any(x is not None for x in state[2:5]):
            raise ForbiddenPickleError("refusing a dtype state with sub-arrays or fields")
        if state[1] in ("<", ">", b"<", b">"):
            order = state[1].decode() if isinstance(state[1], bytes) else state[1]
            self.dtype = self.dtype.newbyteorder(order)


class _PickledArray(np.ndarray):
    """The array class a pickle may name: built empty, filled only by a checked ``__setstate__``.

    ``numpy.ndarray(...)`` called by the file is refused (it would allocate an
    uninitialised array of any size); ``_reconstruct`` may only make the empty
    ``(0,)`` array a NumPy pickle starts from; the ``BUILD`` step must bring
    exactly ``prod(shape) * itemsize`` bytes of a plain numeric dtype.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> _PickledArray:
        raise ForbiddenPickleError("refusing numpy.ndarray(...) in a pickle")

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise ForbiddenPickleError("refusing an array state other than a 5-tuple")
        version, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _PickledDtype):
            raise ForbiddenPickleError("refusing an array state without a checked dtype")
        if (
            not isinstance(shape, tuple)
            or len(shape) > 32
            or not all(isinstance(d, int) and d >= 0 for d in shape)
        ):
            raise ValueError(f"array state has an invalid shape {shape!r}")
        if isinstance(raw, str):
            raw = raw.encode("latin1")
        if not isinstance(raw, bytes | bytearray):
            raise ForbiddenPickleError(f"refusing array data of type {type(raw).__name__}")
        expected = math.prod(shape) * dtype.dtype.itemsize
        if len(raw) != expected:
            raise ValueError(
                f"array state declares shape {shape} of {dtype.dtype} ({expected} bytes) but "
                f"holds {len(raw)} bytes"
            )
        np.ndarray.__setstate__(self, (version, shape, dtype.dtype, bool(fortran), bytes(raw)))


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> _PickledArray:
    """``numpy._core.multiarray._reconstruct`` as array pickles use it: the empty start array."""
    if subtype is not _PickledArray or tuple(shape) != (0,):
        raise ForbiddenPickleError(
            f"refusing _reconstruct({getattr(subtype, '__name__', subtype)}, {shape!r}): only the "
            "empty (0,) array a NumPy pickle starts from is allowed"
        )
    return np.ndarray.__new__(_PickledArray, (0,), np.uint8)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _PickledArray,
    ("numpy", "dtype"): _PickledDtype,
    ("_codecs", "encode"): _latin1_encode,
}
_MAX_PROTOCOL = 4  # numpy pickles arrays at protocol 5 through other callables (out-of-band)
_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}


def check_pickle(raw: bytes, name: str = "pickle") -> None:
    """Walk the opcodes of ``raw`` without running any (``pickletools.genops``).

    Refuses, before the unpickler allocates anything: protocols above 4
    ("unsupported protocol"), truncated data or lengths that claim more bytes
    than the file has, frames and memo indices larger than the file, and bytes
    after the ``STOP`` opcode.

    Raises
    ------
    ValueError
        Naming ``name``.
    """
    end = 0
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(raw)):
            if op.name == "PROTO" and arg > _MAX_PROTOCOL:
                raise ValueError(
                    f"{name} uses unsupported pickle protocol {arg}; the CIFAR-10 python batches "
                    f"use protocol 2 (this reader accepts 0-{_MAX_PROTOCOL})"
                )
            if (op.name == "FRAME" or op.name in _MEMO_OPS) and arg > len(raw):
                raise ValueError(f"{name}: opcode {op.name} at byte {pos} declares {arg}")
            end = pos + 1
    except ValueError as exc:
        if str(exc).startswith(name):
            raise
        raise ValueError(f"{name} is truncated or not a valid pickle ({exc})") from None
    if end != len(raw):
        raise ValueError(f"{name} has {len(raw) - end} bytes after the end of the pickle")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals a NumPy array pickle needs.

    ``find_class`` is the one place an unpickler turns a name in the file into
    a Python object it may later call; every name outside the allow-list
    raises ``pickle.UnpicklingError`` naming it, before anything runs. The
    callables it hands out are guarded (see the module docstring); run
    :func:`check_pickle` on the bytes first to bound what the file may allocate.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in _ALLOWED)
            raise ForbiddenPickleError(
                f"forbidden global {module}.{name} in pickle; only {allowed} are allowed "
                "(the file may be tampered with; prefer the CIFAR-10 binary version)"
            ) from None


def _check_labels(labels: np.ndarray, name: str) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = labels[(labels < 0) | (labels > 9)][0]
        raise ValueError(f"{name}: labels must be in 0..9, found {int(bad)}")
    return labels.astype(np.int64)


CIFAR100_RECORD_BYTES = 2 + PIXELS  # 3074: coarse label, fine label, pixels


def _refuse_cifar100(raw: bytes, name: str) -> None:
    """Refuse a CIFAR-100 binary file: its records are one byte longer (two labels).

    Read as CIFAR-10 it would shift every image by one byte more per record.
    A size that is a multiple of 3074 bytes and not of 3073 is CIFAR-100; one
    that is a multiple of both (N a multiple of 3073) is CIFAR-100 when every
    record read that way has a coarse label below 20 and a fine one below 100,
    some of them 10 or more.
    """
    n100, rest100 = divmod(len(raw), CIFAR100_RECORD_BYTES)
    if rest100 or n100 == 0:
        return
    if len(raw) % RECORD_BYTES:
        looks = True
    else:
        labels = np.frombuffer(raw, np.uint8).reshape(n100, CIFAR100_RECORD_BYTES)[:, :2]
        looks = bool(np.all(labels[:, 0] < 20) and np.all(labels[:, 1] < 100))
        looks = looks and bool(np.any(labels[:, 1] >= 10))
    if looks:
        raise ValueError(
            f"{name} looks like a CIFAR-100 binary file ({n100} records of "
            f"{CIFAR100_RECORD_BYTES} bytes: coarse label, fine label, image), not CIFAR-10 "
            f"({RECORD_BYTES}-byte records); nnprune reads the CIFAR-10 layout only"
        )


def read_cifar_binary(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one batch of the CIFAR-10 binary version.

    Parameters
    ----------
    path : str or path-like
        A ``*.bin`` batch: a whole number of 3073-byte records.

    Returns
    -------
    images : numpy.ndarray, uint8, shape ``(N, 3, 32, 32)``
    labels : numpy.ndarray, int64, shape ``(N,)``

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is empty or truncated (its size is not a multiple of 3073 bytes),
        or a label is outside 0..9.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 batch not found: {str(path)!r}")
    raw = path.read_bytes()
    name = repr(str(path))
    if not raw:
        raise ValueError(f"{name} is empty")
    _refuse_cifar100(raw, name)
    full, extra = divmod(len(raw), RECORD_BYTES)
    if extra:
        raise ValueError(
            f"{name} is truncated or not a CIFAR-10 binary batch: {len(raw)} bytes is "
            f"{full} whole {RECORD_BYTES}-byte records and {extra} bytes more"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(full, RECORD_BYTES)
    images = records[:, 1:].reshape(full, *IMAGE_SHAPE)  # (N, 3, 32, 32)
    return images.copy(), _check_labels(records[:, 0], name)


def read_cifar_python(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one batch of the CIFAR-10 python version with :class:`RestrictedUnpickler`.

    See the module docstring for the risk and the mitigation.

    Parameters
    ----------
    path : str or path-like
        A pickled batch (``data_batch_1``, ..., ``test_batch``).

    Returns
    -------
    images : numpy.ndarray, uint8, shape ``(N, 3, 32, 32)``
    labels : numpy.ndarray, int64, shape ``(N,)``

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ForbiddenPickleError
        (a ``pickle.UnpicklingError``) if the pickle names a callable outside the
        allow-list; nothing from the file is run.
    ValueError
        If it is not a valid pickle, or the dict lacks ``b'data'`` / ``b'labels'``,
        the data is not a uint8 ``(N, 3072)`` array, the label count differs from N,
        or a label is outside 0..9.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 batch not found: {str(path)!r}")
    name = repr(str(path))
    raw = path.read_bytes()
    check_pickle(raw, name)
    try:
        batch = RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except ForbiddenPickleError as exc:
        raise ForbiddenPickleError(f"{name}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{name} is truncated or not a valid pickle ({exc!r})") from exc
    except (AttributeError, IndexError, KeyError, struct.error) as exc:
        raise ValueError(f"{name} is truncated or not a valid pickle ({exc!r})") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{name} should hold a dict, got {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise ValueError(f"{name} lacks the keys {missing}; it has {sorted(map(str, batch))}")
    data = batch["data"]
    if isinstance(data, _PickledArray):
        data = data.view(np.ndarray)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        kind = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data)
        raise ValueError(f"{name}: b'data' must be a uint8 array (N, {PIXELS}), got {kind}")
    if data.shape[1] != PIXELS:
        raise ValueError(f"{name}: b'data' must have {PIXELS} columns, got shape {data.shape}")
    try:
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name}: b'labels' must be a list of ints ({exc})") from exc
    if labels.shape != (len(data),):
        raise ValueError(f"{name}: {len(data)} images but b'labels' has shape {labels.shape}")
    images = data.reshape(len(data), *IMAGE_SHAPE)  # (N, 3, 32, 32)
    return np.ascontiguousarray(images), _check_labels(labels, name)


def _batch_paths(root: Path, train: bool) -> tuple[str, list[Path]]:
    """Find the batches, binary first; raise listing every name looked for."""
    stems = _TRAIN if train else _TEST
    folders = [root, root / _SUBFOLDERS["bin"], root / _SUBFOLDERS["py"]]
    looked = []
    for fmt, suffix in (("bin", ".bin"), ("py", "")):
        for folder in folders:
            paths = [folder / (stem + suffix) for stem in stems]
            looked.append(str(folder / (stems[0] + suffix)))
            if all(p.is_file() for p in paths):
                return fmt, paths
            if any(p.is_file() for p in paths):
                missing = [p.name for p in paths if not p.is_file()]
                raise FileNotFoundError(
                    f"incomplete CIFAR-10 {'training' if train else 'test'} set in "
                    f"{str(folder)!r}: missing {missing}"
                )
    names = [s + suf for suf in (".bin", "") for s in stems]
    raise FileNotFoundError(
        f"no CIFAR-10 batches in {str(root)!r} or its cifar-10-batches-bin/-py subfolders; "
        f"looked for {names} (e.g. {looked[0]}); nnprune never downloads"
    )


def load_cifar10(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 from a local folder, binary version preferred.

    Looks in ``root``, ``root/cifar-10-batches-bin`` and
    ``root/cifar-10-batches-py`` for the binary batches (``data_batch_1.bin`` ...
    ``data_batch_5.bin`` or ``test_batch.bin``) and, failing those, for the
    python batches (same names without ``.bin``), which are read with
    :class:`RestrictedUnpickler` (see the module docstring). All five training
    batches must be present.

    Parameters
    ----------
    root : str or path-like
        The folder holding the batches (or their parent).
    train : bool, default True
        The five training batches (50000 images) or the test batch (10000).

    Returns
    -------
    X : numpy.ndarray, float32, shape ``(N, 3, 32, 32)``
        Pixels scaled from 0-255 to [0, 1].
    y : numpy.ndarray, int64, shape ``(N,)``
        Class labels 0-9, names in :data:`CIFAR10_CLASSES`.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder or batches are missing; lists the names looked for.
    ValueError, ForbiddenPickleError
        If a batch is corrupt or forbidden (see :func:`read_cifar_binary`,
        :func:`read_cifar_python`).

    Book: §6, appendix C.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root must be a folder holding the CIFAR-10 batches, got {root}")
    fmt, paths = _batch_paths(root, train)
    reader = read_cifar_binary if fmt == "bin" else read_cifar_python
    parts = [reader(p) for p in paths]
    images = np.concatenate([p[0] for p in parts])
    X = images.astype(np.float32) / np.float32(255.0)
    return X, np.concatenate([p[1] for p in parts])


__all__ = [
    "CIFAR10_CLASSES",
    "ForbiddenPickleError",
    "RestrictedUnpickler",
    "load_cifar10",
    "read_cifar_binary",
    "read_cifar_python",
]
