import numpy as np
import pytest

from snippets.embeddings.cooccurrence import cooccurrence, cooccurrence_naive


@pytest.mark.parametrize("weighting", ["harmonic", "linear", "uniform"])
def test_vectorised_counts_equal_the_double_loop(weighting):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 15, 200)
    sentence = np.sort(rng.integers(0, 12, 200))
    fast = cooccurrence(ids, sentence, 15, window=4, weighting=weighting).toarray()
    slow = cooccurrence_naive(ids.tolist(), sentence.tolist(), 15, window=4, weighting=weighting)
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    np.testing.assert_allclose(fast, fast.T)


def test_glove_weights_by_inverse_distance():
    x = cooccurrence(np.array([0, 1, 2]), np.zeros(3, dtype=np.int64), 3, window=10).toarray()
    assert x[0, 1] == 1.0 and x[0, 2] == 0.5 and x[1, 2] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        cooccurrence(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="differ in shape"):
        cooccurrence(np.array([0, 1]), np.array([0]), 3)
    with pytest.raises(ValueError, match="unknown weighting"):
        cooccurrence(np.array([0, 1]), np.array([0, 0]), 3, weighting="gaussian")
