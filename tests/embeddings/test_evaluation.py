import numpy as np
import pytest
from gensim.models import KeyedVectors

from snippets.embeddings.evaluation import (SHAKESPEARE_RELATIONS, analogy_accuracy, load_analogies,
                                            load_similarity, nearest, relation_analogies, similarity_spearman)


def toy():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)] + ["man", "woman", "king", "queen"]
    v = rng.normal(size=(54, 10))
    gender = rng.normal(size=10) * 2
    v[51], v[53] = v[50] + gender, v[52] + gender     # woman = man + g, queen = king + g
    return words, {w: i for i, w in enumerate(words)}, v


def test_analogy_needs_the_query_words_excluded():
    words, index, v = toy()
    v = v.copy()
    # woman is man plus a small step; queen is king plus a larger one in the same direction,
    # so b - a + c lands nearer c (king) than the answer (queen)
    v[50:54] = 0
    v[50, 0], v[51, :2], v[52, 2], v[53, 1:3] = 1, [1, 0.2], 1, [0.5, 1]
    q = [("man", "woman", "king", "queen")]
    assert analogy_accuracy(v, index, q, exclude=True)[0] == 1.0
    assert analogy_accuracy(v, index, q, exclude=False)[0] == 0.0


def test_similarity_and_analogies_equal_gensim_keyedvectors():
    words, index, v = toy()
    kv = KeyedVectors(10)
    kv.add_vectors(words, v)
    pairs = [(f"w{i}", f"w{i + 1}", float(i % 7)) for i in range(40)] + [("w1", "unknown", 3.0)]
    rho, covered, total = similarity_spearman(v, index, pairs)
    assert (covered, total) == (40, 41)
    theirs = [float(kv.similarity(a, b)) for a, b, _ in pairs[:40]]
    from scipy.stats import spearmanr
    assert rho == pytest.approx(spearmanr(theirs, [s for *_, s in pairs[:40]]).statistic)
    q = ("man", "woman", "king")
    best = kv.most_similar(positive=[q[1], q[2]], negative=[q[0]], topn=1)[0][0]
    questions = [(*q, best)]
    assert analogy_accuracy(v, index, questions)[0] == 1.0


def test_data_sets_load_with_their_sizes():
    assert len(load_similarity("wordsim353.tsv")) == 353
    assert len(load_similarity("simlex999.txt")) == 999
    assert sum(map(len, load_analogies().values())) == 19544
    shakespeare = relation_analogies(SHAKESPEARE_RELATIONS)
    assert len(shakespeare["gender"]) == 15 * 14


def test_bad_input():
    words, index, v = toy()
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        nearest(v, words, index, "zebra")
    with pytest.raises(ValueError, match="none of the 1 questions"):
        analogy_accuracy(v, index, [("a", "b", "c", "d")])
    v0 = v.copy()
    v0[0] = 0
    with pytest.raises(ValueError, match="zero vector"):
        nearest(v0, words, index, "man")
