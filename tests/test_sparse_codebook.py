"""BSR padding, and Deep-Compression storage (relative indices + codebook): what is exact."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import models, nn, prune, sparse
from nnprune.sparse import codebook


def _pruned_lenet(sparsity=0.9, batchnorm=False, seed=0):
    model = models.mlp((64, 30, 20, 10), batchnorm=batchnorm, seed=seed)
    for _, module, attr, _ in model.prunable_parameters():
        prune.l1_unstructured(module, attr, amount=sparsity)
    return model


# ------------------------------------------------------------------ BSR on odd shapes
def test_bsr_4x4_on_10x100_refuses_clearly_without_pad(rng):
    w = rng.standard_normal((10, 100)).astype(np.float32)
    with pytest.raises(
        ValueError, match=r"must divide the matrix shape \(10, 100\); pass pad=True .* \(12, 100\)"
    ):
        sparse.to_sparse(w, "bsr", blocksize=(4, 4))
    model = nn.Sequential(nn.Linear(100, 10, seed=0))
    with pytest.raises(ValueError, match=r"parameter '0.weight': blocksize \(4, 4\)"):
        sparse.export_model(model, "bsr", blocksize=(4, 4))


def test_bsr_pad_keeps_the_values(rng):
    w = rng.standard_normal((10, 100)).astype(np.float32)
    w[rng.random(w.shape) < 0.8] = 0
    m = sparse.to_sparse(w, "bsr", blocksize=(4, 4), pad=True)
    assert m.shape == (12, 100) and m.blocksize == (4, 4)
    np.testing.assert_array_equal(m.toarray()[:10], w)
    assert not np.any(m.toarray()[10:])


def test_save_sparse_bsr_pads_and_crops_lenet(tmp_path):
    model = _pruned_lenet()  # the last layer is 10x20: 4x4 blocks do not divide 10 rows
    path = tmp_path / "bsr.npz"
    sparse.save_sparse(model, path, "bsr", blocksize=(4, 4))
    state = sparse.load_sparse(path)
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype, key
        np.testing.assert_array_equal(state[key], value, err_msg=key)


# ------------------------------------------------------------------ bit packing, k-means
@pytest.mark.parametrize("bits", [1, 3, 5, 8, 11, 16])
def test_pack_bits_round_trip(bits, rng):
    values = rng.integers(0, 2**bits, size=37)
    packed = codebook.pack_bits(values, bits)
    assert packed.dtype == np.uint8 and packed.size == (37 * bits + 7) // 8
    np.testing.assert_array_equal(codebook.unpack_bits(packed, bits, 37), values)


def test_unpack_bits_rejects_a_wrong_length():
    with pytest.raises(ValueError, match=r"expected uint8 \(4,\) for 6 values of 5 bits"):
        codebook.unpack_bits(np.zeros(3, np.uint8), 5, 6)


def test_kmeans_1d_finds_separated_clusters(rng):
    centres = np.array([-2.0, 0.5, 3.0])
    values = np.concatenate([c + 0.01 * rng.standard_normal(50) for c in centres])
    np.testing.assert_allclose(codebook.kmeans_1d(values, 3), centres, atol=0.01)
    labels = codebook.assign(values, codebook.kmeans_1d(values, 3))
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 50))


def test_encode_bridges_long_gaps_with_fillers():
    w = np.zeros(40, np.float32)
    kept = np.zeros(40, bool)
    kept[[0, 1, 37]] = True  # a gap of 35 zeros, > 2**3 - 1
    w[kept] = [1.0, 2.0, 3.0]
    book, gaps, codes, n = codebook.encode(w, kept, codebook_bits=2, index_bits=3)
    assert n == 3 + 35 // 8 and np.count_nonzero(codes) == 3 and book[0] == 0
    assert gaps.max() <= 7
    weight, mask = codebook.decode(book, gaps, codes, (40,))
    np.testing.assert_array_equal(mask, kept)
    np.testing.assert_array_equal(weight, w)  # 3 values, 3 centroids: exact here


# ------------------------------------------------------------------ whole models
@pytest.mark.parametrize(("codebook_bits", "index_bits"), [(5, 5), (2, 3), (8, 8)])
def test_save_compressed_masks_exact_values_from_codebook(tmp_path, codebook_bits, index_bits):
    model = _pruned_lenet(batchnorm=True)
    model.train().forward(np.random.default_rng(0).standard_normal((16, 64)))  # BN stats
    path = tmp_path / "dc.npz"
    sparse.save_compressed(model, path, codebook_bits=codebook_bits, index_bits=index_bits)
    state = sparse.load_compressed(path)
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    prunable = {name for name, _, _, _ in model.prunable_parameters()}
    with np.load(path, allow_pickle=False) as files:
        for name in prunable:
            book = files[f"codebook/{name}"]
            assert book.size == 2**codebook_bits and book[0] == 0
            w, mask = state[name], state[name + "_mask"]
            np.testing.assert_array_equal(mask, expected[name + "_mask"], err_msg=name)
            assert not np.any(w[~mask])
            assert np.all(np.isin(w[mask], book[1:])), name  # exactly codebook values
            # every kept weight went to its nearest centroid
            nearest = book[1:][np.abs(expected[name][mask][:, None] - book[1:]).argmin(1)]
            np.testing.assert_array_equal(w[mask], nearest)
    for key, value in expected.items():
        assert state[key].dtype == value.dtype, key
        if key not in prunable and not key.endswith("_mask"):
            np.testing.assert_array_equal(state[key], value, err_msg=key)  # biases, BN: exact
    fresh = _pruned_lenet(batchnorm=True, seed=3)
    fresh.load_state_dict(state)


def test_save_compressed_lenet_300_100_is_below_5_percent_of_dense(tmp_path):
    from nnprune import io

    model = models.mlp((784, 300, 100, 10), seed=0)
    dense = io.save(model, tmp_path / "dense.npz").stat().st_size
    for _, module, attr, _ in model.prunable_parameters():
        prune.l1_unstructured(module, attr, amount=0.9)
    sparse.save_sparse(model, tmp_path / "csr.npz")
    sparse.save_compressed(model, tmp_path / "dc.npz", codebook_bits=5, index_bits=5)
    size = (tmp_path / "dc.npz").stat().st_size
    assert size < 0.05 * dense
    assert size < 0.5 * (tmp_path / "csr.npz").stat().st_size


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codebook_bits": 0}, r"codebook_bits must be an int in \[1, 16\], got 0"),
        ({"index_bits": 17}, r"index_bits must be an int in \[1, 16\], got 17"),
        ({"codebook_bits": 2.5}, r"codebook_bits must be an int in \[1, 16\], got 2.5"),
    ],
)
def test_save_compressed_argument_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sparse.save_compressed(_pruned_lenet(), tmp_path / "x.npz", **kwargs)


def test_load_compressed_bad_files(tmp_path):
    sparse.save_sparse(_pruned_lenet(), tmp_path / "csr.npz")
    with pytest.raises(ValueError, match="not an nnprune codebook file"):
        sparse.load_compressed(tmp_path / "csr.npz")
    path = tmp_path / "dc.npz"
    sparse.save_compressed(_pruned_lenet(), path)
    with np.load(path, allow_pickle=False) as files:
        arrays = {k: files[k] for k in files.files}
    arrays["codes/0.weight"] = arrays["codes/0.weight"][:-1]
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match=r"entry '0.weight' is corrupt or incomplete"):
        sparse.load_compressed(path)


def test_save_compressed_conv_model_round_trips_masks(tmp_path):
    model = models.small_cnn(seed=0)
    for _, module, attr, _ in model.prunable_parameters():
        prune.l1_unstructured(module, attr, amount=0.8)
    path = tmp_path / "cnn.npz"
    sparse.save_compressed(model, path, codebook_bits=4, index_bits=4)
    state = sparse.load_compressed(path)
    expected = model.state_dict()
    assert sorted(state) == sorted(expected)
    for name, _, _, p in model.prunable_parameters():
        assert state[name].shape == p.shape and state[name].dtype == p.dtype
        np.testing.assert_array_equal(state[name + "_mask"], p.mask)
        assert np.unique(state[name][p.mask]).size <= 2**4 - 1
