import numpy as np
import pytest

from snippets.retrieval.exact import exact_search, normalize, similarity


def test_exact_search_equals_a_full_sort():
    rng = np.random.default_rng(0)
    db, q = rng.normal(size=(500, 16)), rng.normal(size=(20, 16))
    for metric in ("cosine", "dot", "l2"):
        scores, ids = exact_search(db, q, 10, metric, block=7)
        full = similarity(db, q, metric)
        np.testing.assert_array_equal(ids, np.argsort(-full, axis=1, kind="stable")[:, :10])
        np.testing.assert_allclose(scores, np.take_along_axis(full, ids, 1))
    d2 = ((q[:, None, :] - db[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(exact_search(db, q, 5, "l2")[1], np.argsort(d2, axis=1)[:, :5])


def test_ties_go_to_the_smaller_id():
    db = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert exact_search(db, np.array([[1.0, 0.0]]), 2, "dot")[1].tolist() == [[0, 2]]


def test_cosine_and_dot_can_disagree():
    # a long vector pointing a little off wins under dot, the aligned short one under cosine
    db = np.array([[1.0, 0.0], [3.0, 3.0]])
    q = np.array([[1.0, 0.1]])
    assert exact_search(db, q, 1, "cosine")[1][0, 0] == 0
    assert exact_search(db, q, 1, "dot")[1][0, 0] == 1


def test_bad_input():
    db = np.ones((4, 3))
    with pytest.raises(ValueError, match="width mismatch: collection vectors have C=3, queries have C=2"):
        exact_search(db, np.ones((1, 2)), 1)
    with pytest.raises(ValueError, match="k=5 must be between 1 and the collection size N=4"):
        exact_search(db, np.ones((1, 3)), 5)
    with pytest.raises(ValueError, match="empty"):
        exact_search(np.ones((0, 3)), np.ones((1, 3)), 1)
    with pytest.raises(ValueError, match="zero vector"):
        normalize(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="zero vector"):
        exact_search(db, np.zeros((1, 3)), 1, "cosine")
    with pytest.raises(ValueError, match="unknown metric"):
        exact_search(db, np.ones((1, 3)), 1, "hamming")
