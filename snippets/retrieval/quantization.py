"""Scalar and binary quantisation of embedding vectors: 4x and 32x smaller than float32.

Scalar (int8): each dimension's range [min, max] over the collection is cut into 255 steps and a
value is stored as its step's index, one byte a dimension; faiss's ScalarQuantizer QT_8bit uses
the same per-dimension min-max range, truncation and bin centres. Binary: one sign bit a
dimension, compared by Hamming distance (XOR, then count the bits); the bits choose candidates
and the full vectors rescore them, as vector databases do with binary embeddings.
Shapes: N vectors, Q queries, C width, B = C / 8 bytes of bits.
"""

# --8<-- [start:imports]
import numpy as np

from snippets.retrieval.exact import check_search, similarity, top_k
# --8<-- [end:imports]


# --8<-- [start:scalar]
class ScalarQuantizer8:
    """One byte a dimension: code = floor(255 * (x - min) / (max - min)), decoded at the bin centre."""

    def __init__(self, vmin: np.ndarray, vmax: np.ndarray):
        if vmin.shape != vmax.shape or (vmax < vmin).any():
            raise ValueError(f"need vmin <= vmax of one shape, got {vmin.shape} and {vmax.shape}")
        self.vmin = vmin.astype(np.float32)
        self.vdiff = (vmax - vmin).astype(np.float32)
        self.vdiff[self.vdiff == 0] = 1.0                 # a constant dimension: every value maps to 0

    @classmethod
    def train(cls, x: np.ndarray) -> "ScalarQuantizer8":
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"need a non-empty (N, C) training set, got shape {x.shape}")
        return cls(x.min(0), x.max(0))

    def encode(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != len(self.vmin):
            raise ValueError(f"vectors must be (N, {len(self.vmin)}), got shape {x.shape}")
        unit = np.clip((x.astype(np.float32) - self.vmin) / self.vdiff, 0, 1)  # float32, as faiss
        return (np.float32(255) * unit).astype(np.uint8)                       # truncates, as (int) does

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.vmin + (codes.astype(np.float32) + 0.5) / 255 * self.vdiff
# --8<-- [end:scalar]


# --8<-- [start:binary]
POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1)  # bits set in each byte


def binary_codes(x: np.ndarray) -> np.ndarray:
    """(N, C / 8) bytes: bit j is 1 where dimension j is positive."""
    if x.ndim != 2 or x.shape[1] % 8:
        raise ValueError(f"need (N, C) with C a multiple of 8, got shape {x.shape}")
    return np.packbits(x > 0, axis=1)


def hamming(db_codes: np.ndarray, query_codes: np.ndarray, block: int = 64) -> np.ndarray:
    """(Q, N) number of differing bits, Q queries at a time in blocks (memory block x N x B)."""
    if db_codes.shape[1] != query_codes.shape[1]:
        raise ValueError(f"code widths differ: {db_codes.shape[1]} and {query_codes.shape[1]} bytes")
    return np.concatenate([POPCOUNT[query_codes[s:s + block, None, :] ^ db_codes[None]].sum(-1)
                           for s in range(0, len(query_codes), block)])


def binary_search(db: np.ndarray, db_codes: np.ndarray, queries: np.ndarray, k: int,
                  rescore: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) by Hamming distance; with rescore = r >= k, the r nearest codes re-ranked by dot product."""
    check_search(db, queries, k)
    dist = hamming(db_codes, binary_codes(queries))
    if rescore == 0:
        return top_k(-dist.astype(np.float64), k)
    if not k <= rescore <= len(db):
        raise ValueError(f"rescore={rescore} must be 0 or between k={k} and N={len(db)}")
    cand = top_k(-dist.astype(np.float64), rescore)[1]                          # (Q, r)
    exact = np.einsum("qc,qrc->qr", queries, db[cand])                          # full vectors, r per query
    s, best = top_k(exact, k)
    return s, np.take_along_axis(cand, best, axis=1)
# --8<-- [end:binary]
