import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from snippets.retrieval.bm25 import BM25

DOCS = [d.split() for d in ["the cat sat on the mat", "the dog sat", "a cat and a dog and a bird",
                            "the bird sang", "the the the end", "cats and dogs"]]


@pytest.mark.parametrize("query", ["the cat", "bird", "a dog and the end", "zebra"])
def test_okapi_variant_equals_rank_bm25(query):
    ours = BM25(DOCS, idf="okapi").scores(query.split())
    np.testing.assert_allclose(ours, BM25Okapi(DOCS).get_scores(query.split()), atol=1e-12)


def test_lucene_idf_is_never_negative_and_okapi_is_for_common_terms():
    assert min(BM25(DOCS).idf.values()) > 0
    raw = np.log(len(DOCS) - 4 + 0.5) - np.log(4 + 0.5)   # "the" is in 4 of 6 documents
    assert raw < 0 and BM25(DOCS, idf="okapi").idf["the"] > 0   # replaced by the epsilon floor


def test_term_frequency_saturates():
    docs = [["x"] * n + ["y"] * (10 - n) for n in (1, 2, 4, 8)]
    s = BM25(docs).scores(["x"])
    gains = np.diff(s)
    assert (gains > 0).all() and gains[-1] / 4 < gains[0]   # each doubling adds less per occurrence


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        BM25([])
    with pytest.raises(ValueError, match="unknown idf"):
        BM25(DOCS, idf="tfidf")
