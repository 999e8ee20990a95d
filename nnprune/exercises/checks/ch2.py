"""Checks of chapter 2: the three sparsity measures; CSR storage, product and bytes."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require


def _pruned(shape, sparsity, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=shape)
    W[rng.random(shape) < sparsity] = 0.0
    return W


# --------------------------------------------------------------------------- measures
EX = "ch2.sparsity_measures"


def _scalar(value, what):
    arr = as_array(value, what)
    require(arr.size == 1, f"{what} must be one number, got shape {arr.shape}")
    return arr.reshape(())


@check(EX, "weight and activation sparsity equal nnprune.metrics.sparsity")
def _weight_act(student):
    from ...metrics import sparsity

    W = _pruned((6, 7), 0.6, 0)
    W[0, :3] = 1e-12  # tiny, not pruned
    relu = np.maximum(np.random.default_rng(1).normal(size=(8, 5)), 0)
    for fn_name, arr, case in (("weight_sparsity", W, "W (6, 7) with tiny non-zeros"),
                               ("activation_sparsity", relu, "ReLU outputs (8, 5)")):  # fmt: skip
        got = _scalar(function(student, fn_name)(arr.copy()), f"{fn_name}(...)")
        truth = sparsity(arr)
        compare(f"{fn_name}", got, truth, case=case,
                mistakes=[("sparsity is the fraction of zeros, not of non-zeros", 1 - truth),
                          ("count exact zeros (A == 0), not near-zeros",
                           float(np.mean(np.abs(arr) < 1e-6)))])  # fmt: skip


@check(EX, "connection sparsity of Linear and Conv2d weights")
def _connections(student):
    from ...metrics.sparsity import zero_inputs, zero_outputs

    fn = function(student, "connection_sparsity")
    lin = _pruned((6, 5), 0.3, 2)
    lin[[1, 4]] = 0.0  # two dead neurons
    lin[:, 2] = 0.0  # one dead input
    conv = _pruned((4, 3, 3, 3), 0.2, 3)
    conv[2] = 0.0  # a dead filter
    conv[:, 0] = 0.0  # a dead input channel
    conv[:, 1, :2] = 0.0  # partly zero: still alive
    for case, W in (("Linear weight (6, 5)", lin), ("Conv2d weight (4, 3, 3, 3)", conv)):
        got = fn(W.copy())
        require(isinstance(got, tuple | list) and len(got) == 2,
                f"{case}: return (output_fraction, input_fraction), got {got!r:.60}")  # fmt: skip
        truth = np.array([zero_outputs(W).mean(), zero_inputs(W).mean()])
        compare("(output_fraction, input_fraction)", np.asarray(got, dtype=float), truth,
                case=case, mistakes=[("wrong axis: outputs are W[i] (axis 0), inputs W[:, j] "
                                      "(axis 1)", truth[::-1])])  # fmt: skip


# --------------------------------------------------------------------------- CSR
EX = "ch2.csr_matvec"


def _csr_case(seed):
    W = _pruned((5, 7), 0.7, seed)
    W[3] = 0.0  # an empty row
    return W


@check(EX, "to_csr equals scipy.sparse.csr_matrix")
def _to_csr(student):
    import scipy.sparse as sp

    fn = function(student, "to_csr")
    for seed in (0, 1):
        W = _csr_case(seed)
        got = fn(W.copy())
        require(isinstance(got, tuple | list) and len(got) == 3,
                f"return (data, indices, indptr), got {type(got).__name__}")  # fmt: skip
        ref = sp.csr_matrix(W)
        ref.sort_indices()
        case = f"W (5, 7) with {np.count_nonzero(W)} non-zeros and an empty row 3"
        compare(
            "indptr",
            got[2],
            ref.indptr,
            case=case,
            mistakes=[("indptr has rows + 1 entries and starts with 0", ref.indptr[1:])],
        )
        compare("indices", got[1], ref.indices, case=case,
                mistakes=[("indices holds column indices (rows are in indptr)",
                           np.nonzero(W)[0])])  # fmt: skip
        compare("data", got[0], ref.data, case=case)
        for name, arr in (("indices", got[1]), ("indptr", got[2])):
            require(np.asarray(arr).dtype == np.int32,
                    f"{case}: {name} must have dtype int32, got {np.asarray(arr).dtype}",
                    "np.asarray(..., dtype=np.int32)")  # fmt: skip


@check(EX, "csr_matvec equals W @ x")
def _matvec(student):
    import scipy.sparse as sp

    fn = function(student, "csr_matvec")
    for seed in (2, 3):
        W = _csr_case(seed)
        x = np.random.default_rng(seed).normal(size=7)
        ref = sp.csr_matrix(W)
        got = fn(ref.data.copy(), ref.indices.copy(), ref.indptr.copy(), x.copy())
        rows = np.repeat(np.arange(5), np.diff(ref.indptr))
        shifted = np.bincount(rows, ref.data * x[np.minimum(rows, 6)], minlength=5)
        compare("y", got, W @ x, case=f"W (5, 7), seed {seed}",
                mistakes=[("x is indexed by the COLUMN indices: y[i] = sum of data[k] * "
                           "x[indices[k]] over row i's slice", shifted)])  # fmt: skip


@check(EX, "csr_nbytes equals nnprune.sparse.sparse_nbytes")
def _nbytes(student):
    import scipy.sparse as sp

    from ...sparse import sparse_nbytes

    fn = function(student, "csr_nbytes")
    for dtype in (np.float32, np.float64):
        W = _csr_case(4).astype(dtype)
        ref = sp.csr_matrix(W)
        got = fn(ref.data, ref.indices, ref.indptr)
        truth = sparse_nbytes(ref)
        try:
            value = int(got)
        except (TypeError, ValueError):
            raise CheckFailed(f"csr_nbytes must return an int, got {got!r:.60}") from None
        compare("csr_nbytes", value, truth, case=f"{dtype.__name__} values",
                mistakes=[("count indices and indptr too, not only the values",
                           ref.data.nbytes),
                          ("bytes, not entries: use .nbytes",
                           ref.data.size + ref.indices.size + ref.indptr.size)])  # fmt: skip

from . import ch2_lab  # noqa: E402, F401 - the lab exercise (weight-histogram statistics)
