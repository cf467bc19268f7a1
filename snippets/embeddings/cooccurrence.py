"""Word-context co-occurrence counts within a window, weighted by distance.

GloVe (Pennington et al. 2014) counts a pair d words apart as 1/d; word2vec's shrinking window
uses a context at distance d with probability (W - d + 1) / W, the same idea in expectation;
the classic count models (Levy, Goldberg & Dagan 2015) weigh every position in the window as 1.
Counts never cross a sentence boundary. Shapes: n tokens, V vocabulary; X is (V, V) sparse.
"""

# --8<-- [start:imports]
import numpy as np
import scipy.sparse as sp
# --8<-- [end:imports]


# --8<-- [start:weights]
def distance_weight(d: int, window: int, weighting: str) -> float:
    """The weight of one pair d positions apart."""
    if weighting == "harmonic":
        return 1.0 / d                      # GloVe
    if weighting == "linear":
        return (window - d + 1) / window    # word2vec's expected shrinking window
    if weighting == "uniform":
        return 1.0
    raise ValueError(f"unknown weighting {weighting!r}; use 'harmonic', 'linear' or 'uniform'")
# --8<-- [end:weights]


# --8<-- [start:cooccurrence]
def cooccurrence(ids: np.ndarray, sentence: np.ndarray, vocab_size: int, window: int = 10,
                 weighting: str = "harmonic") -> sp.csr_matrix:
    """(V, V) symmetric counts X[i, j] = sum over pairs of word i and context j of their weight."""
    if len(ids) == 0:
        raise ValueError("empty corpus: no tokens to count")
    if ids.shape != sentence.shape:
        raise ValueError(f"ids {ids.shape} and sentence numbers {sentence.shape} differ in shape")
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):  # one vectorised pass per distance instead of a loop per token
        same = sentence[:-d] == sentence[d:]
        a, b = ids[:-d][same], ids[d:][same]
        w = np.full(len(a), distance_weight(d, window, weighting))
        rows += [a, b]
        cols += [b, a]
        vals += [w, w]
    x = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(vocab_size, vocab_size))
    return x.tocsr()  # duplicates are summed here


def cooccurrence_naive(ids: list[int], sentence: list[int], vocab_size: int, window: int = 10,
                       weighting: str = "harmonic") -> np.ndarray:
    """The same counts by a double loop over positions: the definition, slowly."""
    x = np.zeros((vocab_size, vocab_size))
    for i in range(len(ids)):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i and sentence[j] == sentence[i]:
                x[ids[i], ids[j]] += distance_weight(abs(i - j), window, weighting)
    return x
# --8<-- [end:cooccurrence]
