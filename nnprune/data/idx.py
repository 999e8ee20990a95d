r"""Read the IDX files of MNIST and Fashion-MNIST from a folder you already have.

nnprune never downloads anything. Get the four files once (from the MNIST or
Fashion-MNIST pages, or a torchvision ``MNIST/raw`` folder) and point
:func:`load_mnist` at their folder.

The IDX format (LeCun et al.) is a tiny header and a big-endian array::

    magic   4 bytes: 0x00 0x00 <type code> <number of dimensions d>
    sizes   d big-endian uint32, one per dimension
    data    prod(sizes) values of the type, big-endian, C order

with type codes 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
0x0D float32 and 0x0E float64.

Book: §6 (image case study; loaders for the real formats).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
MAX_DIMS = 32  # NumPy 1's limit (NumPy 2 allows 64); IDX files in use have 1 to 4
NUM_CLASSES = 10


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes, un-gzipped when it starts with the gzip magic."""
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not an IDX file; give the file (e.g. "
            "train-images-idx3-ubyte), or the folder to load_mnist"
        )
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{str(path)!r}: corrupt or truncated gzip data ({exc})") from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the content, not the name.

    Returns
    -------
    numpy.ndarray
        Shape from the header, dtype from the type code (native byte order):
        ``uint8`` for MNIST images and labels.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Naming the file, when it is not IDX (bad magic number, unknown type
        code, no dimensions), when its header or data is truncated, or when it
        has bytes after the data.
    """
    path = Path(path)
    raw = _read_bytes(path)
    name = repr(str(path))
    if len(raw) < 4:
        raise ValueError(f"{name} is too short to be an IDX file ({len(raw)} bytes)")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero0 or zero1:
        raise ValueError(
            f"{name} is not an IDX file: magic number 0x{magic:08X} must start with two zero bytes"
        )
    if code not in IDX_TYPES:
        supported = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(
            f"{name}: unsupported IDX data type code 0x{code:02X} (supported: {supported})"
        )
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions (magic 0x{magic:08X})")
    if ndim > MAX_DIMS:
        raise ValueError(
            f"{name}: IDX header declares {ndim} dimensions, more than {MAX_DIMS} "
            f"(magic 0x{magic:08X}); MNIST images have 3, labels 1"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{name} is truncated: its header needs {header_len} bytes for {ndim} dimensions, "
            f"the file has {len(raw)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no wrap-around
    got = len(raw) - header_len
    if got < expected:
        raise ValueError(
            f"{name} is truncated: header {shape} of {dtype.name} promises {expected} data "
            f"bytes, the file has {got}"
        )
    if got > expected:
        raise ValueError(
            f"{name} has {got - expected} unexpected bytes after the {expected} data bytes "
            f"promised by its header {shape}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _candidates(prefix: str, kind: str, rank: int) -> list[str]:
    base = [f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"]
    return [n + suffix for n in base for suffix in ("", ".gz")]


def _find(root: Path, names: list[str]) -> Path | None:
    for n in names:
        if (root / n).is_file():
            return root / n
    return None


def load_mnist(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST (or Fashion-MNIST, same format and names) from a local folder.

    Looks in ``root`` for ``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte`` (``train=True``) or ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` (``train=False``), each plain or ``.gz``
    (the ``images.idx3-ubyte`` spelling is accepted too). Nothing is downloaded.

    Parameters
    ----------
    root : str or path-like
        The folder holding the files.
    train : bool, default True
        The 60000-image training set, or the 10000-image test set.

    Returns
    -------
    X : numpy.ndarray, float32, shape ``(N, 1, 28, 28)``
        Pixels scaled from 0-255 to [0, 1].
    y : numpy.ndarray, int64, shape ``(N,)``
        Class labels.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder or a file is missing; lists the names looked for.
    ValueError
        If a file is corrupt (see :func:`read_idx`), images and labels disagree,
        or a label is outside 0..9.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root must be a folder holding the MNIST IDX files, got {root}")
    prefix = "train" if train else "t10k"
    found = {}
    for kind, rank in (("images", 3), ("labels", 1)):
        names = _candidates(prefix, kind, rank)
        path = _find(root, names)
        if path is None:
            raise FileNotFoundError(
                f"no MNIST {kind} file in {str(root)!r}; looked for {names} "
                "(torchvision keeps them in <root>/MNIST/raw; nnprune never downloads)"
            )
        found[kind] = path
    images, labels = read_idx(found["images"]), read_idx(found["labels"])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{str(found['images'])!r} should hold uint8 images (N, H, W), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{str(found['labels'])!r} should hold uint8 labels (N,), "
            f"got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{len(images)} images in {str(found['images'])!r} but "
            f"{len(labels)} labels in {str(found['labels'])!r}"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(labels[labels >= NUM_CLASSES][0])
        raise ValueError(
            f"{str(found['labels'])!r}: labels must be in 0..{NUM_CLASSES - 1}, found {bad}"
        )
    X = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]  # (N, 1, H, W)
    return X, labels.astype(np.int64)


__all__ = ["IDX_TYPES", "load_mnist", "read_idx"]
