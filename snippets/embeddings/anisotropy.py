"""Anisotropy of embeddings and three post-hoc fixes.

Ethayarajh 2019 (arXiv:1909.00512) measures a layer's anisotropy as the expected cosine between
representations of random, unrelated tokens (0 for isotropic vectors). Fixes: centring;
all-but-the-top (Mu & Viswanath 2018, arXiv:1702.01417): centre, then remove the top D principal
directions; whitening (Su et al. 2021, arXiv:2103.15316): centre and map the covariance to I.
Shapes: n vectors, C width.
"""

# --8<-- [start:imports]
import numpy as np
# --8<-- [end:imports]


# --8<-- [start:measure]
def mean_cosine(x: np.ndarray, n_pairs: int = 5000, seed: int = 0) -> float:
    """Average cosine over random pairs of distinct rows of (n, C) x."""
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 vectors to compare, got {n}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n   # j != i
    norms = np.linalg.norm(x, axis=1)
    if (norms[i] == 0).any() or (norms[j] == 0).any():
        raise ValueError("a zero vector has no direction: cosine is undefined")
    return float(np.mean((x[i] * x[j]).sum(1) / (norms[i] * norms[j])))
# --8<-- [end:measure]


# --8<-- [start:fixes]
def centre(x: np.ndarray, mu: np.ndarray | None = None) -> np.ndarray:
    """Subtract the mean vector (of x, or a given one): the common direction shared by all."""
    return x - (x.mean(0) if mu is None else mu)


def all_but_the_top(x: np.ndarray, d: int = 3) -> np.ndarray:
    """Centre, then project out the top d principal directions (they encode frequency, not meaning)."""
    xc = centre(x)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)   # rows of vt: principal directions
    top = vt[:d]                                         # (d, C)
    return xc - xc @ top.T @ top


def whitening(x: np.ndarray, dim: int | None = None, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """(W, mu) with cov((x - mu) W) = I, optionally keeping only the top `dim` directions.

    W = U diag(1/sqrt(s)) from the SVD of the covariance (Su et al. 2021, Algorithm 1).
    """
    mu = x.mean(0)
    u, s, _ = np.linalg.svd(np.cov((x - mu).T))
    w = u / np.sqrt(s + eps)
    return (w if dim is None else w[:, :dim]), mu
# --8<-- [end:fixes]
