import numpy as np
import pytest
import scipy.sparse as sp

from snippets.embeddings.ppmi import pmi_values, shifted_ppmi, svd_vectors


def test_pmi_by_hand_without_smoothing():
    x = np.array([[4.0, 1.0], [1.0, 2.0]])
    total = x.sum()
    expected = np.log(x * total / (x.sum(1, keepdims=True) * x.sum(0, keepdims=True)))
    np.testing.assert_allclose(pmi_values(sp.csr_matrix(x), cds=1.0).toarray(), expected)


def test_shift_subtracts_log_k_and_clips():
    x = sp.csr_matrix(np.array([[9.0, 1.0, 0.0], [1.0, 9.0, 2.0], [0.0, 2.0, 5.0]]))
    pmi = pmi_values(x).toarray()
    np.testing.assert_allclose(shifted_ppmi(x, k=5).toarray(),
                               np.where(x.toarray() > 0, np.maximum(pmi - np.log(5), 0), 0))


def test_svd_vectors_reconstruct_a_low_rank_matrix():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 3))
    m = sp.csr_matrix(a @ a.T)
    v = svd_vectors(m, 3, power=0.5)
    np.testing.assert_allclose(v @ v.T, m.toarray(), atol=1e-8)   # symmetric PSD: U S^0.5 (U S^0.5)^T


def test_bad_input():
    with pytest.raises(ValueError, match="no non-zero"):
        pmi_values(sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="dim must be"):
        svd_vectors(sp.csr_matrix(np.eye(3)), 5)
