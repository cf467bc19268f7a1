import json

import pytest
from hypothesis import given, settings, strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from snippets.tokenizers.bpe import ByteLevelBPE, best_pair, byte_to_unicode, merge_pair, train_fast, train_naive
from tests.tokenizers.texts import synthetic_corpus

TEXT = synthetic_corpus()


@pytest.fixture(scope="module")
def tok() -> ByteLevelBPE:
    return ByteLevelBPE.train(TEXT, 400, special_tokens=["<|endoftext|>"])


def test_classic_example_without_pre_tokenization():
    # "aaabdaaabac": (a, a) occurs 4 times (overlapping); after it, "aa"+"a" and "a"+"b" tie at 2
    # and the smaller pair (a, b) wins; then "aa"+"ab" occurs twice
    a, b, c, d = (ord(x) for x in "abcd")
    merges = train_naive("aaabdaaabac", 259, pattern=None)
    assert merges == [(a, a), (a, b), (256, 257)]
    assert train_fast("aaabdaaabac", 259, pattern=None) == merges
    assert ByteLevelBPE.from_merges(merges, None).encode("aaabdaaabac") == [258, d, 258, a, c]


def test_merge_pair_is_left_to_right_and_non_overlapping():
    assert merge_pair([1, 1, 1, 2], (1, 1), 9) == [9, 1, 2]


def test_ties_go_to_the_smallest_pair():
    assert best_pair({(5, 1): 3, (2, 7): 3, (9, 9): 2}) == (2, 7)


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", None])
def test_fast_trainer_learns_the_same_merges_as_the_naive_one(pattern):
    text = TEXT[:6000]
    assert train_fast(text, 330, pattern) == train_naive(text, 330, pattern)


def test_training_stops_when_nothing_is_left_to_merge():
    assert len(train_fast("ab ab", 300)) == len(train_naive("ab ab", 300)) == 2  # "ab", " ab"


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_round_trip_any_valid_unicode(tok, text):
    text = text.encode("utf-8", errors="replace").decode("utf-8")  # hypothesis may draw lone surrogates
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("text", ["🙂👩‍👩‍👧 e\u0301 \x00 nul", "日本語のテキスト", " \n\t  "])
def test_round_trip_hard_cases(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_lone_surrogates_are_a_clear_error(tok):
    with pytest.raises(ValueError, match="lone surrogate"):
        tok.encode("ok \ud800 no")


def test_special_tokens(tok):
    eot = tok.special["<|endoftext|>"]
    assert eot == 399 and tok.vocab_size == 400
    ids = tok.encode("ka<|endoftext|>to")
    assert eot in ids and tok.decode(ids) == "ka<|endoftext|>to"
    assert eot not in tok.encode("ka<|endoftext|>to", allow_special=False)


def test_save_and_load(tok, tmp_path):
    tok.save(tmp_path / "t.json")
    again = ByteLevelBPE.load(tmp_path / "t.json")
    assert again.merges == tok.merges and again.special == tok.special
    assert again.encode(TEXT[:500]) == tok.encode(TEXT[:500])


def test_bad_input_is_a_clear_error(tok, tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        ByteLevelBPE.train("", 300)
    with pytest.raises(ValueError, match="below the 256-byte alphabet"):
        ByteLevelBPE.train("abc", 255)
    with pytest.raises(ValueError, match="token id 400"):
        tok.decode([1, 400])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid tokenizer JSON"):
        ByteLevelBPE.load(tmp_path / "bad.json")
    data = tok.to_dict()
    data["merges"][3] = [1, 99999]
    with pytest.raises(ValueError, match="merge 3"):
        ByteLevelBPE.from_dict(data)
    del data["vocab"]
    with pytest.raises(ValueError, match="corrupt"):
        ByteLevelBPE.from_dict(data)


def test_byte_alphabet_is_a_bijection_onto_printable_characters():
    table = byte_to_unicode()
    assert len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("a")] == "a"


def hf_byte_level(model: models.Model) -> Tokenizer:
    hf = Tokenizer(model)
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()
    return hf


def test_our_encoder_with_merges_trained_by_tokenizers():
    hf = hf_byte_level(models.BPE())
    hf.train_from_iterator([TEXT], trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(hf.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    ours = ByteLevelBPE.from_hf(model["vocab"], merges, "gpt2")
    probe = TEXT[:3000] + " Unseen wörds, 31415926 and 🙃!"
    assert ours.encode(probe) == hf.encode(probe).ids


def test_tokenizers_with_our_merges(tok):
    plain = ByteLevelBPE.from_merges(tok.merges, "gpt2")
    vocab, merges = plain.to_hf()
    hf = hf_byte_level(models.BPE(vocab=vocab, merges=merges))
    probe = TEXT[:3000] + " Unseen wörds, 31415926 and 🙃!"
    assert hf.encode(probe).ids == plain.encode(probe)
    assert hf.decode(plain.encode(probe)) == probe
