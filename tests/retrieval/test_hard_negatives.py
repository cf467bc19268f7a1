import numpy as np
import pytest

from snippets.retrieval.hard_negatives import hard_negatives


def test_best_non_relevant_documents_in_score_order():
    scores = np.array([[0.9, 0.8, 0.1, 0.7, 0.5]])
    # document 0 is relevant: the negatives are 1, 3, 4 in score order
    assert hard_negatives(scores, [{"0": 1}], n=2) == [[1, 3]]
    assert hard_negatives(scores, [{"0": 1, "3": 1}], n=3) == [[1, 4, 2]]


def test_positive_aware_filter_drops_candidates_almost_as_good_as_the_positive():
    scores = np.array([[0.80, 0.79, 0.60, 0.50]])
    # 0.9 * 0.80 = 0.72: document 1 (0.79) is a probable unlabelled answer and is skipped
    assert hard_negatives(scores, [{"0": 1}], n=2, max_fraction=0.9) == [[2, 3]]
    # the ceiling is set by the best relevant document
    assert hard_negatives(np.array([[0.8, 0.5, 1.0]]), [{"0": 1, "2": 1}], n=1, max_fraction=0.9) == [[1]]


def test_bad_shapes_name_the_problem():
    with pytest.raises(ValueError, match="1 queries and n >= 1"):
        hard_negatives(np.ones((2, 3)), [{"0": 1}], n=1)
    with pytest.raises(ValueError, match="n=0"):
        hard_negatives(np.ones((1, 3)), [{"0": 1}], n=0)
