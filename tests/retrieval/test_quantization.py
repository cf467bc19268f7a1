import faiss
import numpy as np
import pytest

from snippets.retrieval.exact import exact_search
from snippets.retrieval.quantization import ScalarQuantizer8, binary_codes, binary_search, hamming


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1000, 64)).astype(np.float32), rng.normal(size=(30, 64)).astype(np.float32)


def test_int8_codes_equal_faiss_qt_8bit_inside_and_outside_the_trained_range():
    x, q = data()
    ref = faiss.IndexScalarQuantizer(64, faiss.ScalarQuantizer.QT_8bit)
    ref.train(x)
    sq = ScalarQuantizer8.train(x)
    for v in (x, 1.5 * q):  # 1.5 q leaves the range: both clip
        np.testing.assert_array_equal(sq.encode(v), ref.sa_encode(v))
        np.testing.assert_allclose(sq.decode(sq.encode(v)), ref.sa_decode(ref.sa_encode(v)), atol=1e-6)


def test_int8_error_is_at_most_half_a_step():
    x, _ = data(1)
    sq = ScalarQuantizer8.train(x)
    step = (x.max(0) - x.min(0)) / 255
    assert (np.abs(sq.decode(sq.encode(x)) - x) <= step / 2 + 1e-5).all()


def test_hamming_equals_faiss_binary_flat():
    x, q = data(2)
    db, queries = binary_codes(x), binary_codes(q)
    ref = faiss.IndexBinaryFlat(64)
    ref.add(db)
    distances, ids = ref.search(queries, 10)
    ours = hamming(db, queries)
    np.testing.assert_array_equal(np.sort(ours, axis=1)[:, :10], distances)
    np.testing.assert_array_equal(np.take_along_axis(ours, ids, axis=1), distances)  # faiss's ids, our distances


def test_rescoring_everything_is_exact_search():
    x, q = data(3)
    _, ids = binary_search(x, binary_codes(x), q, 10, rescore=len(x))
    np.testing.assert_array_equal(ids, exact_search(x, q, 10, "dot")[1])


def test_bad_inputs_name_the_problem():
    x, q = data()
    with pytest.raises(ValueError, match="multiple of 8"):
        binary_codes(x[:, :60])
    with pytest.raises(ValueError, match="rescore=5 must be 0 or between k=10"):
        binary_search(x, binary_codes(x), q, 10, rescore=5)
    with pytest.raises(ValueError, match=r"vectors must be \(N, 64\)"):
        ScalarQuantizer8.train(x).encode(x[:, :32])
