"""Late interaction: score a document by matching every query token to its best document token.

ColBERT (Khattab & Zaharia 2020, arXiv:2004.12832) keeps one vector per token instead of one per
text, and scores a (query, document) pair by MaxSim: for each query token, the largest cosine
with any document token, summed over the query's tokens. Documents are encoded offline, as with
a bi-encoder; the interaction is only the MaxSim at query time, hence "late". Used here as a
second stage: re-rank a first stage's candidates.
Shapes: Tq query tokens, Td document tokens, C width, k candidates.
"""

# --8<-- [start:imports]
from collections.abc import Sequence

import numpy as np
import torch

from snippets.embeddings.encoder import hidden_states
# --8<-- [end:imports]


# --8<-- [start:maxsim]
def maxsim(query: np.ndarray, document: np.ndarray) -> float:
    """sum over query tokens of the best dot product with a document token; (Tq, C), (Td, C)."""
    if query.ndim != 2 or document.ndim != 2 or query.shape[1] != document.shape[1]:
        raise ValueError(f"need (Tq, C) and (Td, C) token vectors, got {query.shape} and {document.shape}")
    if len(query) == 0 or len(document) == 0:
        raise ValueError(f"a text with no tokens cannot be scored: {query.shape} and {document.shape}")
    return float((query @ document.T).max(axis=1).sum())          # (Tq, Td) -> best per query token


def rerank(queries: Sequence[np.ndarray], documents: Sequence[np.ndarray], candidates: np.ndarray,
           k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) MaxSim scores and ids: each query's first-stage candidates (Q, k1) re-ordered."""
    if candidates.shape[0] != len(queries) or not 1 <= k <= candidates.shape[1]:
        raise ValueError(f"need one row of candidates per query and 1 <= k <= {candidates.shape[1]}, "
                         f"got {candidates.shape} for {len(queries)} queries and k={k}")
    scores = np.array([[maxsim(q, documents[d]) for d in row] for q, row in zip(queries, candidates)])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]      # ties keep the first stage's order
    return np.take_along_axis(scores, order, 1), np.take_along_axis(candidates, order, 1)
# --8<-- [end:maxsim]


# --8<-- [start:tokens]
def token_vectors(tokenizer, model, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
    """Per text, its unit-length last-layer vectors, one per WordPiece token ([CLS], [SEP] and pads dropped)."""
    out = []
    for states, mask in zip(*hidden_states(tokenizer, model, texts, batch_size)):
        last = torch.nn.functional.normalize(states[-1], dim=-1)   # (B, T, C)
        for vectors, keep in zip(last, mask.bool()):
            out.append(vectors[keep][1:-1].numpy())                 # real tokens without [CLS] ... [SEP]
    return out
# --8<-- [end:tokens]
