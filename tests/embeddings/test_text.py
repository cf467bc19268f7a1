import numpy as np

from snippets.embeddings.text import lee_documents, lee_similarities, play_files, play_sentences, words


def test_words_keep_inner_apostrophes():
    assert words("O'er the Hill, ne'er 'tis!") == ["o'er", "the", "hill", "ne'er", "tis"]


def test_the_plays_are_all_there():
    assert len(play_files()) == 38
    first = play_sentences(max_plays=1)
    assert len(first) > 1000 and all(first)


def test_lee_similarities_are_a_symmetric_50_by_50_matrix():
    m = lee_similarities()
    assert m.shape == (50, 50) and len(lee_documents()) == 50
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1.0)
