"""Score retrieval systems on a QA set: one run per query, the metrics averaged over queries.

Shapes: Q queries, D documents.
"""

# --8<-- [start:imports]
import numpy as np

from snippets.retrieval.metrics import hit_at, ndcg_at, recall_at, reciprocal_rank
# --8<-- [end:imports]


# --8<-- [start:evaluate]
def runs_from_scores(scores: np.ndarray, depth: int = 100) -> list[dict[str, float]]:
    """(Q, D) scores -> per query the top `depth` documents as {doc id: score}."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return [{str(d): float(s[d]) for d in row} for s, row in zip(scores, top)]


def evaluate_runs(runs: list[dict[str, float]], qrels: list[dict[str, int]]) -> dict[str, float]:
    """hit@1, recall@10, MRR@10 and nDCG@10, each the mean over queries."""
    if len(runs) != len(qrels):
        raise ValueError(f"{len(runs)} runs for {len(qrels)} queries")
    per = {"hit@1": [hit_at(r, q, 1) for r, q in zip(runs, qrels)],
           "recall@10": [recall_at(r, q, 10) for r, q in zip(runs, qrels)],
           "MRR@10": [reciprocal_rank(r, q, 10) for r, q in zip(runs, qrels)],
           "nDCG@10": [ndcg_at(r, q, 10) for r, q in zip(runs, qrels)]}
    return {k: float(np.mean(v)) for k, v in per.items()}
# --8<-- [end:evaluate]
