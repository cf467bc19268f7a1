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


# tiktoken's own pattern strings, read without touching the network: the rank files are the
# only thing its constructors download, so a stub loader returns no ranks
def tiktoken_pattern(name: str) -> str:
    from unittest import mock

    import regex  # noqa: F401  (tiktoken's patterns need it, as ours do)
    import tiktoken_ext.openai_public as openai_public

    with mock.patch.object(openai_public, "load_tiktoken_bpe", return_value={}):
        return getattr(openai_public, name)()["pat_str"]


VARIED = ["Hello world's 2024!! I'M HERE, you're THERE's; Don't STOP.",
          "HTTPServer camelCase getHTTPResponse iPhone McDonald's O'Neil",
          "pay 1234567 now, or 3.14159; ١٢٣٤ and ⅷ", "東京タワーはEnglishと日本語。 한국어 텍스트",
          "naïve café ÉCOLE Ǆemal e\u0301te", "x = a+b; // done!!\n\n\tif (y) {\r\n  return z/2;\n}  ",
          "path/to/file\n  \n   trailing   ", "Ωmega ΣΊΣΥΦΟΣ Москва МОСКВА's", "emoji 🙂👍🏽 mixed🙂text"]


def test_gpt4o_pattern_is_tiktokens_o200k_pattern():
    import regex

    theirs = tiktoken_pattern("o200k_base")
    assert pretokenize("", "gpt4o") == [] and theirs  # the stub really returned the pattern
    for text in VARIED:
        assert pretokenize(text, "gpt4o") == regex.findall(theirs, text), text


def test_gpt4_pattern_splits_as_tiktokens_cl100k_except_trailing_whitespace():
    import regex

    theirs = tiktoken_pattern("cl100k_base")
    for text in VARIED:
        ours = pretokenize(text, "gpt4")
        if text == text.rstrip():
            assert ours == regex.findall(theirs, text), text
        else:  # the current \s++$ branch keeps a text's final whitespace whole
            assert "".join(ours) == text


def test_gpt4o_splits_at_case_changes_and_keeps_contractions():
    assert pretokenize("camelCase getHTTPResponse", "gpt4o") == ["camel", "Case", " get", "HTTPResponse"]
    assert pretokenize("Don't I'M", "gpt4o") == ["Don't", " I'M"]
    assert pretokenize("Don't I'M", "gpt4") == ["Don", "'t", " I", "'M"]
    assert pretokenize("x 1234567", "gpt4o") == ["x", " ", "123", "456", "7"]
