r"""Sparse storage: weights as ``scipy.sparse`` matrices, honest byte counts, a compact ``.npz``.

A pruned weight is mostly zeros, but ``layer.weight.data`` is still a dense
array: pruning alone saves no memory. Storing only the non-zeros does, at the
price of index arrays. For a matrix with :math:`n_r` rows, :math:`n_c` columns
and :math:`a` non-zeros, with value size :math:`s_v` and index size
:math:`s_i` bytes,

.. math::

    B_\text{dense} &= n_r n_c\, s_v, \\
    B_\text{CSR}   &= a\, s_v + a\, s_i + (n_r + 1)\, s_i
        \quad\text{(values, column indices, row pointers)}, \\
    B_\text{CSC}   &= a\, s_v + a\, s_i + (n_c + 1)\, s_i, \\
    B_\text{COO}   &= a\, s_v + 2 a\, s_i \quad\text{(values, rows, columns)}, \\
    B_\text{BSR}   &= b\, R C\, s_v + b\, s_i + (n_r/R + 1)\, s_i
        \quad\text{(} b \text{ stored } R\times C \text{ blocks)}.

With float32 values and int32 indices CSR beats dense only when the density
:math:`a/(n_r n_c)` is below about one half (Han et al. 2015 count
:math:`2a + n + 1` numbers for CSR). :func:`sparse_nbytes` adds the sizes of
the arrays a matrix really holds, with their real dtypes, so the numbers
include that overhead.

:func:`save_sparse` writes a model to one ``.npz`` file: prunable weights in a
sparse format with the smallest unsigned index dtype that fits, everything
else dense, pruning masks where they differ from "non-zero", and a JSON
metadata entry. No pickle anywhere; the write is atomic. :func:`load_sparse`
returns a dict of dense arrays with the keys of ``Module.state_dict()``
(``"<name>_mask"`` included), so ``model.load_state_dict(load_sparse(path))``
restores the pruned model exactly (a pruned ``-0.0`` comes back as ``0.0``).

Book: §2.2 (storage benefits of sparsity).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from .._atomic import atomic_write
from .._npzcheck import check_npz_members
from ..backend import get_sparse_module, to_numpy
from ..nn.module import MASK_SUFFIX, Module
from ..nn.parameter import Parameter

FORMATS = ("csr", "csc", "coo", "bsr")
FILE_FORMAT = "nnprune-sparse"
FILE_VERSION = 1
_META_KEY = "__meta__"
_INDEX_DTYPES = (np.uint8, np.uint16, np.uint32, np.uint64)
# The arrays each format stores; sparse_nbytes and save_sparse both read this table.
_COMPONENTS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "bsr": ("data", "indices", "indptr"),
    "coo": ("data", "row", "col"),
}


def _constructor(format: str) -> Any:
    """SciPy's array class for ``format`` (``csr_array``, ...); SciPy loads on first use."""
    return getattr(get_sparse_module(np), f"{format}_array")


def check_format(format: str) -> str:
    """Return ``format`` lower-cased, or raise ``ValueError`` if it is not a known one."""
    key = str(format).lower()
    if key not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    return key


def as_matrix(array_or_parameter: Any) -> np.ndarray:
    """Return a host 2-D view of an array or ``Parameter``.

    A conv weight ``(C_out, C_in, kH, kW)`` becomes ``(C_out, C_in*kH*kW)``,
    the matrix its im2col product uses; a vector becomes one row.
    """
    data = (
        array_or_parameter.data if isinstance(array_or_parameter, Parameter) else array_or_parameter
    )
    arr = to_numpy(data)
    if arr.ndim == 0:
        raise ValueError(f"cannot store a 0-d array as a sparse matrix, got shape {arr.shape}")
    if arr.ndim == 1:
        return arr.reshape(1, -1)  # (1, n)
    return arr.reshape(arr.shape[0], -1)  # (out, in*kH*kW)


