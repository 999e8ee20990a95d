r"""SparseGPT: one-shot pruning with the optimal-brain-surgeon update, column by column.

A ``Linear`` layer with weight :math:`W` ``(out, in)`` and calibration inputs
:math:`X` ``(in, tokens)`` should keep its outputs :math:`WX` after pruning.
The rows of :math:`W` are independent least-squares problems sharing one
Hessian

.. math::

    H = 2XX^\top + \lambda I,\qquad
    \lambda = \texttt{percdamp}\cdot\operatorname{mean}\operatorname{diag}(2XX^\top).

SparseGPT visits the columns :math:`j = 0, 1, \dots` in order. With
:math:`H^{-1}_{(j)}` the inverse Hessian of the columns not yet visited
(:math:`j, j+1, \dots`), pruning :math:`w_{ij}` (setting it to zero) and letting the
later weights of the row absorb the error is the OBS update (Hassibi & Stork 1993)

.. math::

    \delta_{i,\,j:} = -\frac{w_{ij}}{[H^{-1}_{(j)}]_{jj}}\,[H^{-1}_{(j)}]_{j,\,j:},\qquad
    \Delta L_{ij} = \frac{w_{ij}^2}{2[H^{-1}_{(j)}]_{jj}}.

Row :math:`j` of :math:`H^{-1}_{(j)}` divided by :math:`\sqrt{[H^{-1}_{(j)}]_{jj}}`
is row :math:`j` of the upper Cholesky factor :math:`U` of :math:`H^{-1}`
(:math:`H^{-1} = U^\top U`), so one Cholesky factorisation gives every
:math:`H^{-1}_{(j)}` the update needs: with :math:`d = U_{jj}`,
:math:`\delta_{i,\,j:} = -(w_{ij}/d)\,U_{j,\,j:}`. The update is applied
*lazily*: inside a block of ``blocksize`` columns immediately, to the columns
after the block once per block (a matrix product).

Which weights to prune is chosen per block (adaptive mask selection): the
fraction ``sparsity`` of the block's weights with the smallest
:math:`w_{ij}^2/U_{jj}^2` (the OBS error) are pruned, looked at when the block
starts; for N:M, in each group of ``m`` columns the ``m - n`` weights with the
smallest :math:`w_{ij}^2/U_{jj}^2`, looked at when the group starts (after the
updates from earlier columns).

Differences from the authors' code: the unstructured count per block is exact
(their ``<=`` threshold prunes one more on ties), and all arithmetic is float64.

E. Frantar, D. Alistarh, "SparseGPT: Massive Language Models Can Be Accurately
Pruned in One-Shot", ICML 2023 (arXiv:2301.00774). B. Hassibi, D. G. Stork,
"Second order derivatives for network pruning: Optimal Brain Surgeon", NeurIPS 1992.

Book: §8.1 (beyond the book: one-shot pruning of language models); OBS in §4.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..backend import to_numpy
from ..checks import check_positive_int
from .nm import _check_nm
from .wanda import _check_sparsity


class SparseGPTResult(NamedTuple):
    """What :func:`sparsegpt` returns.

    Attributes
    ----------
    weight : float64 array ``(out, in)``
        The updated weights, zero where pruned.
    mask : bool array ``(out, in)``
        True = kept (the engine's ``Parameter.mask`` convention).
    losses : float64 array ``(out,)``
        Per row, the sum of the OBS errors :math:`w^2/(2U_{jj}^2)` of the pruned
        weights (at the values they had when pruned).
    """

    weight: np.ndarray
    mask: np.ndarray
    losses: np.ndarray


def hessian_from_inputs(inputs: Any) -> np.ndarray:
    r""":math:`2XX^\top / \text{tokens}` for inputs ``(..., in)`` (all leading axes are tokens).

    The scale does not change SparseGPT's result (the damping is relative).
    """
    x = np.asarray(to_numpy(inputs), dtype=np.float64)
    x2 = x.reshape(-1, x.shape[-1])  # (tokens, in)
    return 2.0 * (x2.T @ x2) / max(x2.shape[0], 1)


def _inverse_cholesky(hessian: np.ndarray, percdamp: float) -> np.ndarray:
    """Upper Cholesky factor ``U`` of ``inv(H + damp I)`` (``inv = U.T @ U``)."""
    import scipy.linalg  # a core dependency, imported when first needed

    h = hessian.copy()
    damp = percdamp * float(np.mean(np.diag(h)))
    h[np.diag_indices_from(h)] += damp
    factor = scipy.linalg.cho_factor(h, lower=True)
    h_inv = scipy.linalg.cho_solve(factor, np.eye(h.shape[0]))
    h_inv = (h_inv + h_inv.T) / 2  # exact symmetry for the second factorisation
    return np.linalg.cholesky(h_inv).T  # (in, in), upper


def sparsegpt(
    weight: Any,
    hessian: Any,
    sparsity: float = 0.5,
    n: int | None = None,
    m: int | None = None,
    blocksize: int = 128,
    percdamp: float = 0.01,
) -> SparseGPTResult:
    r"""Prune ``weight`` with SparseGPT given the Hessian of its inputs.

    Parameters
    ----------
    weight : array, shape ``(out, in)``
    hessian : array, shape ``(in, in)``
        :math:`2XX^\top` (any positive scale), e.g. :func:`hessian_from_inputs`.
        Columns whose diagonal is 0 (an input that is always 0) get the weight 0
        and a unit diagonal, as in the authors' code.
    sparsity : float in [0, 1), default 0.5
        Unstructured: the share pruned in every block of columns. Ignored for N:M.
    n, m : int, optional
        Both or neither: N:M sparsity (keep ``n`` of every ``m`` consecutive inputs).
    blocksize : int, default 128
        Columns per lazy block; a multiple of ``m`` for N:M. For unstructured
        sparsity it is also the width of the adaptive mask selection: with
        ``in <= blocksize`` the whole mask is chosen at once, from the weights
        before any update. The papers' 128 is 1/32 of a 4096-wide layer; narrow
        layers need a smaller block for the selection to adapt.
    percdamp : float > 0, default 0.01
        Damping :math:`\lambda` as a fraction of the mean diagonal of ``hessian``.

    Returns
    -------
    SparseGPTResult

    Book: §8.1.
    """
    w = np.array(to_numpy(weight), dtype=np.float64)
    h = np.array(to_numpy(hessian), dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weight must be a (out, in) matrix, got shape {w.shape}")
    rows, cols = w.shape
    if h.shape != (cols, cols):
        raise ValueError(f"hessian must have shape (in, in) = ({cols}, {cols}), got {h.shape}")
    if not np.all(np.isfinite(h)) or not np.allclose(h, h.T):
        raise ValueError("hessian must be a finite symmetric matrix (2 X X^T)")
    if (n is None) != (m is None):
        raise ValueError(f"give both n and m for N:M sparsity, or neither; got n={n}, m={m}")
    blocksize = check_positive_int("blocksize", blocksize)
    if not float(percdamp) > 0:
        raise ValueError(f"percdamp must be > 0, got {percdamp}")
    if n is not None:
        n, m = _check_nm(n, m)
        if cols % m or blocksize % m:
            raise ValueError(
                f"N:M needs in ({cols}) and blocksize ({blocksize}) divisible by m={m}"
            )
    else:
        sparsity = _check_sparsity(sparsity)

    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    u = _inverse_cholesky(h, float(percdamp))  # (in, in), upper
    pruned = np.zeros((rows, cols), dtype=bool)
    losses = np.zeros(rows)

    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        w1 = w[:, i1:i2].copy()  # (out, B)
        u1 = u[i1:i2, i1:i2]  # (B, B)
        err1 = np.zeros_like(w1)  # (w - q) / d of each column, for the lazy update
        if n is None:
            obs = w1**2 / np.diag(u1)[None, :] ** 2  # (out, B), OBS error x 2
            count = int(obs.size * sparsity)
            order = np.argsort(obs, axis=None, kind="stable")[:count]
            block = np.zeros(obs.size, dtype=bool)
            block[order] = True
            pruned[:, i1:i2] = block.reshape(obs.shape)
        for j in range(i2 - i1):
            if n is not None and j % m == 0:
                group = w1[:, j : j + m] ** 2 / np.diag(u1)[None, j : j + m] ** 2  # (out, m)
                drop = np.argsort(group, axis=1, kind="stable")[:, : m - n]  # (out, m-n)
                np.put_along_axis(pruned[:, i1 + j : i1 + j + m], drop, True, axis=1)
            col = w1[:, j]
            d = u1[j, j]
            q = np.where(pruned[:, i1 + j], 0.0, col)
            losses += (col - q) ** 2 / d**2 / 2
            err = (col - q) / d  # (out,)
            w1[:, j:] -= np.outer(err, u1[j, j:])  # OBS update inside the block
            w1[:, j] = q  # exactly zero where pruned
            err1[:, j] = err
        w[:, i1:i2] = w1
        w[:, i2:] -= err1 @ u[i1:i2, i2:]  # lazy update of the later columns
    return SparseGPTResult(w, ~pruned, losses)


__all__ = ["SparseGPTResult", "hessian_from_inputs", "sparsegpt"]
