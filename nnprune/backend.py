r"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

The backend follows the arrays. Every layer asks ``xp = get_xp(x)`` for the
module that owns its input and calls ``xp.matmul``, ``xp.exp`` and so on, so
the same code runs on NumPy and CuPy arrays. CuPy is imported lazily, in this
module only, the first time it is asked for; nnprune never needs it.

Random numbers never come from CuPy: initial weights are drawn from a host
``np.random.Generator`` and then moved, so NumPy and CuPy runs start from
identical weights.

Book: §1.1 (the engine the rest of the book runs on).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")
_ALIASES = {
    "numpy": "numpy",
    "cpu": "numpy",
    "np": "numpy",
    "cupy": "cupy",
    "cuda": "cupy",
    "gpu": "cupy",
}
_cupy: ModuleType | None = None
_cupy_error: str | None = None


def _import_cupy() -> ModuleType | None:
    """Import CuPy once; remember why it failed so the error can say so."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            cp = importlib.import_module("cupy")
            cp.cuda.runtime.getDeviceCount()  # raises when there is no usable GPU
            _cupy = cp
        except Exception as exc:  # ImportError, CUDARuntimeError, ...
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def cupy_available() -> bool:
    """Return True when CuPy imports and sees at least one GPU."""
    return _import_cupy() is not None


def normalize_backend(backend: str) -> str:
    """Map ``"cpu"``/``"np"`` to ``"numpy"`` and ``"cuda"``/``"gpu"`` to ``"cupy"``.

    Raises
    ------
    ValueError
        If ``backend`` is not a known name.
    """
    key = str(backend).lower()
    if key not in _ALIASES:
        raise ValueError(f"backend must be one of {sorted(set(_ALIASES))}, got {backend!r}")
    return _ALIASES[key]


def get_backend(name: str) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) for a backend name.

    Raises
    ------
    RuntimeError
        If ``"cupy"`` is asked for and CuPy or a GPU is not available.
    """
    name = normalize_backend(name)
    if name == "numpy":
        return np
    cp = _import_cupy()
    if cp is None:
        raise RuntimeError(
            "backend 'cupy' needs CuPy and an NVIDIA GPU "
            f"(pip install 'nnprune[gpu]'); importing it failed with {_cupy_error}"
        )
    return cp


def is_cupy_array(x: Any) -> bool:
    """True when ``x`` is a CuPy array (checked without importing CuPy)."""
    return type(x).__module__.split(".")[0] == "cupy"


def get_xp(*arrays: Any) -> ModuleType:
    """Return the array module of the arrays: ``cupy`` if any is a CuPy array, else ``numpy``."""
    for a in arrays:
        if is_cupy_array(a):
            return get_backend("cupy")
    return np


def backend_of(x: Any) -> str:
    """Return ``"cupy"`` or ``"numpy"`` for an array."""
    return "cupy" if is_cupy_array(x) else "numpy"


def to_backend(x: Any, backend: str) -> Any:
    """Move an array to ``backend`` (``"numpy"`` or ``"cupy"``); ``None`` passes through."""
    if x is None:
        return None
    name = normalize_backend(backend)
    if name == "numpy":
        return x.get() if is_cupy_array(x) else np.asarray(x)
    return get_backend("cupy").asarray(x)


def get_sparse_module(xp: ModuleType) -> ModuleType:
    """Return the sparse-matrix module for an array module.

    ``scipy.sparse`` for NumPy and ``cupyx.scipy.sparse`` for CuPy, both
    imported lazily here, the first time they are asked for.

    Raises
    ------
    ValueError
        If ``xp`` is neither ``numpy`` nor ``cupy``.
    """
    name = getattr(xp, "__name__", repr(xp))
    if name == "numpy":
        return importlib.import_module("scipy.sparse")
    if name == "cupy":
        return importlib.import_module("cupyx.scipy.sparse")
    raise ValueError(f"xp must be the numpy or cupy module, got {name!r}")


def to_numpy(x: Any) -> np.ndarray:
    """Return a NumPy copy or view of any array (CuPy arrays are copied to the host)."""
    return to_backend(x, "numpy")
