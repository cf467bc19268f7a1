"""Hard negatives for training a retriever or re-ranker, with false negatives filtered out.

A hard negative is a document that a first stage ranks high for a query but that is not relevant.
Two filters keep true answers out of the negatives: the labels (never a known relevant document)
and the positive's own score, as in NV-Retriever's positive-aware mining (Moreira et al. 2024,
arXiv:2407.15831): a candidate scored almost as high as the positive is more likely an unlabelled
answer than a wrong one, so it is dropped.
Shapes: Q queries, D documents, n negatives.
"""

# --8<-- [start:imports]
import numpy as np
# --8<-- [end:imports]


# --8<-- [start:mine]
def hard_negatives(scores: np.ndarray, qrels: list[dict[str, int]], n: int,
                   max_fraction: float | None = None) -> list[list[int]]:
    """Per query, the n best-scored documents that are not relevant, best first; (Q, D) scores.

    With max_fraction, a candidate scoring above max_fraction * (the best relevant score) is
    skipped as a probable false negative (scores must then be positive, e.g. cosines of related texts).
    """
    if scores.ndim != 2 or scores.shape[0] != len(qrels) or n < 1:
        raise ValueError(f"need (Q, D) scores for {len(qrels)} queries and n >= 1, got {scores.shape}, n={n}")
    out = []
    for row, rel in zip(scores, qrels):
        relevant = {int(d) for d, r in rel.items() if r > 0}
        ceiling = np.inf if max_fraction is None else max_fraction * max(row[d] for d in relevant)
        ranked = np.argsort(-row, kind="stable")
        out.append([int(d) for d in ranked if d not in relevant and row[d] <= ceiling][:n])
    return out
# --8<-- [end:mine]
