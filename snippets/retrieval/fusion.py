"""Reciprocal-rank fusion (Cormack, Clarke & Büttcher 2009, SIGIR): score(d) = sum_r 1 / (k + rank_r(d)).

Only ranks are used, so a lexical and a dense ranker whose scores live on different scales
combine without calibration; k = 60 damps the weight of the very top ranks.
"""

# --8<-- [start:imports]
from collections import defaultdict
from collections.abc import Hashable, Sequence
# --8<-- [end:imports]


# --8<-- [start:rrf]
def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: float = 60.0) -> list[tuple[Hashable, float]]:
    """Fused (id, score) list, best first; ranks start at 1; ties keep first-seen order."""
    if not rankings:
        raise ValueError("no rankings to fuse")
    score: dict = defaultdict(float)
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            score[doc] += 1.0 / (k + rank)
    return sorted(score.items(), key=lambda item: -item[1])
# --8<-- [end:rrf]
