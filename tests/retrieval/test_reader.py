import numpy as np
import pytest

from snippets.retrieval.reader import read_best_sentence

# a toy encoder: a sentence's vector counts the words "cat" and "dog"
VOCAB = ("cat", "dog")


def toy(texts: list[str]) -> np.ndarray:
    return np.array([[t.lower().count(w) for w in VOCAB] for t in texts], dtype=float)


def test_reader_returns_the_sentence_with_the_largest_dot_product():
    passages = ["A dog barks. The cat sleeps.", "Cat and cat and dog."]
    # scores against (1, 0): 0, 1, 2 -> the third sentence
    assert read_best_sentence(np.array([1.0, 0.0]), passages, toy) == "Cat and cat and dog."
    assert read_best_sentence(np.array([0.0, 1.0]), passages, toy) == "A dog barks."  # tie 1 = 1: first


def test_reader_ignores_passage_order_except_for_ties():
    passages = ["No pets here. A cat.", "Cat cat dog."]
    q = np.array([1.0, 0.2])
    assert read_best_sentence(q, passages, toy) == read_best_sentence(q, passages[::-1], toy) == "Cat cat dog."


def test_reader_errors_name_the_problem():
    with pytest.raises(ValueError, match="no sentence to read in 2 passages"):
        read_best_sentence(np.ones(2), ["", " "], toy)
    with pytest.raises(ValueError, match=r"encode gave \(1, 2\) for 1 sentences and a question of width 3"):
        read_best_sentence(np.ones(3), ["cat"], toy)
