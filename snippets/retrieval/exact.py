"""Exact nearest-neighbour search: one matrix product and a top-k, the baseline every index is measured by.

Cosine similarity is the dot product of unit vectors, so cosine search = normalise once, then dot.
Shapes: N vectors in the collection, Q queries, C width, k results.
"""

# --8<-- [start:imports]
import numpy as np
# --8<-- [end:imports]


# --8<-- [start:checks]
def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; a zero row is an error, not a silent NaN."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if (norms == 0).any():
        bad = np.flatnonzero(norms.reshape(-1) == 0)[:5].tolist()
        raise ValueError(f"zero vector(s) at rows {bad}: cosine similarity is undefined for them")
    return x / norms


def check_search(db: np.ndarray, queries: np.ndarray, k: int) -> None:
    """Clear errors for the ways a search call goes wrong."""
    if db.ndim != 2 or queries.ndim != 2:
        raise ValueError(f"need 2-D arrays (N, C) and (Q, C), got {db.shape} and {queries.shape}")
    if db.shape[0] == 0:
        raise ValueError("the collection is empty: nothing to search")
    if db.shape[1] != queries.shape[1]:
        raise ValueError(f"width mismatch: collection vectors have C={db.shape[1]}, "
                         f"queries have C={queries.shape[1]}")
    if not 1 <= k <= db.shape[0]:
        raise ValueError(f"k={k} must be between 1 and the collection size N={db.shape[0]}")
# --8<-- [end:checks]


# --8<-- [start:search]
def similarity(db: np.ndarray, queries: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """(Q, N) scores, higher is nearer: cosine, dot product, or negative squared L2 distance."""
    if metric == "cosine":
        return normalize(queries) @ normalize(db).T
    if metric == "dot":
        return queries @ db.T
    if metric == "l2":
        # ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2, negated so that larger is nearer
        return -((queries**2).sum(1)[:, None] - 2 * queries @ db.T + (db**2).sum(1)[None, :])
    raise ValueError(f"unknown metric {metric!r}; use 'cosine', 'dot' or 'l2'")


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) best scores and ids per row, ties broken by the smaller id."""
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]           # the k best, unordered
    s = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -s), axis=1)                          # by score, then by id
    ids = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(scores, ids, axis=1), ids


def exact_search(db: np.ndarray, queries: np.ndarray, k: int, metric: str = "cosine",
                 block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Brute force over the whole collection, Q queries at a time in blocks (memory Q x N)."""
    check_search(db, queries, k)
    out = [top_k(similarity(db, queries[s:s + block], metric), k) for s in range(0, len(queries), block)]
    return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
# --8<-- [end:search]
