"""Check the arrays an ``.npz`` archive declares before NumPy allocates them.

``np.load(path)["name"]`` reads the member's ``.npy`` header, allocates an
array of the declared shape, and only then reads the data. A hostile file of a
few hundred bytes can declare a shape of ``(10**12,)``: the allocation ends in
a raw ``MemoryError`` (or swaps the machine) before the data turns out to be
missing. :func:`check_npz_members` reads every member's header (a few bytes)
and compares the declared size with the member's uncompressed size in the zip
directory, which bounds what the member can really hold; it also refuses
object arrays (they would need unpickling).
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from typing import Any

import numpy as np

_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def check_npz_members(archive: Any, path: str | os.PathLike) -> None:
    """Raise ``ValueError`` naming ``path`` if a member of ``archive`` declares more than it holds.

    Parameters
    ----------
    archive : numpy.lib.npyio.NpzFile
        As returned by ``np.load(..., allow_pickle=False)`` for an ``.npz`` file.
    path : str or path-like
        Used in the messages.

    Raises
    ------
    ValueError
        For a member whose header is unreadable, whose dtype is ``object``, or
        whose declared shape needs more bytes than the member holds.
    """
    name = repr(os.fspath(path))
    zf: zipfile.ZipFile = archive.zip
    for info in zf.infolist():
        key = info.filename.removesuffix(".npy")
        try:
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                reader = _READERS.get(version)
                if reader is None:
                    raise ValueError(f"unsupported .npy format version {version}")
                shape, _fortran, dtype = reader(fh)
                header_bytes = fh.tell()
        except (  # what a corrupt member raises: zipfile, zlib, the header parser
            ValueError,
            OSError,
            EOFError,
            zipfile.BadZipFile,
            SyntaxError,
            NotImplementedError,  # zip features nnprune never writes (patched data, ...)
            RuntimeError,  # an encrypted member
            zlib.error,
        ) as exc:
            raise ValueError(f"{name}: entry {key!r} is truncated or corrupt ({exc})") from exc
        if dtype.hasobject:
            raise ValueError(
                f"{name}: entry {key!r} is an object array; nnprune files hold "
                "numeric and bool arrays only and are never unpickled"
            )
        declared = math.prod(shape) * dtype.itemsize
        available = info.file_size - header_bytes
        if declared > available:
            raise ValueError(
                f"{name}: entry {key!r} declares shape {tuple(shape)} of {dtype} "
                f"({declared} bytes) but holds only {max(available, 0)} bytes of data "
                "(corrupt or hostile file)"
            )
