import faiss
import numpy as np
import pytest

from snippets.retrieval.exact import exact_search
from snippets.retrieval.ivf import IVFIndex, kmeans


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2000, 16)).astype(np.float32), rng.normal(size=(50, 16)).astype(np.float32)


def test_nprobe_equal_to_nlist_is_exact_search():
    x, q = data()
    index = IVFIndex(kmeans(x, 20, iters=5), metric="dot").add(x)
    np.testing.assert_array_equal(index.search(q, 10, nprobe=20)[1], exact_search(x, q, 10, "dot")[1])


def test_same_top_k_as_faiss_given_the_same_centroids():
    x, q = data(1)
    nlist = 16
    quantizer = faiss.IndexFlatL2(16)
    ref = faiss.IndexIVFFlat(quantizer, 16, nlist, faiss.METRIC_INNER_PRODUCT)
    ref.train(x)
    ref.add(x)
    ours = IVFIndex(quantizer.reconstruct_n(0, nlist), metric="dot").add(x)
    for nprobe in (1, 4):
        ref.nprobe = nprobe
        _, theirs = ref.search(q, 10)
        np.testing.assert_array_equal(ours.search(q, 10, nprobe)[1], theirs)


def test_kmeans_lowers_the_within_cell_distance():
    x, _ = data()
    def inertia(c):
        return (((x[:, None] - c[None]) ** 2).sum(-1)).min(1).sum()
    assert inertia(kmeans(x, 8, iters=10)) < inertia(kmeans(x, 8, iters=0))


def test_bad_input():
    x, q = data()
    index = IVFIndex(kmeans(x, 4, iters=2)).add(x)
    with pytest.raises(ValueError, match="nprobe=5 must be between 1 and nlist=4"):
        index.search(q, 3, nprobe=5)
    with pytest.raises(ValueError, match="width mismatch"):
        index.search(q[:, :8], 3)
    with pytest.raises(ValueError, match="nlist=3000"):
        kmeans(x, 3000)


def test_a_batch_of_queries_gets_what_each_query_gets_alone():
    x, q = data(2)
    index = IVFIndex(kmeans(x, 16, iters=5), metric="dot").add(x)
    scores, ids = index.search(q, 10, nprobe=3)
    for i in range(len(q)):
        alone_scores, alone_ids = index.search(q[i:i + 1], 10, nprobe=3)
        np.testing.assert_array_equal(alone_ids[0], ids[i])
        np.testing.assert_allclose(alone_scores[0], scores[i], rtol=1e-6)


def test_cells_with_fewer_than_k_vectors_pad_with_minus_one():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0], [-0.9, -0.1], [-0.8, 0.0]], dtype=np.float32)
    index = IVFIndex(np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=np.float32)).add(x)
    scores, ids = index.search(np.array([[1.0, 0.0]], dtype=np.float32), 3, nprobe=1)
    np.testing.assert_array_equal(ids, [[0, 1, -1]])                 # the near cell holds two
    assert scores[0, 2] == -np.inf
    np.testing.assert_array_equal(index.search(np.array([[1.0, 0.0]], dtype=np.float32), 3, nprobe=2)[1],
                                  [[0, 1, 4]])                        # the far cell fills the rest
