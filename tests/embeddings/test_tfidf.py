import numpy as np
import pytest
from gensim.corpora import Dictionary
from gensim.models import TfidfModel
from sklearn.feature_extraction.text import TfidfVectorizer

from snippets.embeddings.tfidf import bag_of_words, build_vocabulary, idf, tfidf

DOCS = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat"],
        ["a", "cat", "and", "a", "dog", "and", "a", "bird"], ["the", "bird", "sang"]]


def test_equals_gensim_tfidfmodel():
    vocab = build_vocabulary(DOCS)
    ours = tfidf(bag_of_words(DOCS, vocab), "gensim")
    dictionary = Dictionary(DOCS)
    model = TfidfModel([dictionary.doc2bow(d) for d in DOCS])
    for d, doc in enumerate(DOCS):
        theirs = np.zeros(len(vocab))
        for token_id, w in model[dictionary.doc2bow(doc)]:
            theirs[vocab[dictionary[token_id]]] = w
        np.testing.assert_allclose(ours[d], theirs, atol=1e-12)


def test_equals_sklearn_tfidfvectorizer():
    vocab = build_vocabulary(DOCS)
    ours = tfidf(bag_of_words(DOCS, vocab), "sklearn")
    vec = TfidfVectorizer(analyzer=lambda d: d)
    theirs = vec.fit_transform(DOCS).toarray()
    cols = [vocab[w] for w in vec.get_feature_names_out()]
    np.testing.assert_allclose(ours[:, cols], theirs, atol=1e-12)


def test_conventions_differ_on_a_word_in_every_document():
    docs = [["x", "a"], ["x", "b"]]
    counts = bag_of_words(docs, build_vocabulary(docs))
    assert idf(counts, "gensim")[0] == 0.0          # log2(2/2): the word vanishes
    assert idf(counts, "sklearn")[0] == pytest.approx(1.0)   # ln(3/3) + 1: it stays


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        build_vocabulary([])
    with pytest.raises(ValueError, match="empty corpus"):
        build_vocabulary([[], []])
    with pytest.raises(ValueError, match="unknown idf convention"):
        idf(np.ones((2, 2)), "bm25")


def test_out_of_vocabulary_words_are_dropped_and_rows_unit_norm():
    vocab = build_vocabulary(DOCS)
    x = tfidf(bag_of_words([["cat", "zebra"], ["zebra"]], vocab))
    assert np.linalg.norm(x[0]) == pytest.approx(1.0) and not x[1].any()
