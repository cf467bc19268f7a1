import json

import pytest
from hypothesis import given, strategies as st

from snippets.tokenizers.char import CharTokenizer


def test_vocabulary_is_the_sorted_alphabet():
    tok = CharTokenizer.train("hello world")
    assert tok.itos == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == 8
    assert tok.encode("hold") == [3, 5, 4, 1]


@given(st.text(min_size=1))
def test_round_trip_any_text(text):
    tok = CharTokenizer.train(text)
    assert tok.decode(tok.encode(text)) == text


def test_to_dict_round_trip_through_json():
    tok = CharTokenizer.train("to be or not")
    again = CharTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.to_dict()["type"] == "char"
    assert again.encode("not to be") == tok.encode("not to be")


def test_errors_name_the_problem():
    tok = CharTokenizer.train("abc")
    with pytest.raises(ValueError, match="empty corpus"):
        CharTokenizer.train("")
    with pytest.raises(ValueError, match=r"'z'"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="token id 3"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="not a saved CharTokenizer"):
        CharTokenizer.from_dict({"type": "bpe", "chars": "abc"})
    with pytest.raises(ValueError, match="duplicates"):
        CharTokenizer.from_dict({"type": "char", "chars": "aab"})
