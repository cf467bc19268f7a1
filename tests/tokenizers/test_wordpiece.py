import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from snippets.tokenizers.wordpiece import WORD_PATTERN, WordPiece, pair_scores, train_wordpiece
from tests.tokenizers.texts import MULTISCRIPT_LINES, multiscript_corpus, synthetic_corpus

TEXT = synthetic_corpus().replace("🙂", "")


def test_score_prefers_pairs_whose_parts_are_rare():
    freq = {"ab": 10, "ac": 10, "xy": 2}
    splits = {"ab": ["a", "##b"], "ac": ["a", "##c"], "xy": ["x", "##y"]}
    scores = pair_scores(splits, freq)
    # (a, ##b): 10 / (20 * 10); (x, ##y): 2 / (2 * 2) wins although it is 5x rarer
    assert scores[("a", "##b")] == pytest.approx(10 / 200)
    assert max(scores, key=scores.get) == ("x", "##y")


def test_training_builds_words_from_pieces_with_hash_prefix():
    vocab = train_wordpiece("low lower lowest low low", 30)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert "low" in vocab and "##w" in vocab and len(vocab) <= 30


def test_greedy_longest_match_first():
    wp = WordPiece(["[UNK]", "un", "##aff", "##able", "u", "##n", "##a", "##f", "##b", "##l", "##e", "##ff"])
    assert wp.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert wp.tokenize("unz") == ["[UNK]"]  # no piece covers "z": the whole word is unknown


def test_same_tokens_as_tokenizers_wordpiece():
    vocab = train_wordpiece(TEXT, 200)
    ours = WordPiece(vocab)
    hf = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]",
                                    max_input_chars_per_word=100))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    probe = TEXT[:4000] + " Kazoo, zebra-like! ühber 2024."
    assert ours.tokenize(probe) == hf.encode(probe).tokens
    assert ours.encode(probe) == hf.encode(probe).ids


def test_decode_joins_hash_pieces():
    wp = WordPiece(train_wordpiece(TEXT, 200))
    assert wp.decode(wp.encode("katori naber")) == "katori naber"


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        train_wordpiece("   ", 100)
    with pytest.raises(ValueError, match="below the"):
        train_wordpiece("abc def", 5)
    with pytest.raises(ValueError, match="unknown token"):
        WordPiece(["a", "b"])
    with pytest.raises(ValueError, match="token id 7"):
        WordPiece(["[UNK]", "a"]).decode([7])


MULTI = multiscript_corpus()
# characters the pre-tokenizers must agree on: Unicode spaces, separators, symbols, math letters
PROBE = MULTI + "".join(MULTISCRIPT_LINES) + "\x1c\x1f\u00a0\u2028 x\u3000y a_b ∑x² 𝔘𝔫 ¿qué? 🫠!"


def test_word_pattern_is_berts_pre_tokenizer_on_many_scripts():
    # emoji with zero-width joiners, combining marks and snake_case stay or split exactly as in BERT
    words = [w for w, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(PROBE)]
    assert WORD_PATTERN.findall(PROBE) == words
    assert WORD_PATTERN.findall("count_tokens 👩\u200d💻 cafe\u0301") == [
        "count", "_", "tokens", "👩\u200d💻", "cafe\u0301"]


def test_same_tokens_as_tokenizers_wordpiece_on_many_scripts():
    vocab = train_wordpiece(MULTI, 400)
    hf = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]",
                                    max_input_chars_per_word=100))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    assert WordPiece(vocab).tokenize(PROBE) == hf.encode(PROBE).tokens
