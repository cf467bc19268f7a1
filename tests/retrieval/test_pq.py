import faiss
import numpy as np
import pytest

from snippets.retrieval.exact import exact_search
from snippets.retrieval.pq import IVFPQIndex, PQIndex, adc, distance_tables, pq_decode, pq_encode, train_pq

C, M, NBITS = 16, 4, 4  # 16 centroids per sub-space keeps k-means quick


def data(seed=0, n=1500):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, C)).astype(np.float32), rng.normal(size=(40, C)).astype(np.float32)


def faiss_pq(x):
    ref = faiss.IndexPQ(C, M, NBITS)
    ref.train(x)
    ref.add(x)
    return ref, faiss.vector_to_array(ref.pq.centroids).reshape(M, 2 ** NBITS, C // M)


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)])


def test_codes_and_search_equal_faiss_given_its_codebooks():
    x, q = data()
    ref, books = faiss_pq(x)
    codes = pq_encode(books, x)
    theirs = faiss.vector_to_array(ref.codes).reshape(len(x), -1)
    # faiss packs 4-bit codes two to a byte; unpack them (low nibble first) to compare
    unpacked = np.stack([theirs & 15, theirs >> 4], axis=2).reshape(len(x), -1)[:, :M]
    np.testing.assert_array_equal(codes, unpacked)
    distances, ids = ref.search(q, 10)
    scores, ours = PQIndex(books).add(x).search(q, 10)
    np.testing.assert_array_equal(ours, ids)
    np.testing.assert_allclose(-scores, distances, rtol=1e-5, atol=1e-4)


def test_adc_is_the_distance_to_the_decoded_vector():
    x, q = data(1)
    books = train_pq(x, M, NBITS, iters=5)
    codes = pq_encode(books, x)
    direct = ((q[:, None, :] - pq_decode(books, codes)[None]) ** 2).sum(-1)
    np.testing.assert_allclose(adc(distance_tables(books, q), codes), direct, rtol=1e-4, atol=1e-4)


def test_our_training_recalls_as_well_as_faiss():
    x, q = data(2)
    _, truth = exact_search(x, q, 10, "l2")
    ref, _ = faiss_pq(x)
    theirs = recall(ref.search(q, 10)[1], truth)
    ours = recall(PQIndex(train_pq(x, M, NBITS)).add(x).search(q, 10)[1], truth)
    assert ours >= theirs - 0.05, (ours, theirs)  # 40 queries: 0.05 is a few neighbours


def test_ivfpq_equals_faiss_given_its_centroids_and_codebooks():
    x, q = data(3)
    nlist = 8
    quantizer = faiss.IndexFlatL2(C)
    ref = faiss.IndexIVFPQ(quantizer, C, nlist, M, NBITS)
    ref.train(x)
    ref.add(x)
    books = faiss.vector_to_array(ref.pq.centroids).reshape(M, 2 ** NBITS, C // M)
    ours = IVFPQIndex(quantizer.reconstruct_n(0, nlist), books).add(x)
    for nprobe in (1, 3, nlist):
        ref.nprobe = nprobe
        distances, ids = ref.search(q, 10)
        scores, found = ours.search(q, 10, nprobe)
        np.testing.assert_array_equal(found, ids)
        np.testing.assert_allclose(-scores, distances, rtol=1e-5, atol=1e-4)


def test_bad_inputs_name_the_problem():
    x, q = data()
    with pytest.raises(ValueError, match="must divide the width C=16"):
        train_pq(x, 5)
    with pytest.raises(ValueError, match="cannot give 256 centroids"):
        train_pq(x[:100], M, 8)
    with pytest.raises(ValueError, match=r"vectors must be \(N, 16\)"):
        pq_encode(train_pq(x, M, NBITS, iters=1), x[:, :8])
    with pytest.raises(ValueError, match="nprobe=9 must be between 1 and nlist=8"):
        IVFPQIndex.train(x, 8, M, NBITS).add(x).search(q, 5, nprobe=9)
