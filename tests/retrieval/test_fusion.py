import pytest

from snippets.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_by_hand():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)


def test_a_document_both_rankers_like_beats_one_that_only_one_ranks_first():
    fused = reciprocal_rank_fusion([["x", "both"], ["y", "both"]])
    assert fused[0][0] == "both"


def test_no_rankings_is_an_error():
    with pytest.raises(ValueError, match="no rankings"):
        reciprocal_rank_fusion([])
