r"""N:M semi-structured sparsity: at most N non-zeros in every group of M weights.

In each group of ``m`` consecutive weights along the **input** axis the ``n``
largest magnitudes are kept and the rest pruned. For a ``Linear`` weight
``(out, in)`` the groups run along ``in``; for a ``Conv2d`` weight
``(out, in, kh, kw)`` they run along ``in`` at each kernel position
``(kh, kw)``, as NVIDIA's ASP does (it permutes the weight to put ``in``
last). 2:4 is the pattern Ampere-class Tensor Cores run at twice the dense
math throughput (Mishra et al., 2021); that speed-up needs those kernels and
cannot be shown with NumPy, but the mask and its accuracy effect can.

A. Mishra, J. A. Latorre, J. Pool, D. Stosic, D. Stosic, G. Venkatesh, C. Yu,
P. Micikevicius, *Accelerating Sparse Deep Neural Networks*, arXiv:2104.08378,
2021; NVIDIA Apex ``apex.contrib.sparsity`` (ASP).

Book: §8 (hardware-friendly N:M sparsity)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_int, check_positive_int
from ..nn.module import Module
from ._apply import apply_method
from ._checks import check_dim, get_parameter
from .methods import BasePruningMethod


def _check_nm(n: Any, m: Any) -> tuple[int, int]:
    n = check_positive_int("n", n)
    m = check_positive_int("m", m)
    if n > m:
        raise ValueError(f"n must be <= m (keep n of every m weights), got n={n}, m={m}")
    return n, m


def _check_groups(shape: tuple[int, ...], m: int, dim: int) -> int:
    axis = check_dim(dim, len(shape), shape)
    if shape[axis] % m:
        raise ValueError(
            f"N:M sparsity needs the size of dim {dim} ({shape[axis]}) to be divisible by "
            f"m={m}; shape is {shape}"
        )
    return axis


def nm_mask(scores: np.ndarray, n: int, m: int, dim: int = 1) -> np.ndarray:
    r"""Keep the ``n`` largest ``scores`` in each group of ``m`` consecutive entries along ``dim``.

    .. math::

        m_i = 1 \iff s_i \text{ is among the } n \text{ largest of its group }
        G = \{jm, \dots, jm + m - 1\} \text{ along } \texttt{dim}.

    Ties keep the earlier entry. Returns a bool array of ``scores.shape``.
    """
    n, m = _check_nm(n, m)
    axis = _check_groups(scores.shape, m, dim)
    last = np.moveaxis(np.asarray(scores, dtype=np.float64), axis, -1)  # (..., L)
    groups = last.reshape(*last.shape[:-1], last.shape[-1] // m, m)  # (..., L/M, M)
    order = np.argsort(-groups, axis=-1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    return np.moveaxis(keep.reshape(last.shape), -1, axis)


def is_nm_sparse(array: Any, n: int = 2, m: int = 4, dim: int = 1) -> bool:
    """True when every group of ``m`` consecutive entries along ``dim`` has at most ``n`` non-zeros.

    Raises
    ------
    ValueError
        On bad ``n``/``m``/``dim`` or when the axis length is not divisible by ``m``.
    """
    n, m = _check_nm(n, m)
    arr = to_numpy(array.data if hasattr(array, "prunable") else array)
    axis = _check_groups(arr.shape, m, dim)
    last = np.moveaxis(arr != 0, axis, -1)  # (..., L)
    groups = last.reshape(*last.shape[:-1], last.shape[-1] // m, m)  # (..., L/M, M)
    return bool(np.all(groups.sum(axis=-1) <= n))


class NMStructured(BasePruningMethod):
    r"""N:M pruning: keep the ``n`` largest :math:`|w|` of every ``m`` along ``dim``.

    On an already pruned tensor the ``n`` are chosen among the entries still
    kept, so a group keeps :math:`\min(n, \text{kept in the group})`.

    Book: §8
    """

    PRUNING_TYPE = "global"

    def __init__(self, n: int = 2, m: int = 4, dim: int = 1) -> None:
        self.n, self.m = _check_nm(n, m)
        self.dim = check_int("dim", dim)
        self.CRITERION = f"|w|, top {self.n} of every {self.m} along dim {self.dim}"

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        scores = np.where(default_mask, np.abs(t), -np.inf)
        keep = nm_mask(scores, self.n, self.m, self.dim)
        self.stats_ = {}
        return default_mask & keep


def nm_structured(
    module: Module, name: str, n: int = 2, m: int = 4, dim: int = 1, *, force: bool = False
) -> Module:
    r"""Prune ``module.<name>`` to N:M sparsity (default 2:4) along ``dim``.

    .. math::

        \text{in each group } G \text{ of } m \text{ consecutive weights along } \texttt{dim}:
        \text{ keep the } n \text{ largest } |w_i|,\ i \in G.

    ``dim=1`` (the default) is the input axis of both ``Linear`` ``(out, in)``
    and ``Conv2d`` ``(out, in, kh, kw)`` weights.

    Raises
    ------
    ValueError
        If ``n > m``, ``dim`` is out of range, or the size of ``dim`` is not
        divisible by ``m``.

    Book: §8
    """
    method = NMStructured(n, m, dim)
    param = get_parameter(module, name, force=force)
    _check_groups(param.shape, method.m, method.dim)
    return apply_method(
        method,
        module,
        name,
        force=force,
        function="nm_structured",
        extra={"n": method.n, "m": method.m},
    )
