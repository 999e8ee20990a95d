r"""Exercise ch2.csr_matvec: §2.2 稀疏性在神经网络中的重要性 (why sparsity matters).

Task
----
Store a pruned weight matrix in CSR (compressed sparse row) form, multiply a vector with
it without ever building the dense matrix, and count the bytes CSR really takes. This is
where unstructured sparsity saves storage and (with a sparse kernel) time.

Maths
-----
CSR keeps, row after row, the non-zero values ``data`` and their column indices
``indices``; ``indptr[i] : indptr[i + 1]`` is row :math:`i`'s slice of both, so
``indptr`` has ``rows + 1`` entries and starts at 0. The product is

.. math::

    y_i = \sum_{k = \mathrm{indptr}_i}^{\mathrm{indptr}_{i+1} - 1}
          \mathrm{data}_k \, x_{\mathrm{indices}_k}.

Bytes: ``data.nbytes + indices.nbytes + indptr.nbytes``.

Shapes
------
``to_csr(W)``: ``W`` of shape ``(rows, cols)`` -> ``(data, indices, indptr)`` with
``data`` of ``W``'s dtype and ``indices``, ``indptr`` of dtype ``int32`` (what
scipy.sparse uses for small matrices). ``csr_matvec(data, indices, indptr, x)``: ``x`` of
shape ``(cols,)`` -> ``y`` of shape ``(rows,)``. ``csr_nbytes(data, indices, indptr)`` -> int.

Rules
-----
NumPy only: no scipy.sparse, no nnprune.sparse (what the checker compares you with).

Hint
----
``np.nonzero(W)`` returns the row and column indices of the non-zeros in row-major order,
exactly CSR's order; ``np.bincount(rows, minlength=n_rows)`` counts them per row and a
cumulative sum with a leading 0 is ``indptr``.

Check your work: ``nnprune check ch2.csr_matvec``
"""

import numpy as np


def to_csr(W):
    """``(data, indices, indptr)`` of the 2-D array ``W`` (indices and indptr as int32)."""
    # BEGIN SOLUTION
    # Why this is right: row i's non-zeros sit in data[indptr[i]:indptr[i+1]], their columns in
    # indices, so y[i] is one short dot product per row.
    # Usual mistake: indptr of length rows (it needs rows + 1 entries, starting at 0).
    rows, cols = np.nonzero(W)
    counts = np.bincount(rows, minlength=W.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return W[rows, cols], cols.astype(np.int32), indptr
    # END SOLUTION


def csr_matvec(data, indices, indptr, x):
    """``y = W @ x`` from the CSR arrays of ``W``; ``y`` has ``len(indptr) - 1`` entries."""
    # BEGIN SOLUTION
    y = np.zeros(len(indptr) - 1, dtype=np.result_type(data, x))
    for i in range(len(indptr) - 1):
        lo, hi = indptr[i], indptr[i + 1]
        y[i] = data[lo:hi] @ x[indices[lo:hi]]
    return y
    # END SOLUTION


def csr_nbytes(data, indices, indptr):
    """Bytes held by the three CSR arrays."""
    # BEGIN SOLUTION
    return int(data.nbytes + indices.nbytes + indptr.nbytes)
    # END SOLUTION
