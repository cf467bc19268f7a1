import numpy as np
import pytest

from snippets.retrieval.evaluate import evaluate_runs, runs_from_scores


def test_runs_keep_the_top_documents_and_metrics_average_over_queries():
    scores = np.array([[0.1, 0.9, 0.5], [0.8, 0.2, 0.3]])
    runs = runs_from_scores(scores, depth=2)
    assert runs == [{"1": 0.9, "2": 0.5}, {"0": 0.8, "2": 0.3}]
    result = evaluate_runs(runs, [{"1": 1}, {"2": 1}])
    assert result["hit@1"] == 0.5 and result["MRR@10"] == pytest.approx(0.75)
    assert result["recall@10"] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="2 runs for 1 queries"):
        evaluate_runs([{}, {}], [{"a": 1}])
    with pytest.raises(ValueError, match="depth"):
        runs_from_scores(np.zeros((1, 2)), depth=0)
