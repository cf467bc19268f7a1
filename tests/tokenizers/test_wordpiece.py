import random
from collections import Counter

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from snippets.tokenizers.wordpiece import (WORD_PATTERN, PairIndex, WordPiece, join, merge_in_word,
                                           pair_scores, train_wordpiece)
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


def recount_wordpiece(text: str, vocab_size: int) -> list[str]:
    """The definition, run literally: every merge rescores every pair of every word from scratch."""
    freq = Counter(WORD_PATTERN.findall(text))
    splits = {w: [w[0]] + ["##" + c for c in w[1:]] for w in freq}
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted({p for s in splits.values() for p in s})
    while len(vocab) < vocab_size:
        scores = pair_scores(splits, freq)
        if not scores:
            break
        a, b = min(scores, key=lambda p: (-scores[p], p))
        splits = {w: merge_in_word(parts, a, b) for w, parts in splits.items()}
        if join(a, b) not in vocab:
            vocab.append(join(a, b))
    return vocab


def small_corpora(n: int = 40, seed: int = 0):
    """Words over a tiny alphabet: many ties, repeated units ("aaa": overlapping pairs), and
    strings reachable from two different pairs ("ab" + "##c" and "a" + "##bc")."""
    rng = random.Random(seed)
    for _ in range(n):
        text = " ".join("".join(rng.choice("aabbbcd") for _ in range(rng.randint(1, 8)))
                        for _ in range(rng.randint(1, 60)))
        yield text, rng.randint(14, 80)


def test_incremental_trainer_equals_the_recount_on_every_input():
    cases = [("low lower lowest low low", 30), (TEXT, 200), (TEXT, 10**6), (MULTI, 400),
             *small_corpora()]
    for text, size in cases:          # (TEXT, 10**6): merge until every word is one piece
        assert train_wordpiece(text, size) == recount_wordpiece(text, size), (text[:40], size)


def test_a_merge_rewrites_only_the_words_that_contain_the_pair():
    index = PairIndex(Counter(WORD_PATTERN.findall(TEXT)))
    for _ in range(50):
        a, b = index.best()
        before = {w: list(parts) for w, parts in index.splits.items()}
        objects = {w: id(parts) for w, parts in index.splits.items()}
        with_pair = {w for w, parts in before.items() if (a, b) in zip(parts, parts[1:])}
        assert index.merge(a, b) == len(with_pair) < len(before) / 4
        for w, parts in index.splits.items():        # every other word: the same list, untouched
            if w not in with_pair:
                assert id(parts) == objects[w] and parts == before[w]
        # the counts kept by deltas equal a recount, so every score is what the definition says
        scores = pair_scores(index.splits, index.freq)
        assert {p: index.score(p) for p in index.pairs} == scores
        assert index.best() == min(scores, key=lambda p: (-scores[p], p))


def test_training_work_grows_with_the_words_merged_not_with_merges_times_words():
    freq = Counter(WORD_PATTERN.findall(TEXT * 3 + MULTI))
    index, rewritten, merges = PairIndex(freq), 0, 0
    while (pair := index.best()) is not None:
        rewritten += index.merge(*pair)
        merges += 1
    # the recount would touch every word at every merge; each word is rewritten once per merge
    # inside it, so at most (letters - 1) times in all
    assert merges > 500 and rewritten <= sum(len(w) - 1 for w in freq) < merges * len(freq) / 50


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
