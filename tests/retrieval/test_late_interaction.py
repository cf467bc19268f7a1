import numpy as np
import pytest

from snippets.retrieval.late_interaction import maxsim, rerank


def test_maxsim_on_a_hand_computed_case():
    query = np.array([[1.0, 0.0], [0.0, 1.0]])
    document = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    # token 1 best matches [1, 0] (1.0); token 2 best matches [0.6, 0.8] (0.8)
    assert maxsim(query, document) == pytest.approx(1.8)


def test_a_document_holding_every_query_token_scores_the_maximum():
    rng = np.random.default_rng(0)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    query, document = unit(rng.normal(size=(3, 8))), unit(rng.normal(size=(5, 8)))
    assert maxsim(query, document) < 3.0
    assert maxsim(query, np.vstack([document, query])) == pytest.approx(3.0)  # each token finds itself: cos 1


def test_rerank_orders_candidates_by_maxsim_and_keeps_ties_in_first_stage_order():
    docs = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])]
    query = [np.array([[1.0, 0.0]])]
    scores, ids = rerank(query, docs, np.array([[1, 2, 0]]), k=3)
    np.testing.assert_array_equal(ids, [[2, 0, 1]])     # 2 and 0 tie at 1.0: first-stage order kept
    np.testing.assert_allclose(scores, [[1.0, 1.0, 0.0]])


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="no tokens"):
        maxsim(np.zeros((0, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"\(Tq, C\) and \(Td, C\)"):
        maxsim(np.ones((2, 4)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="1 <= k <= 3"):
        rerank([np.ones((1, 2))], [np.ones((1, 2))] * 3, np.array([[0, 1, 2]]), k=4)
