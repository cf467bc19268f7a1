"""Count-based vectors: (shifted) positive PMI and its truncated SVD.

Levy & Goldberg (2014, NeurIPS, "Neural word embedding as implicit matrix factorization") show
that SGNS with k negatives reaches its optimum at w . c = PMI(w, c) - log k; Levy, Goldberg &
Dagan (2015, TACL) add context-distribution smoothing (c^0.75, as in word2vec's noise) and the
symmetric SVD weighting U S^0.5. Shapes: V vocabulary, C width; M is (V, V) sparse.
"""

# --8<-- [start:imports]
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
# --8<-- [end:imports]


# --8<-- [start:pmi]
def pmi_values(x: sp.csr_matrix, cds: float = 0.75) -> sp.csr_matrix:
    """PMI(w, c) = log P(w, c) - log P(w) - log P_cds(c) on the non-zero cells of X.

    P(w, c) = X[w, c] / sum X; P(w) = X[w, .] / sum X; P_cds(c) = X[., c]^cds / sum_c' X[., c']^cds
    (cds = 1: plain PMI; 0.75: the smoothing that matches word2vec's noise distribution).
    """
    x = sp.csr_matrix(x, dtype=np.float64)
    if x.nnz == 0:
        raise ValueError(f"co-occurrence matrix {x.shape} has no non-zero entry")
    total = x.sum()
    p_w = np.asarray(x.sum(axis=1)).ravel() / total
    c = np.asarray(x.sum(axis=0)).ravel() ** cds
    p_c = c / c.sum()
    coo = x.tocoo()
    vals = np.log(coo.data / total) - np.log(p_w[coo.row]) - np.log(p_c[coo.col])
    return sp.csr_matrix((vals, (coo.row, coo.col)), shape=x.shape)


def shifted_ppmi(x: sp.csr_matrix, k: float = 1.0, cds: float = 0.75) -> sp.csr_matrix:
    """max(PMI - log k, 0): k = 1 is plain PPMI; k = the number of SGNS negatives is SPPMI."""
    m = pmi_values(x, cds)
    m.data = np.maximum(m.data - np.log(k), 0.0)
    m.eliminate_zeros()
    return m


def svd_vectors(m: sp.csr_matrix, dim: int, power: float = 0.5, seed: int = 0) -> np.ndarray:
    """(V, dim) U_d S_d^power from a truncated SVD, largest singular values first."""
    if not 0 < dim < min(m.shape):
        raise ValueError(f"dim must be in 1..{min(m.shape) - 1} for a {m.shape} matrix, got {dim}")
    u, s, _ = svds(m, k=dim, random_state=seed, v0=np.ones(min(m.shape)))
    order = np.argsort(-s)
    return u[:, order] * s[order] ** power
# --8<-- [end:pmi]
