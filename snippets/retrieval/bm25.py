"""BM25 (Robertson et al., Okapi at TREC-3, 1994; Robertson & Zaragoza 2009), the lexical baseline.

score(q, d) = sum_{t in q} idf(t) * tf(t, d) (k1 + 1) / (tf(t, d) + k1 (1 - b + b |d| / avgdl)).
Two idf conventions: Lucene's ln(1 + (N - n + 0.5) / (n + 0.5)) is never negative; the classic
Robertson-Sparck Jones ln((N - n + 0.5) / (n + 0.5)) is negative for a term in more than half the
documents, and rank_bm25's BM25Okapi replaces those by epsilon times the mean idf.
Shapes: D documents, V vocabulary.
"""

# --8<-- [start:imports]
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
# --8<-- [end:imports]


# --8<-- [start:bm25]
class BM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75,
                 idf: str = "lucene", epsilon: float = 0.25):
        if len(docs) == 0:
            raise ValueError("empty corpus: BM25 needs at least one document")
        if idf not in ("lucene", "okapi"):
            raise ValueError(f"unknown idf {idf!r}; use 'lucene' or 'okapi'")
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.length = np.array([len(d) for d in docs], dtype=np.float64)
        self.avgdl = self.length.mean()
        n_docs = len(docs)
        df = Counter(t for d in self.tf for t in d)
        if idf == "lucene":
            self.idf = {t: math.log(1 + (n_docs - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        else:
            raw = {t: math.log(n_docs - n + 0.5) - math.log(n + 0.5) for t, n in df.items()}
            floor = epsilon * sum(raw.values()) / len(raw)
            self.idf = {t: (v if v >= 0 else floor) for t, v in raw.items()}

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """(D,) score of every document; a query term absent from the corpus adds nothing."""
        out = np.zeros(len(self.tf))
        norm = self.k1 * (1 - self.b + self.b * self.length / self.avgdl)      # (D,)
        for t in query:
            if t not in self.idf:
                continue
            f = np.array([d.get(t, 0) for d in self.tf], dtype=np.float64)
            out += self.idf[t] * f * (self.k1 + 1) / (f + norm)
        return out
# --8<-- [end:bm25]
