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
    from snippets.embeddings.evaluation import query_word_share
    assert query_word_share(v, index, q) == 1.0      # the unrestricted answer is king, c itself


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


def test_paired_bootstrap_of_identical_models_is_exactly_zero():
    from snippets.embeddings.evaluation import paired_bootstrap_accuracy, paired_bootstrap_spearman
    rng = np.random.default_rng(0)
    cos, human = rng.normal(size=50), rng.normal(size=50)
    assert paired_bootstrap_spearman(cos, cos, human, n_boot=500) == (0.0, 0.0, 0.0)
    right = rng.random(80) < 0.3
    assert paired_bootstrap_accuracy(right, right, n_boot=500) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_spearman_agrees_with_scipy_and_is_narrower_than_the_marginal_error():
    from scipy.stats import bootstrap, spearmanr

    from snippets.embeddings.evaluation import paired_bootstrap_spearman
    rng = np.random.default_rng(1)
    n = 110
    human = np.round(rng.uniform(0, 10, n), 1)           # ties, as in WordSim-353's scores
    cos_a = 0.3 * human + rng.normal(size=n) * 3
    cos_b = cos_a + rng.normal(size=n) * 0.8             # a second model that mostly agrees with the first
    diff, low, high = paired_bootstrap_spearman(cos_a, cos_b, human, n_boot=4000, seed=0)
    assert diff == pytest.approx(spearmanr(cos_a, human).statistic - spearmanr(cos_b, human).statistic)
    theirs = bootstrap((cos_a, cos_b, human), lambda a, b, h: spearmanr(a, h).statistic - spearmanr(b, h).statistic,
                       paired=True, vectorized=False, n_resamples=2000, method="percentile",
                       rng=np.random.default_rng(0)).confidence_interval
    assert low == pytest.approx(theirs.low, abs=0.02) and high == pytest.approx(theirs.high, abs=0.02)
    # two models scored on the same pairs: the interval of the difference is much narrower than
    # +-1.96 / sqrt(n - 1), the null standard error of one rho
    assert high - low < 0.5 * 2 * 1.96 / np.sqrt(n - 1)


def test_paired_bootstrap_accuracy_covers_the_difference_and_finds_a_real_one():
    from snippets.embeddings.evaluation import paired_bootstrap_accuracy
    rng = np.random.default_rng(2)
    a = rng.random(2000) < 0.30
    b = a & (rng.random(2000) < 0.8)                     # b loses a fifth of a's right answers, gains none
    diff, low, high = paired_bootstrap_accuracy(a, b, n_boot=2000)
    assert diff == pytest.approx(a.mean() - b.mean())
    assert 0 < low < diff < high
    assert paired_bootstrap_accuracy(np.ones(10), np.zeros(10), n_boot=200) == (1.0, 1.0, 1.0)


def test_paired_bootstrap_refuses_unpaired_input():
    from snippets.embeddings.evaluation import paired_bootstrap_accuracy, paired_bootstrap_spearman
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap_spearman(np.zeros(5), np.zeros(6), np.zeros(5))
    with pytest.raises(ValueError, match="at least 3"):
        paired_bootstrap_spearman(np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap_accuracy(np.zeros((2, 2)), np.zeros((2, 2)))


def test_per_item_scores_agree_with_the_summaries():
    from snippets.embeddings.evaluation import analogy_correct, pair_cosines, query_word_share
    words, index, v = toy()
    pairs = [(f"w{i}", f"w{i + 1}", float(i % 7)) for i in range(40)] + [("w1", "unknown", 3.0)]
    cos = pair_cosines(v, index, pairs)
    assert np.isnan(cos[-1]) and not np.isnan(cos[:-1]).any()
    from scipy.stats import spearmanr
    assert spearmanr(cos[:-1], [s for *_, s in pairs[:-1]]).statistic == pytest.approx(
        similarity_spearman(v, index, pairs)[0])
    questions = [("man", "woman", "king", "queen"), ("w1", "w2", "w3", "w4"), ("man", "zebra", "king", "queen")]
    right = analogy_correct(v, index, questions)
    assert right[2] == -1 and analogy_accuracy(v, index, questions)[0] == right[:2].mean()
    assert 0.0 <= query_word_share(v, index, questions) <= 1.0
