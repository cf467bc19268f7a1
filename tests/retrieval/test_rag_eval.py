import pytest

from snippets.retrieval.rag_eval import best_over_golds, contains, exact_match, normalize_answer, token_f1


def test_normalisation_as_squad_v1_1():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("An apple, a day") == "apple day"
    assert normalize_answer("don't") == "dont"                 # punctuation deleted, not spaced
    assert normalize_answer("Theatre and the man") == "theatre and man"  # only whole-word articles


def test_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match("the Beatles.", "Beatles") == 1.0
    assert exact_match("Beatles band", "Beatles") == 0.0


def test_token_f1_by_hand():
    # prediction "blue whale is big" vs gold "blue whale": shared 2, P = 2/4, R = 2/2, F1 = 2/3
    assert token_f1("The blue whale is big", "a blue whale") == pytest.approx(2 / 3)
    # repeated tokens count with multiplicity: pred [to, to, be], gold [to, be]: shared 2, P 2/3, R 1
    assert token_f1("to to be", "to be") == pytest.approx(0.8)
    assert token_f1("nothing shared", "blue whale") == 0.0
    assert token_f1("", "blue whale") == 0.0 and token_f1("the", "blue whale") == 0.0


def test_best_over_golds_takes_the_maximum_and_needs_a_gold():
    assert best_over_golds(token_f1, "blue whale", ["a red car", "whale"]) == pytest.approx(2 / 3)
    assert best_over_golds(exact_match, "whale", ["a red car", "The whale."]) == 1.0
    with pytest.raises(ValueError, match="no gold answers"):
        best_over_golds(exact_match, "whale", [])


def test_contains_matches_whole_tokens_after_normalisation():
    context = "Python was created by Guido van Rossum. It is a language."
    assert contains(context, "guido van rossum")
    assert contains(context, "It is a language!")
    assert not contains(context, "van Ross")                  # a prefix of a token is not a token
    assert not contains(context, "Rossum it was")             # wrong order


def test_contains_rejects_an_answer_that_normalises_to_nothing():
    with pytest.raises(ValueError, match=r"answer '\?!' is empty after normalisation"):
        contains("anything", "?!")
