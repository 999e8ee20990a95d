r"""Deep Compression storage: relative indices in a few bits and a small codebook of shared weights.

Han, Mao & Dally (2016), *Deep Compression*, store a pruned layer in three
steps; this module does the first two and leaves the third (Huffman coding) to
``zlib`` (``np.savez_compressed``):

1. **Relative indices.** The kept entries of the flattened weight, in order,
   are stored as the gap :math:`d_i = p_i - p_{i-1} - 1` (zeros skipped) to the
   previous kept position, in ``index_bits`` bits. A gap larger than
   :math:`D = 2^{b_\text{idx}} - 1` is bridged by *filler* entries that skip
   :math:`D` zeros each and hold the value zero (code 0).
2. **Weight sharing.** The kept values are clustered by 1-D k-means into
   :math:`K = 2^{b_\text{code}} - 1` centroids :math:`c_1..c_K`, initialised
   linearly between the smallest and largest value (the initialisation Han et
   al. found best), and each kept entry stores the ``codebook_bits``-bit code
   :math:`k_i` of its centroid; code 0 is reserved for fillers
   (:math:`c_0 = 0`). Lloyd's iterations minimise

   .. math::

       \sum_i (w_i - c_{k_i})^2, \qquad
       k_i = \arg\min_k |w_i - c_k|, \quad
       c_k = \operatorname{mean}\{w_i : k_i = k\}.

Per layer the file holds :math:`n` codes and :math:`n` gaps (:math:`n` = kept
entries plus fillers) packed at their bit widths, and the :math:`K` float32
centroids: about :math:`n (b_\text{idx} + b_\text{code}) / 8` bytes against
:math:`4 \cdot \text{size}` dense.

**Quantisation is lossy**: a loaded weight is its centroid, not its trained
value (retrain the centroids, as Han et al. do, or measure the accuracy cost;
``benchmarks/bench_storage.py`` does). What *is* exact: the loaded weights are
exactly the stored codebook values, the masks (which entries are kept) come
back exactly, and every parameter that is not prunable (biases, BatchNorm) and
every buffer is stored dense and comes back bit for bit.

Book: §2.2 (storage benefits of sparsity).
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .._atomic import atomic_write
from ..backend import to_numpy
from ..nn.module import MASK_SUFFIX, Module

FILE_FORMAT = "nnprune-codebook"
FILE_VERSION = 1
_META_KEY = "__meta__"
_MAX_BITS = 16


def _check_bits(name: str, bits: Any) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 16:
        raise ValueError(f"{name} must be an int in [1, {_MAX_BITS}], got {bits!r}")
    return int(bits)


def kmeans_1d(values: np.ndarray, n_clusters: int, max_iter: int = 50) -> np.ndarray:
    r"""Centroids of 1-D k-means (Lloyd), initialised linearly over ``[min, max]``.

    Deterministic (no random start). Empty clusters keep their previous
    centroid. Returns ``n_clusters`` float64 centroids, sorted.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return np.zeros(n_clusters)
    centroids = np.linspace(values.min(), values.max(), n_clusters)
    for _ in range(max_iter):
        labels = assign(values, centroids)
        sums = np.bincount(labels, weights=values, minlength=n_clusters)
        counts = np.bincount(labels, minlength=n_clusters)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        if np.array_equal(updated, centroids):
            break
        centroids = np.sort(updated)
    return centroids


def assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted ``centroids`` for every value (ties go left)."""
    midpoints = (centroids[1:] + centroids[:-1]) / 2
    return np.searchsorted(midpoints, values, side="left")


def pack_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned ints below ``2**bits`` into ``uint8``, ``bits`` bits each, MSB first."""
    values = np.asarray(values, dtype=np.uint32)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    planes = ((values[:, None] >> shifts) & 1).astype(np.uint8)  # (n, bits)
    return np.packbits(planes.ravel())


