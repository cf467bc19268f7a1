import pytest
import torch
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

from snippets.embeddings.fasttext import char_ngrams, compose, fnv1a_signed, ngram_buckets, oov_vector, subword_table

WORDS = ["naïve", "café", "Ærøskøbing", "straße", "日本語", "où", "the", "a", "ñ"]


@pytest.mark.parametrize("word", WORDS)
def test_ngrams_and_buckets_equal_gensim(word):
    assert char_ngrams(word, 3, 6) == compute_ngrams_bytes(word, 3, 6)
    assert ngram_buckets(word, 3, 6, 2_000_000) == ft_ngram_hashes(word, 3, 6, 2_000_000)
    assert ngram_buckets(word, 2, 4, 1000) == ft_ngram_hashes(word, 2, 4, 1000)


def test_signed_bytes_matter_for_non_ascii():
    b = "é".encode()
    assert fnv1a_signed(b) == ft_hash_bytes(b)
    unsigned = 2166136261
    for byte in b:   # the textbook FNV-1a reads bytes as unsigned
        unsigned = ((unsigned ^ byte) * 16777619) & 0xFFFFFFFF
    assert unsigned != fnv1a_signed(b)
    assert fnv1a_signed(b"cat") == ft_hash_bytes(b"cat")   # ASCII: no difference


def test_ngrams_never_split_a_character():
    for gram in char_ngrams("日本語", 1, 3):
        gram.decode("utf-8")   # raises if a multi-byte character was cut


def test_composed_vector_is_the_mean_of_its_rows_and_oov_words_get_one():
    words = ["where", "here"]
    ids, mask = subword_table(words, buckets=50)
    table = torch.randn(2 + 50, 3, dtype=torch.float64)
    v = compose(table, ids, mask)
    rows = [0] + [2 + b for b in ngram_buckets("where", buckets=50)]
    torch.testing.assert_close(v[0], table[rows].mean(0))
    assert oov_vector(table, 2, "wherever").shape == (3,)


def test_bad_input():
    with pytest.raises(ValueError, match="min_n"):
        char_ngrams("word", 4, 3)
    with pytest.raises(ValueError, match="buckets"):
        ngram_buckets("word", buckets=0)


def test_subword_step_gives_every_row_the_full_error_as_fasttext_and_gensim_do():
    from snippets.embeddings.fasttext import _sgns_subword_step
    g = torch.Generator().manual_seed(0)
    table, w_out = torch.randn(12, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    ids = torch.tensor([[0, 5, 7], [1, 7, 0], [2, 9, 10]])
    mask = torch.tensor([[True, True, True], [True, True, False], [True, True, True]])
    center, context, neg = torch.tensor([0, 1]), torch.tensor([2, 0]), torch.tensor([[1], [2]])
    t, o = table.clone().requires_grad_(), w_out.clone().requires_grad_()
    v = torch.stack([t[ids[c][mask[c]]].mean(0) for c in center.tolist()])
    v.retain_grad()
    loss = -(torch.nn.functional.logsigmoid((v * o[context]).sum(-1)).sum()
             + torch.nn.functional.logsigmoid(-(v[:, None] * o[neg]).sum(-1)).sum())
    loss.backward()
    _sgns_subword_step(table, w_out, ids, mask, center, context, neg, lr=0.1)
    # each of a word's rows moves by the gradient with respect to the mean vector v, not v's gradient / S
    expected = t.detach().clone()
    for p, c in enumerate(center.tolist()):
        expected.index_add_(0, ids[c][mask[c]], (-0.1 * v.grad[p]).expand(int(mask[c].sum()), -1))
    torch.testing.assert_close(table, expected)
    assert not torch.allclose(table, t.detach() - 0.1 * t.grad)   # the chain rule's err / S is not what runs
    torch.testing.assert_close(w_out, o.detach() - 0.1 * o.grad)


def test_train_fasttext_gives_every_word_a_vector():
    import numpy as np
    from snippets.embeddings.fasttext import train_fasttext
    from snippets.embeddings.word2vec import Word2VecConfig
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(["cat", "cats", "dog", "dogs", "bird"], 6)) for _ in range(50)]
    words, index, vectors, table, ids, mask = train_fasttext(
        sentences, Word2VecConfig(dim=8, epochs=1, min_count=1, sample=0, dtype=torch.float64), buckets=100)
    assert vectors.shape == (5, 8) and set(words) == {"cat", "cats", "dog", "dogs", "bird"}
    assert table.shape == (5 + 100, 8) and np.isfinite(vectors).all()