def _check_blocksize(
    blocksize: Any, format: str, shape: tuple[int, int], pad: bool = False
) -> tuple[int, int] | None:
    if blocksize is None:
        return None
    if format != "bsr":
        raise ValueError(f"blocksize is only used with format='bsr', got format={format!r}")
    try:
        pair = tuple(int(b) for b in blocksize)
    except TypeError:
        pair = ()
    if len(pair) != 2 or min(pair) < 1 or tuple(blocksize) != pair:
        raise ValueError(f"blocksize must be a pair of positive ints, got {blocksize!r}")
    if not pad and (shape[0] % pair[0] or shape[1] % pair[1]):
        raise ValueError(
            f"blocksize {pair} must divide the matrix shape {shape}; pass pad=True to pad "
            f"with zero rows/columns to {padded_shape(shape, pair)}"
        )
    return pair


def padded_shape(shape: tuple[int, int], blocksize: tuple[int, int]) -> tuple[int, int]:
    """``shape`` rounded up to whole ``blocksize`` blocks."""
    return (
        -(-shape[0] // blocksize[0]) * blocksize[0],
        -(-shape[1] // blocksize[1]) * blocksize[1],
    )


def to_sparse(
    array_or_parameter: Any, format: str = "csr", blocksize: Any = None, *, pad: bool = False
) -> Any:
    """Store the non-zeros of an array in a ``scipy.sparse`` array.

    Parameters
    ----------
    array_or_parameter : array or Parameter
        Any shape of at least one dimension; see :func:`as_matrix` for how it
        becomes 2-D. CuPy data is copied to the host.
    format : {"csr", "csc", "coo", "bsr"}, default "csr"
        Compressed sparse row / column, coordinate list, or block sparse row.
    blocksize : pair of int, optional
        ``(R, C)`` blocks for ``"bsr"``; must divide the matrix shape unless
        ``pad``. ``None`` lets SciPy pick one.
    pad : bool, default False
        For ``"bsr"`` with a ``blocksize`` that does not divide the shape: append
        zero rows and columns up to whole blocks (a 10x100 matrix in 4x4 blocks
        becomes 12x100). The result then has the padded shape; crop
        ``toarray()[:rows, :cols]``.

    Returns
    -------
    scipy.sparse array
        Holds exactly the non-zero entries (explicit zeros are dropped), in
        the dtype of the input.

    Raises
    ------
    ValueError
        For an unknown ``format`` or a ``blocksize`` that is not a pair of
        positive ints dividing the shape (without ``pad``), or given with
        another format.
    """
    format = check_format(format)
    mat = as_matrix(array_or_parameter)
    pair = _check_blocksize(blocksize, format, mat.shape, pad)
    if pair is not None and padded_shape(mat.shape, pair) != mat.shape:
        rows, cols = padded_shape(mat.shape, pair)
        mat = np.pad(mat, ((0, rows - mat.shape[0]), (0, cols - mat.shape[1])))
    if format == "bsr":
        return _constructor("bsr")(mat, blocksize=pair)
    return _constructor(format)(mat)


def _components(matrix: Any) -> dict[str, Any]:
    fmt = getattr(matrix, "format", None)
    if fmt not in _COMPONENTS:
        raise TypeError(
            f"matrix must be a csr, csc, coo or bsr sparse matrix, got {type(matrix).__name__}"
        )
    return {name: getattr(matrix, name) for name in _COMPONENTS[fmt]}


def sparse_nbytes(matrix: Any) -> int:
    """Bytes a sparse matrix really holds: values plus every index array, at their dtypes.

    CSR/CSC: ``data + indices + indptr``; COO: ``data + row + col``; BSR:
    ``data`` (all stored blocks, zeros inside blocks included) ``+ indices +
    indptr``. Works for ``scipy.sparse`` and ``cupyx.scipy.sparse`` matrices.

    Raises
    ------
    TypeError
        If ``matrix`` is not one of those four formats.
    """
    return int(sum(int(a.nbytes) for a in _components(matrix).values()))


def dense_nbytes(array_or_parameter: Any) -> int:
    """Bytes of the dense array: ``size * itemsize``."""
    data = (
        array_or_parameter.data if isinstance(array_or_parameter, Parameter) else array_or_parameter
    )
    return int(data.size) * int(data.dtype.itemsize)


def smallest_index_dtype(max_value: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ``0 .. max_value``."""
    for dtype in _INDEX_DTYPES:
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"index value {max_value} does not fit in 64 bits")


def export_model(model: Module, format: str = "csr", blocksize: Any = None) -> dict[str, Any]:
    """Every parameter and buffer of ``model``: prunable weights sparse, the rest dense.

    Parameters
    ----------
    model : Module
    format : {"csr", "csc", "coo", "bsr"}, default "csr"
    blocksize : pair of int, optional
        BSR block shape; must divide every prunable weight's matrix shape.

    Returns
    -------
    dict
        ``name -> scipy.sparse array`` for parameters with ``prunable=True``
        (conv weights as ``(C_out, C_in*kH*kW)``), ``name -> numpy array`` for
        the other parameters and the buffers. Masks are not included (see
        :func:`save_sparse`).
    """
    format = check_format(format)
    out: dict[str, Any] = {}
    for name, p in model.named_parameters():
        if not p.prunable:
            out[name] = to_numpy(p.data).copy()
            continue
        try:
            out[name] = to_sparse(p, format, blocksize)
        except ValueError as exc:
            raise ValueError(f"parameter {name!r}: {exc}") from exc
    for name, b in model.named_buffers():
        if b is not None:
            out[name] = to_numpy(b).copy()
    return out


def _mask_entry(p: Parameter) -> tuple[str | None, np.ndarray | None]:
    """``(None, None)`` unpruned; ``("nonzero", None)`` if mask == data != 0; else packed bits."""
    if p.mask is None:
        return None, None
    mask = to_numpy(p.mask)
    if np.array_equal(mask, to_numpy(p.data) != 0):
        return "nonzero", None
    return "stored", np.packbits(mask.ravel())


def compact_components(matrix: Any) -> dict[str, np.ndarray]:
    """Component arrays with every index array in its smallest unsigned dtype."""
    comps = {}
    for key, arr in _components(matrix).items():
        if key == "data":
            comps[key] = np.asarray(arr)
        else:
            top = int(arr.max()) if arr.size else 0
            comps[key] = np.asarray(arr).astype(smallest_index_dtype(top))
    return comps


def save_sparse(
    model: Module, path: str | os.PathLike, format: str = "csr", blocksize: Any = None
) -> None:
    """Write ``model`` to a compressed ``.npz`` file with its prunable weights stored sparse.

    The file holds, for each prunable weight, the component arrays of its
    sparse matrix (``sparse/<name>/data``, ``.../indices``, ...) with index
    arrays in the smallest unsigned dtype that fits; every other parameter and
    buffer dense (``dense/<name>``); pruning masks that are not simply
    ``data != 0`` as packed bits (``mask/<name>``); and ``__meta__``, a JSON
    document (UTF-8 bytes) with the file format, version, sparse format,
    shapes and dtypes. No pickled objects; written to a temporary file in the
    same folder and renamed, so ``path`` is never left half written.

    Parameters
    ----------
    model : Module
    path : str or PathLike
        Written exactly as given (no suffix is added).
    format : {"csr", "csc", "coo", "bsr"}, default "csr"
    blocksize : pair of int, optional
        BSR block shape. A weight whose matrix shape it does not divide is
        padded with zero rows/columns to whole blocks (the file records both
        shapes; :func:`load_sparse` crops).
    """
    format = check_format(format)
    arrays: dict[str, np.ndarray] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters():
        entry: dict[str, Any] = {"shape": list(p.shape), "dtype": str(p.dtype)}
        if p.prunable:
            matrix = to_sparse(p, format, blocksize, pad=True)
            entry.update(kind="sparse", matrix_shape=list(as_matrix(p).shape))
            if tuple(matrix.shape) != as_matrix(p).shape:
                entry["padded_shape"] = list(matrix.shape)
            if format == "bsr":
                entry["blocksize"] = list(matrix.blocksize)
            for key, arr in compact_components(matrix).items():
                arrays[f"sparse/{name}/{key}"] = arr
        else:
            entry["kind"] = "dense"
            arrays[f"dense/{name}"] = to_numpy(p.data)
        entry["mask"], bits = _mask_entry(p)
        if bits is not None:
            arrays[f"mask/{name}"] = bits
        entries[name] = entry
    for name, b in model.named_buffers():
        if b is not None:
            entries[name] = {
                "kind": "dense",
                "shape": list(b.shape),
                "dtype": str(b.dtype),
                "mask": None,
            }
            arrays[f"dense/{name}"] = to_numpy(b)
    meta = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "sparse_format": format,
        "entries": entries,
    }
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    atomic_write(
        path, lambda fh: np.savez_compressed(fh, **arrays), "wb", make_parents=False, fsync=True
    )


def _read_meta(files: Any, path: str) -> dict[str, Any]:
    if _META_KEY not in files.files:
        raise ValueError(f"{path} is not an nnprune sparse file: no {_META_KEY!r} entry")
    try:
        meta = json.loads(files[_META_KEY].tobytes().decode("utf-8"))
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error) as exc:  # JSONDecodeError too
        raise ValueError(f"{path}: cannot read the metadata as JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not an nnprune sparse file: format tag is missing or wrong")
    if meta.get("version") != FILE_VERSION:
        raise ValueError(
            f"{path}: unsupported file version {meta.get('version')!r}, expected {FILE_VERSION}"
        )
    if meta.get("sparse_format") not in FORMATS or not isinstance(meta.get("entries"), dict):
        raise ValueError(f"{path}: metadata has no valid 'sparse_format' and 'entries'")
    return meta


# dtypes a saved parameter or buffer may have; anything else in the metadata is refused
_SAVED_DTYPES = frozenset({"float32", "float64", "int64", "int32", "uint8", "bool"})
_MASK_TAGS = (None, "nonzero", "stored")


def _check_entry(entry: Any) -> None:
    """The metadata of one entry: kind, shape, dtype and mask tag, before anything is read."""
    if not isinstance(entry, dict):
        raise ValueError(f"metadata entry must be a table, got {type(entry).__name__}")
    if entry.get("kind") not in ("sparse", "dense"):
        raise ValueError(f"kind must be 'sparse' or 'dense', got {entry.get('kind')!r}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ValueError(f"shape must be a list of non-negative ints, got {shape!r}")
    if entry.get("dtype") not in _SAVED_DTYPES:
        raise ValueError(
            f"dtype must be one of {sorted(_SAVED_DTYPES)}, got {entry.get('dtype')!r}"
        )
    if entry.get("mask") not in _MASK_TAGS:
        raise ValueError(f"mask must be null, 'nonzero' or 'stored', got {entry.get('mask')!r}")
    if entry["kind"] == "sparse":
        if not shape:
            raise ValueError("a sparse entry needs a shape of at least one dimension")
        expected = [1, shape[0]] if len(shape) == 1 else [shape[0], math.prod(shape[1:])]
        if entry.get("matrix_shape") != expected:
            raise ValueError(
                f"matrix_shape {entry.get('matrix_shape')!r} does not match shape {shape} "
                f"(expected {expected})"
            )
        if "padded_shape" in entry or "blocksize" in entry:
            block = entry.get("blocksize")
            if not (
                isinstance(block, list)
                and len(block) == 2
                and all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in block)
            ):
                raise ValueError(f"blocksize must be two positive ints, got {block!r}")
            padded = list(padded_shape((expected[0], expected[1]), (block[0], block[1])))
            if entry.get("padded_shape", expected) not in (padded, expected):
                raise ValueError(
                    f"padded_shape {entry.get('padded_shape')!r} does not match shape {shape} "
                    f"in blocks of {block} (expected {padded})"
                )


def _read_sparse(files: Any, name: str, entry: dict[str, Any], fmt: str) -> np.ndarray:
    comps = {}
    for key in _COMPONENTS[fmt]:
        comps[key] = files[f"sparse/{name}/{key}"]
    if str(comps["data"].dtype) != entry["dtype"]:
        raise ValueError(f"values are {comps['data'].dtype}, metadata says {entry['dtype']}")
    for key, arr in comps.items():
        if key != "data" and arr.dtype.kind not in "ui":
            raise ValueError(f"index array {key!r} must hold integers, got {arr.dtype}")
    shape = tuple(entry.get("padded_shape", entry["matrix_shape"]))
    rows, cols = entry["matrix_shape"]
    index = {k: v.astype(np.int64) for k, v in comps.items() if k != "data"}
    if fmt == "coo":
        # The constructor rejects negative or out-of-range coordinates.
        coords = (index["row"], index["col"])
        matrix = _constructor("coo")((comps["data"], coords), shape=shape)
        flat = index["row"] * shape[1] + index["col"]
        if np.unique(flat).size != flat.size:
            raise ValueError("duplicate coordinates")
    else:
        args = (comps["data"], index["indices"], index["indptr"])
        if fmt == "bsr":
            blocksize = tuple(entry["blocksize"])
            matrix = _constructor("bsr")(args, shape=shape, blocksize=blocksize)
        else:
            matrix = _constructor(fmt)(args, shape=shape)
        matrix.check_format(full_check=True)
    full = matrix.toarray()
    if np.any(full[rows:]) or np.any(full[:, cols:]):
        raise ValueError("non-zero entries in the BSR padding")
    dense = full[:rows, :cols]  # without the BSR padding, if any
    return dense.reshape(entry["shape"]).astype(entry["dtype"], copy=False)


def load_sparse(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save_sparse` into dense arrays.

    Returns
    -------
    dict
        ``name -> numpy array`` with the keys of ``Module.state_dict()``: every
        parameter and buffer, plus ``"<name>_mask"`` (bool) for each parameter
        that was pruned. ``model.load_state_dict(load_sparse(path))`` restores
        the saved model exactly.

    Raises
    ------
    ValueError
        If the file is not a NumPy ``.npz`` archive, holds pickled data, or is
        not a well-formed nnprune sparse file (metadata, missing arrays,
        indices out of range, wrong shapes).
    """
    path = os.fspath(path)
    try:
        files = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        if "pickle" in str(exc):  # NumPy's advice (allow_pickle) is never right here
            raise ValueError(
                f"{path} is not a readable .npz file (truncated or corrupt, random bytes or a "
                "pickle?); nnprune sparse files are never unpickled"
            ) from None
        raise ValueError(f"{path} is not a readable .npz file: {exc}") from exc
    if not isinstance(files, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not an nnprune sparse .npz file")
    with files:
        check_npz_members(files, path)
        meta = _read_meta(files, path)
        fmt = meta["sparse_format"]
        state: dict[str, np.ndarray] = {}
        for name, entry in meta["entries"].items():
            try:
                _check_entry(entry)
                if entry["kind"] == "sparse":
                    value = _read_sparse(files, name, entry, fmt)
                else:
                    value = files[f"dense/{name}"]
                    if (
                        list(value.shape) != list(entry["shape"])
                        or str(value.dtype) != entry["dtype"]
                    ):
                        raise ValueError(
                            f"array is {value.dtype} {value.shape}, metadata says "
                            f"{entry['dtype']} {tuple(entry['shape'])}"
                        )
                state[name] = value
                if entry["mask"] == "nonzero":
                    state[name + MASK_SUFFIX] = value != 0
                elif entry["mask"] == "stored":
                    size = int(np.prod(entry["shape"]))
                    packed = files[f"mask/{name}"]
                    if packed.dtype != np.uint8 or packed.size != (size + 7) // 8:
                        raise ValueError(
                            f"mask has {packed.size} bytes, expected {(size + 7) // 8}"
                        )
                    bits = np.unpackbits(packed, count=size)
                    state[name + MASK_SUFFIX] = bits.astype(bool).reshape(entry["shape"])
            except (
                KeyError,
                ValueError,
                TypeError,
                IndexError,
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                MemoryError,  # a shape too large for this machine
            ) as exc:
                raise ValueError(
                    f"{path}: entry {name!r} is corrupt or incomplete ({exc})"
                ) from exc
    return state
