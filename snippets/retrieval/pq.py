"""Product quantisation: a vector as M bytes, searched by asymmetric distance tables.

Jégou, Douze & Schmid 2011 ("Product quantization for nearest neighbor search", IEEE TPAMI):
cut each C-dimensional vector into M sub-vectors of D = C / M dimensions, learn a codebook of
K = 2^nbits centroids per sub-space by k-means, and store each sub-vector as the id of its
nearest centroid. A query is not quantised: its squared distance to a stored vector is the sum,
over sub-spaces, of entries of an (M, K) table of query-to-centroid distances (ADC, asymmetric
distance computation). IVF-PQ (their IVFADC) quantises the residual from the vector's coarse
k-means cell instead of the vector itself. faiss's IndexPQ and IndexIVFPQ follow the same design.
The codebooks, an (M, K, D) array, are the whole quantiser.
Shapes: N vectors, Q queries, C width, M sub-spaces, K centroids per sub-space, D = C / M.
"""

# --8<-- [start:imports]
import numpy as np

from snippets.retrieval.exact import check_search, similarity, top_k
from snippets.retrieval.ivf import kmeans
# --8<-- [end:imports]


# --8<-- [start:train]
def sub_vectors(codebooks: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, C) -> (N, M, D), checking the width against the codebooks."""
    m, _, d = codebooks.shape
    if x.ndim != 2 or x.shape[1] != m * d:
        raise ValueError(f"vectors must be (N, {m * d}), got shape {x.shape}")
    return x.reshape(len(x), m, d)


def train_pq(x: np.ndarray, m: int, nbits: int = 8, iters: int = 20, seed: int = 0) -> np.ndarray:
    """(M, K, D) codebooks: k-means with K = 2^nbits centroids in each sub-space on its own."""
    n, c = x.shape
    if m < 1 or c % m:
        raise ValueError(f"m={m} sub-spaces must divide the width C={c}")
    if not 1 <= nbits <= 16:
        raise ValueError(f"nbits={nbits} must be between 1 and 16")
    k, d = 2 ** nbits, c // m
    if n < k:
        raise ValueError(f"{n} training vectors cannot give {k} centroids per sub-space (nbits={nbits})")
    return np.stack([kmeans(x[:, i * d:(i + 1) * d], k, iters, seed + i) for i in range(m)])
# --8<-- [end:train]


# --8<-- [start:codes]
def pq_encode(codebooks: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, M) codes: the nearest centroid of each sub-vector (uint8 when K <= 256)."""
    parts = sub_vectors(codebooks, x)
    dtype = np.uint8 if codebooks.shape[1] <= 256 else np.uint16
    return np.stack([similarity(book, parts[:, i], "l2").argmax(1)
                     for i, book in enumerate(codebooks)], axis=1).astype(dtype)


def pq_decode(codebooks: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(N, C) reconstructions: the chosen centroids side by side."""
    return codebooks[np.arange(len(codebooks)), codes].reshape(len(codes), -1)
# --8<-- [end:codes]


# --8<-- [start:adc]
def distance_tables(codebooks: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(Q, M, K) squared L2 distance from each query's sub-vector to every centroid."""
    parts = sub_vectors(codebooks, queries)                            # (Q, M, D)
    # ||q - c||^2 = ||q||^2 - 2 q.c + ||c||^2, per sub-space: no (Q, M, K, D) difference tensor
    cross = np.einsum("qmd,mkd->qmk", parts, codebooks)
    return (parts ** 2).sum(-1)[:, :, None] - 2 * cross + (codebooks ** 2).sum(-1)[None]


def adc(tables: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(Q, N) squared distances: per query, M table look-ups summed, no vector decoded."""
    out = np.zeros((len(tables), len(codes)), dtype=tables.dtype)
    for i in range(codes.shape[1]):                                    # (Q, N) at a time, not (Q, N, M)
        out += tables[:, i, codes[:, i]]
    return out
# --8<-- [end:adc]


# --8<-- [start:pq_index]
class PQIndex:
    """Every vector stored as M bytes; a search scans all codes with the query's tables."""

    def __init__(self, codebooks: np.ndarray):
        self.codebooks = codebooks

    def add(self, x: np.ndarray) -> "PQIndex":
        self.codes = pq_encode(self.codebooks, x)
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) scores (negative squared distance: larger is nearer) and ids."""
        check_search(np.empty((len(self.codes), queries.shape[1])), queries, k)
        return top_k(-adc(distance_tables(self.codebooks, queries), self.codes), k)
# --8<-- [end:pq_index]


# --8<-- [start:ivfpq]
class IVFPQIndex:
    """Coarse k-means cells; each vector's residual from its cell's centroid stored as PQ codes."""

    def __init__(self, centroids: np.ndarray, codebooks: np.ndarray):
        self.centroids, self.codebooks = centroids, codebooks

    @classmethod
    def train(cls, x: np.ndarray, nlist: int, m: int, nbits: int = 8, seed: int = 0) -> "IVFPQIndex":
        centroids = kmeans(x, nlist, seed=seed)
        residuals = x - centroids[similarity(centroids, x, "l2").argmax(1)]
        return cls(centroids, train_pq(residuals, m, nbits, seed=seed))

    def add(self, x: np.ndarray) -> "IVFPQIndex":
        cell = similarity(self.centroids, x, "l2").argmax(1)
        codes = pq_encode(self.codebooks, x - self.centroids[cell])
        self.lists = [np.flatnonzero(cell == c) for c in range(len(self.centroids))]
        self.codes, self.n = [codes[ids] for ids in self.lists], len(x)
        return self

    def search(self, queries: np.ndarray, k: int, nprobe: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) scores and ids from the nprobe nearest cells; -1 pads a short result."""
        check_search(np.empty((self.n, queries.shape[1])), queries, k)
        if not 1 <= nprobe <= len(self.centroids):
            raise ValueError(f"nprobe={nprobe} must be between 1 and nlist={len(self.centroids)}")
        cells = top_k(similarity(self.centroids, queries, "l2"), nprobe)[1]      # (Q, nprobe)
        scores, ids = np.full((len(queries), k), -np.inf), np.full((len(queries), k), -1)
        for qi, q in enumerate(queries):
            # a table per probed cell: the query's residual from that cell's centroid
            tables = distance_tables(self.codebooks, q[None] - self.centroids[cells[qi]])  # (nprobe, M, K)
            dist = np.concatenate([adc(tables[j:j + 1], self.codes[c])[0] for j, c in enumerate(cells[qi])])
            cand = np.concatenate([self.lists[c] for c in cells[qi]])
            if found := min(k, len(cand)):
                s, best = top_k(-dist[None], found)
                scores[qi, :found], ids[qi, :found] = s[0], cand[best[0]]
        return scores, ids
# --8<-- [end:ivfpq]
