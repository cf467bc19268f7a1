"""Bag of words and TF-IDF under two libraries' conventions (Salton & Buckley 1988; Sparck Jones 1972).

The same name hides different formulas. With N documents and document frequency df(t):
  gensim TfidfModel (defaults):     tf = raw count, idf = log2(N / df),              L2-normalised
  scikit-learn TfidfVectorizer:     tf = raw count, idf = ln((1 + N) / (1 + df)) + 1, L2-normalised
Shapes: D documents, V vocabulary; matrices are D x V (dense, float64).
"""

# --8<-- [start:imports]
from collections.abc import Sequence

import numpy as np
# --8<-- [end:imports]


# --8<-- [start:bow]
def build_vocabulary(docs: Sequence[Sequence[str]]) -> dict[str, int]:
    """Word -> column, in order of first appearance."""
    if len(docs) == 0 or not any(docs):
        raise ValueError(f"empty corpus: {len(docs)} documents and no words")
    vocab: dict[str, int] = {}
    for doc in docs:
        for w in doc:
            vocab.setdefault(w, len(vocab))
    return vocab


def bag_of_words(docs: Sequence[Sequence[str]], vocab: dict[str, int]) -> np.ndarray:
    """(D, V) raw counts; words outside `vocab` are dropped, as every BoW model does."""
    counts = np.zeros((len(docs), len(vocab)))
    for d, doc in enumerate(docs):
        for w in doc:
            if w in vocab:
                counts[d, vocab[w]] += 1
    return counts
# --8<-- [end:bow]


# --8<-- [start:tfidf]
def idf(counts: np.ndarray, convention: str = "gensim") -> np.ndarray:
    """(V,) inverse document frequency from a (D, V) count matrix."""
    n_docs = counts.shape[0]
    df = (counts > 0).sum(axis=0)
    if convention == "gensim":
        # a word in every document gets idf 0 and vanishes; one in no document is undefined
        return np.log2(n_docs / np.maximum(df, 1))
    if convention == "sklearn":
        # smooth_idf: as if one extra document contained every word once; +1 keeps common words
        return np.log((1 + n_docs) / (1 + df)) + 1.0
    raise ValueError(f"unknown idf convention {convention!r}; use 'gensim' or 'sklearn'")


def tfidf(counts: np.ndarray, convention: str = "gensim") -> np.ndarray:
    """(D, V) TF-IDF rows, each scaled to unit L2 norm (an empty row stays zero)."""
    weights = counts * idf(counts, convention)
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    return weights / np.where(norms == 0, 1.0, norms)
# --8<-- [end:tfidf]