def unpack_bits(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``count`` unsigned ints (``int64``)."""
    if packed.dtype != np.uint8 or packed.shape != ((count * bits + 7) // 8,):
        raise ValueError(
            f"packed array is {packed.dtype} {packed.shape}, expected uint8 "
            f"({(count * bits + 7) // 8},) for {count} values of {bits} bits"
        )
    planes = np.unpackbits(packed, count=count * bits).reshape(count, bits)  # (n, bits)
    return planes.astype(np.int64) @ (1 << np.arange(bits - 1, -1, -1, dtype=np.int64))


def encode(
    weight: np.ndarray, kept: np.ndarray, codebook_bits: int, index_bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One layer to ``(codebook, gaps, codes, n)``: see the module docstring.

    ``kept`` is the flat bool array of stored positions; ``codebook[0] = 0`` is
    the fillers' value and ``codebook[1:]`` the k-means centroids (float32).
    """
    flat = weight.ravel()
    positions = np.flatnonzero(kept.ravel())
    centroids = kmeans_1d(flat[positions], 2**codebook_bits - 1).astype(weight.dtype)
    codebook = np.concatenate([np.zeros(1, weight.dtype), centroids])
    codes = 1 + assign(flat[positions].astype(np.float64), centroids.astype(np.float64))
    span = 2**index_bits  # a filler skips span - 1 zeros and takes one position
    gaps = np.diff(positions, prepend=-1) - 1  # zeros before each kept entry
    fillers = gaps // span
    slots = np.cumsum(fillers + 1) - 1  # where each kept entry lands among all entries
    n = int(slots[-1]) + 1 if positions.size else 0
    all_gaps = np.full(n, span - 1, dtype=np.int64)
    all_codes = np.zeros(n, dtype=np.int64)
    all_gaps[slots] = gaps % span
    all_codes[slots] = codes
    return codebook, all_gaps, all_codes, n


def decode(
    codebook: np.ndarray, gaps: np.ndarray, codes: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode`: ``(weight, mask)`` of ``shape``; fillers are not kept."""
    size = int(np.prod(shape))
    positions = np.cumsum(gaps + 1) - 1
    if positions.size and (positions[-1] >= size or codes.max() >= codebook.size):
        raise ValueError("indices or codes out of range")
    real = codes != 0
    weight = np.zeros(size, dtype=codebook.dtype)
    mask = np.zeros(size, dtype=bool)
    weight[positions[real]] = codebook[codes[real]]
    mask[positions[real]] = True
    return weight.reshape(shape), mask.reshape(shape)


def save_compressed(
    model: Module,
    path: str | os.PathLike,
    *,
    codebook_bits: int = 5,
    index_bits: int = 5,
) -> None:
    r"""Write ``model`` Deep-Compression style: codebook-quantised kept weights, relative indices.

    Every prunable weight is stored as its kept entries (the mask where the
    parameter has one, else its non-zeros) with ``index_bits``-bit relative
    positions and ``codebook_bits``-bit codes into a per-layer codebook of
    :math:`2^{b}-1` k-means centroids (see the module docstring). Everything
    else is stored dense. The file is a compressed ``.npz``, no pickle, written
    atomically. **Lossy**: kept weights are replaced by their centroids.

    Parameters
    ----------
    model : Module
    path : str or PathLike
        Written exactly as given.
    codebook_bits : int in [1, 16], default 5
        Bits per code (Han et al.: 5 for fully connected, 8 for conv layers).
    index_bits : int in [1, 16], default 5
        Bits per relative index (Han et al.: 5 fully connected, 8 conv).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    codebook_bits = _check_bits("codebook_bits", codebook_bits)
    index_bits = _check_bits("index_bits", index_bits)
    prunable = {name for name, _, _, _ in model.prunable_parameters()}
    arrays: dict[str, np.ndarray] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters():
        data = to_numpy(p.data)
        entry: dict[str, Any] = {"shape": list(data.shape), "dtype": str(data.dtype)}
        if name in prunable:
            kept = to_numpy(p.mask) if p.mask is not None else data != 0
            codebook, gaps, codes, n = encode(data, kept, codebook_bits, index_bits)
            entry.update(kind="codebook", n=n, mask=p.mask is not None)
            arrays[f"codebook/{name}"] = codebook
            arrays[f"gaps/{name}"] = pack_bits(gaps, index_bits)
            arrays[f"codes/{name}"] = pack_bits(codes, codebook_bits)
        else:
            entry["kind"] = "dense"
            arrays[f"dense/{name}"] = data
        entries[name] = entry
    for name, b in model.named_buffers():
        if b is not None:
            arrays[f"dense/{name}"] = to_numpy(b)
            entries[name] = {"kind": "dense", "shape": list(b.shape), "dtype": str(b.dtype)}
    meta = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "codebook_bits": codebook_bits,
        "index_bits": index_bits,
        "entries": entries,
    }
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), "wb", make_parents=False)


def load_compressed(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file of :func:`save_compressed` as a ``state_dict`` (dense arrays, masks included).

    ``model.load_state_dict(load_compressed(path))`` gives the quantised model:
    prunable weights hold codebook values at their kept entries and zeros
    elsewhere; ``"<name>_mask"`` is restored for parameters saved with a mask.

    Raises
    ------
    ValueError
        If the file is not an ``.npz`` archive written by :func:`save_compressed`
        or an entry is missing, of the wrong size, or out of range.
    """
    path = os.fspath(path)
    try:
        files = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npz file: {exc}") from exc
    if not isinstance(files, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not an nnprune codebook file")
    state: dict[str, np.ndarray] = {}
    with files:
        try:
            meta = json.loads(files[_META_KEY].tobytes().decode("utf-8"))
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path} is not an nnprune codebook file ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != FILE_FORMAT:
            raise ValueError(f"{path} is not an nnprune codebook file: wrong format tag")
        if meta.get("version") != FILE_VERSION:
            raise ValueError(f"{path}: unsupported codebook file version {meta.get('version')!r}")
        for name, entry in meta["entries"].items():
            try:
                shape = tuple(entry["shape"])
                if entry["kind"] == "dense":
                    state[name] = files[f"dense/{name}"]
                    continue
                n = int(entry["n"])
                gaps = unpack_bits(files[f"gaps/{name}"], meta["index_bits"], n)
                codes = unpack_bits(files[f"codes/{name}"], meta["codebook_bits"], n)
                weight, mask = decode(files[f"codebook/{name}"], gaps, codes, shape)
                state[name] = weight.astype(entry["dtype"], copy=False)
                if entry["mask"]:
                    state[name + MASK_SUFFIX] = mask
            except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
                raise ValueError(
                    f"{path}: entry {name!r} is corrupt or incomplete ({exc})"
                ) from exc
    return state


__all__ = ["assign", "kmeans_1d", "load_compressed", "pack_bits", "save_compressed"]
