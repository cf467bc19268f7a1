from snippets.tokenizers.pretokenize import pretokenize


def test_gpt2_pattern_keeps_the_space_with_the_word():
    assert pretokenize("Hello world's 2024!!", "gpt2") == ["Hello", " world", "'s", " 2024", "!!"]


def test_gpt4_pattern_caps_digit_runs_at_three():
    assert pretokenize("x 1234567", "gpt4") == ["x", " ", "123", "456", "7"]


def test_trailing_whitespace_before_a_word_is_left_for_the_word():
    # "\s+(?!\S)" leaves the last space so that " b" stays one pre-token
    assert pretokenize("a   b", "gpt2") == ["a", "  ", " b"]


def test_no_pattern_keeps_the_text_whole():
    assert pretokenize("a b", None) == ["a b"]
