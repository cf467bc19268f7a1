"""Ranking metrics as trec_eval defines them (and pytrec_eval, BEIR and MTEB compute them).

A run maps each document to a score; it is ranked by score, highest first, and ties are broken
the way trec_eval breaks them: by document id in *descending* string order. Relevance r(d) >= 1
counts as relevant; nDCG uses gain r(d) and discount log2(rank + 1) (trec_eval's ndcg_cut).
"""

# --8<-- [start:imports]
import math
from collections.abc import Mapping
# --8<-- [end:imports]


# --8<-- [start:rank]
def ranked(run: Mapping[str, float]) -> list[str]:
    """Document ids best first; equal scores in descending id order (trec_eval's tie-break)."""
    return [d for d, _ in sorted(run.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def _check(qrels: Mapping[str, int], k: int | None) -> None:
    if k is not None and k < 1:
        raise ValueError(f"cut-off k must be at least 1, got {k}")
    if not any(r > 0 for r in qrels.values()):
        raise ValueError("the query has no relevant document: recall and nDCG are undefined")
# --8<-- [end:rank]


# --8<-- [start:metrics]
def recall_at(run: Mapping[str, float], qrels: Mapping[str, int], k: int) -> float:
    """Fraction of the relevant documents found in the top k."""
    _check(qrels, k)
    relevant = {d for d, r in qrels.items() if r > 0}
    return len(relevant & set(ranked(run)[:k])) / len(relevant)


def hit_at(run: Mapping[str, float], qrels: Mapping[str, int], k: int) -> float:
    """1 if any relevant document is in the top k (success@k)."""
    _check(qrels, k)
    return float(any(qrels.get(d, 0) > 0 for d in ranked(run)[:k]))


def reciprocal_rank(run: Mapping[str, float], qrels: Mapping[str, int], k: int | None = None) -> float:
    """1 / rank of the first relevant document (0 if none in the top k); its mean over queries is MRR."""
    _check(qrels, k)
    for rank, d in enumerate(ranked(run)[:k], start=1):
        if qrels.get(d, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(run: Mapping[str, float], qrels: Mapping[str, int], k: int) -> float:
    """DCG@k / ideal DCG@k with gain r(d) and discount 1 / log2(rank + 1)."""
    _check(qrels, k)
    dcg = sum(qrels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked(run)[:k]))
    ideal = sorted((r for r in qrels.values() if r > 0), reverse=True)[:k]
    return dcg / sum(r / math.log2(i + 2) for i, r in enumerate(ideal))


def average_precision(run: Mapping[str, float], qrels: Mapping[str, int], k: int | None = None) -> float:
    """Mean of precision@rank over the ranks of relevant documents, divided by all relevant (MAP's term)."""
    _check(qrels, k)
    relevant = {d for d, r in qrels.items() if r > 0}
    hits, total = 0, 0.0
    for rank, d in enumerate(ranked(run)[:k], start=1):
        if d in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)
# --8<-- [end:metrics]
