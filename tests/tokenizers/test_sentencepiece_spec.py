import pytest

from snippets.tokenizers.sentencepiece_spec import train_with_spec

LINES = ["the river of the city", "New York in 2024", "ﬁve ＡＢＣ words"] * 40


def test_logged_spec_holds_the_defaults_and_the_options_given():
    _, defaults = train_with_spec(LINES, vocab_size=60, hard_vocab_limit=False)
    assert (defaults["model_type"], defaults["character_coverage"], defaults["name"]) == (
        "UNIGRAM", "0.9995", "nmt_nfkc")
    assert defaults["byte_fallback"] == defaults["split_digits"] == "0"
    assert defaults["add_dummy_prefix"] == defaults["split_by_whitespace"] == "1"
    _, changed = train_with_spec(LINES, vocab_size=60, hard_vocab_limit=False, split_digits=True,
                                 character_coverage=1.0, normalization_rule_name="identity")
    assert (changed["split_digits"], changed["character_coverage"], changed["name"]) == ("1", "1", "identity")


def test_the_model_trained_is_the_one_returned():
    sp, _ = train_with_spec(LINES, vocab_size=60, hard_vocab_limit=False)
    assert sp.decode(sp.encode("the river of New York")) == "the river of New York"
    assert sp.normalize("ＡＢＣ") == "▁ABC"  # nmt_nfkc folds full-width letters


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="at least one line"):
        train_with_spec([])
