"""An inverted-file index (IVF): k-means cells, and a search that scans only the nprobe nearest cells.

An inverted file over k-means cells was used for image retrieval by Sivic & Zisserman 2003 ("Video
Google", ICCV); Jégou, Douze & Schmid 2011 (IEEE TPAMI, "Product quantization for nearest neighbor
search") paired it with product-quantised residuals (IVFADC), the design faiss follows. faiss's
IndexIVFFlat is the inverted file alone, with the vectors stored uncompressed. With nprobe = nlist every cell is scanned: exact search.
Shapes: N vectors, Q queries, C width, nlist cells.
"""

# --8<-- [start:imports]
import numpy as np

from snippets.retrieval.exact import check_search, similarity, top_k
# --8<-- [end:imports]


# --8<-- [start:kmeans]
def kmeans(x: np.ndarray, nlist: int, iters: int = 20, seed: int = 0) -> np.ndarray:
    """(nlist, C) centroids by Lloyd's algorithm from nlist random distinct points."""
    if not 1 <= nlist <= len(x):
        raise ValueError(f"nlist={nlist} must be between 1 and the number of vectors {len(x)}")
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), nlist, replace=False)].copy()
    for _ in range(iters):
        assign = similarity(centroids, x, "l2").argmax(1)          # nearest centroid of each point
        counts = np.bincount(assign, minlength=nlist)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, x)
        filled = counts > 0   # an empty cell keeps its old centroid
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids
# --8<-- [end:kmeans]


# --8<-- [start:ivf]
class IVFIndex:
    """Cells by nearest centroid (squared L2, as faiss's IndexFlatL2 quantiser); each cell's vectors
    stored together, as faiss's inverted lists are, so that scanning a cell is one matrix product."""

    def __init__(self, centroids: np.ndarray, metric: str = "dot"):
        self.centroids, self.metric = centroids, metric

    def add(self, x: np.ndarray) -> "IVFIndex":
        if x.shape[1] != self.centroids.shape[1]:
            raise ValueError(f"width mismatch: vectors C={x.shape[1]}, centroids C={self.centroids.shape[1]}")
        self.x = x
        assign = similarity(self.centroids, x, "l2").argmax(1)
        self.lists = [np.flatnonzero(assign == c) for c in range(len(self.centroids))]
        self.cells = [x[ids] for ids in self.lists]                     # contiguous copy per cell
        return self

    def search(self, queries: np.ndarray, k: int, nprobe: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) scores and ids; a query whose cells hold fewer than k vectors gets id -1 padding.
        The loop runs over cells, not queries: all the queries that probe a cell are scored against
        it in one product, and each keeps that cell's best k in its slot of a (Q, nprobe * k) buffer."""
        check_search(self.x, queries, k)
        if not 1 <= nprobe <= len(self.centroids):
            raise ValueError(f"nprobe={nprobe} must be between 1 and nlist={len(self.centroids)}")
        probes = top_k(similarity(self.centroids, queries, "l2"), nprobe)[1]    # (Q, nprobe)
        scores = np.full((len(queries), nprobe * k), -np.inf)
        ids = np.full((len(queries), nprobe * k), -1)
        flat = probes.ravel()
        order = np.argsort(flat, kind="stable")                                  # (query, slot) by cell
        bounds = np.searchsorted(flat[order], np.arange(len(self.centroids) + 1))
        for c in np.flatnonzero(np.diff(bounds)):                                 # probed cells only
            q_rows, slots = np.divmod(order[bounds[c]:bounds[c + 1]], nprobe)
            kk = min(k, len(self.lists[c]))
            if kk == 0:
                continue
            best_s, best = top_k(similarity(self.cells[c], queries[q_rows], self.metric), kk)
            cols = slots[:, None] * k + np.arange(kk)
            scores[q_rows[:, None], cols], ids[q_rows[:, None], cols] = best_s, self.lists[c][best]
        keep = np.lexsort((ids, -scores), axis=1)[:, :k]                         # by score, then id
        return np.take_along_axis(scores, keep, axis=1), np.take_along_axis(ids, keep, axis=1)
# --8<-- [end:ivf]
