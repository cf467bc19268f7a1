import pytest

from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.stats import SAMPLE_SENTENCES, tokens_per_char, vocabulary_tradeoffs


def test_tradeoffs_count_lengths_and_oov():
    rows = vocabulary_tradeoffs("the cat sat", "the dog sat", lambda s: [0] * 5, 300, d_model=10)
    assert rows["character"]["vocab"] == len(set("the cat sat"))
    assert rows["character"]["oov"] == pytest.approx(3 / 11)  # "d", "o" and "g" are unseen
    assert rows["word"] == {"vocab": 3, "length": 3, "oov": pytest.approx(1 / 3), "params": 30}
    assert rows["subword"]["length"] == 5 and rows["subword"]["params"] == 3000


def test_an_english_tokenizer_charges_other_scripts_more():
    english = " ".join([SAMPLE_SENTENCES["English"]] * 20)
    tok = ByteLevelBPE.train(english, 320)
    tax = tokens_per_char(tok.encode)
    assert tax["English"] < 0.5 < 1.0 < tax["Russian"] < tax["Hindi"]
