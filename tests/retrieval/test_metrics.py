import numpy as np
import pytest
import pytrec_eval

from snippets.retrieval.metrics import average_precision, hit_at, ndcg_at, ranked, recall_at, reciprocal_rank


def random_case(seed):
    """A run with many tied scores (rounded) and graded qrels, as string ids of varying length."""
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in rng.permutation(40)]
    run = {d: float(np.round(rng.random(), 1)) for d in docs[:30]}    # about 3 documents per score
    qrels = {d: int(rng.integers(1, 3)) for d in rng.choice(docs, 6, replace=False)}
    qrels[docs[-1]] = 0   # judged non-relevant
    return run, qrels


@pytest.mark.parametrize("seed", range(20))
def test_equal_to_pytrec_eval_with_ties(seed):
    run, qrels = random_case(seed)
    measures = {"recall_10", "ndcg_cut_10", "map", "map_cut_10", "recip_rank", "P_1"}
    theirs = pytrec_eval.RelevanceEvaluator({"q": qrels}, measures).evaluate({"q": run})["q"]
    assert recall_at(run, qrels, 10) == pytest.approx(theirs["recall_10"])
    assert ndcg_at(run, qrels, 10) == pytest.approx(theirs["ndcg_cut_10"])
    assert average_precision(run, qrels) == pytest.approx(theirs["map"])
    assert average_precision(run, qrels, 10) == pytest.approx(theirs["map_cut_10"])
    assert reciprocal_rank(run, qrels) == pytest.approx(theirs["recip_rank"])
    assert hit_at(run, qrels, 1) == pytest.approx(theirs["P_1"])   # P@1 is hit@1


def test_mrr_at_k_equals_pytrec_eval_on_the_truncated_run():
    for seed in range(10):
        run, qrels = random_case(seed)
        top = {d: run[d] for d in ranked(run)[:3]}
        theirs = pytrec_eval.RelevanceEvaluator({"q": qrels}, {"recip_rank"}).evaluate({"q": top})["q"]
        assert reciprocal_rank(run, qrels, 3) == pytest.approx(theirs["recip_rank"])


def test_ties_break_by_descending_document_id():
    assert ranked({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]
    # the tie decides the metric: the relevant "a" is ranked below "c"
    assert reciprocal_rank({"a": 1.0, "c": 1.0}, {"a": 1}) == 0.5


def test_bad_input():
    with pytest.raises(ValueError, match="no relevant"):
        recall_at({"a": 1.0}, {"a": 0}, 1)
    with pytest.raises(ValueError, match="at least 1"):
        ndcg_at({"a": 1.0}, {"a": 1}, 0)
