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
