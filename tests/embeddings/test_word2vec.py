import numpy as np
import pytest
import torch
from gensim.models import Word2Vec as GensimWord2Vec

from snippets.embeddings.word2vec import (Word2Vec, Word2VecConfig, build_vocab, cbow_step, cbow_windows,
                                          draw_negatives, keep_probability, noise_table,
                                          paper_discard_probability, reduced_windows, sgns_step,
                                          skipgram_pairs)


def zipf_corpus(n_sentences=300, seed=0):
    """Sentences of words w0..w199 with Zipfian frequencies (many ties at the low counts)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 201)
    words = rng.choice(200, size=(n_sentences, 12), p=p / p.sum())
    return [[f"w{i}" for i in s] for s in words]


@pytest.fixture(scope="module")
def gensim_model():
    return GensimWord2Vec(zipf_corpus(), vector_size=8, min_count=2, sample=1e-2, negative=5,
                          workers=1, epochs=1, seed=1)


def test_vocabulary_order_equals_gensim(gensim_model):
    words, counts = build_vocab(zipf_corpus(), min_count=2)
    assert words == gensim_model.wv.index_to_key
    assert counts.tolist() == [gensim_model.wv.get_vecattr(w, "count") for w in words]


def test_keep_probabilities_equal_gensim(gensim_model):
    _, counts = build_vocab(zipf_corpus(), min_count=2)
    theirs = gensim_model.wv.expandos["sample_int"] / (2**32 - 1)
    np.testing.assert_allclose(keep_probability(counts, 1e-2), theirs, atol=1e-9)
    assert (theirs < 1).any()   # the test would be vacuous if nothing were sub-sampled


def test_noise_table_equals_gensim_cum_table(gensim_model):
    _, counts = build_vocab(zipf_corpus(), min_count=2)
    np.testing.assert_array_equal(noise_table(counts), gensim_model.cum_table)


def test_paper_formula_differs_from_code_formula():
    counts = np.array([1000, 100, 10, 1])
    # the code keeps more of every word than the paper's 1 - sqrt(t/f) would
    assert (keep_probability(counts, 1e-2) >= 1 - paper_discard_probability(counts, 1e-2)).all()


def test_negatives_follow_unigram_to_the_three_quarters():
    counts = np.array([800, 100, 50, 50])
    table = torch.from_numpy(noise_table(counts).astype(np.int64))
    draws = draw_negatives(table, (200_000,), torch.Generator().manual_seed(0))
    freq = np.bincount(draws.numpy(), minlength=4) / 200_000
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(freq, expected, atol=0.005)


def test_reduced_window_is_uniform_on_1_to_window():
    eff = reduced_windows(100_000, 5, np.random.default_rng(0))
    assert eff.min() == 1 and eff.max() == 5
    np.testing.assert_allclose(np.bincount(eff, minlength=6)[1:] / 100_000, 0.2, atol=0.01)


def test_pair_distance_distribution_is_linear():
    n, window = 50_000, 4
    ids = np.arange(n)
    center, context = skipgram_pairs(ids, np.zeros(n, dtype=np.int64),
                                     reduced_windows(n, window, np.random.default_rng(0)), window)
    share = np.bincount(np.abs(center - context), minlength=window + 1)[1:] / (2 * n)
    # a context at distance d is used with probability (W - d + 1) / W
    np.testing.assert_allclose(share, [(window - d + 1) / window for d in range(1, window + 1)], atol=0.01)


def test_pairs_equal_a_loop_and_stay_inside_sentences():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30, 60)
    sentence = np.repeat(np.arange(6), 10)
    eff = reduced_windows(60, 3, rng)
    c, o = skipgram_pairs(ids, sentence, eff, 3)
    loop = sorted((ids[i], ids[j]) for i in range(60) for j in range(60)
                  if i != j and abs(i - j) <= eff[i] and sentence[i] == sentence[j])
    assert sorted(zip(c.tolist(), o.tolist())) == [(int(a), int(b)) for a, b in loop]
    centre, ctx, mask = cbow_windows(ids, sentence, eff, 3)
    assert mask.sum() == len(c)


def test_sgns_step_is_sgd_on_the_negative_sampling_loss():
    g = torch.Generator().manual_seed(0)
    w_in, w_out = torch.randn(10, 4, generator=g, dtype=torch.float64), torch.randn(10, 4, generator=g, dtype=torch.float64)
    center, context, neg = torch.tensor([1, 2, 1]), torch.tensor([3, 4, 5]), torch.tensor([[6, 7], [8, 9], [0, 6]])
    a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss = -(torch.nn.functional.logsigmoid((a[center] * b[context]).sum(-1)).sum()
             + torch.nn.functional.logsigmoid(-(a[center][:, None] * b[neg]).sum(-1)).sum())
    loss.backward()
    sgns_step(w_in, w_out, center, context, neg, lr=0.1)
    torch.testing.assert_close(w_in, a.detach() - 0.1 * a.grad)
    torch.testing.assert_close(w_out, b.detach() - 0.1 * b.grad)


def test_cbow_step_gives_each_context_word_the_full_error():
    g = torch.Generator().manual_seed(0)
    w_in, w_out = torch.randn(10, 4, generator=g, dtype=torch.float64), torch.randn(10, 4, generator=g, dtype=torch.float64)
    center, ctx, mask, neg = torch.tensor([0]), torch.tensor([[1, 2, 0, 0]]), torch.tensor([[True, True, False, False]]), torch.tensor([[5, 6]])
    h = (w_in[1] + w_in[2]) / 2
    h_req = h.clone().requires_grad_()
    loss = -(torch.nn.functional.logsigmoid(h_req @ w_out[0]) + torch.nn.functional.logsigmoid(-(w_out[[5, 6]] @ h_req)).sum())
    loss.backward()
    before = w_in.clone()
    cbow_step(w_in, w_out, center, ctx, mask, neg, lr=0.1)
    torch.testing.assert_close(w_in[1] - before[1], -0.1 * h_req.grad)   # not divided by 2
    torch.testing.assert_close(w_in[2] - before[2], -0.1 * h_req.grad)


@pytest.mark.parametrize("sg", [True, False])
def test_training_lowers_the_loss_and_groups_related_words(sg):
    # two topics that never mix: words should be nearer their own topic
    rng = np.random.default_rng(0)
    a, b = [f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]
    sentences = [list(rng.choice(a if s % 2 else b, 8)) for s in range(300)]
    cfg = Word2VecConfig(dim=16, window=3, epochs=3, min_count=1, sample=0, sg=sg, batch_size=256,
                         dtype=torch.float64)
    m = Word2Vec.train(sentences, cfg, seed=0)
    assert np.mean(m.losses[-5:]) < np.mean(m.losses[:5])
    v = torch.nn.functional.normalize(m.w_in, dim=1)
    same = v[m.index["a0"]] @ v[m.index["a1"]]
    other = v[m.index["a0"]] @ v[m.index["b1"]]
    assert same > other + 0.3


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        build_vocab([])
    with pytest.raises(ValueError, match="min_count=5"):
        build_vocab([["a", "b"]], min_count=5)
    m = Word2Vec.train([["a", "b"]] * 5, Word2VecConfig(dim=4, epochs=1, min_count=1))
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        m.vector("zebra")
