import json

import pytest
import regex
import tiktoken
from hypothesis import given, settings, strategies as st
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from snippets.tokenizers.bpe import (MEMO_MAX_CHARS, ByteLevelBPE, apply_merges, best_pair, byte_to_unicode,
                                     merge_pair, tokenizers_byte_order, train_fast, train_naive)
from snippets.tokenizers.pretokenize import GPT4_PATTERN, pretokenize
from tests.tokenizers.texts import MULTISCRIPT_LINES, multiscript_corpus, synthetic_corpus

TEXT = synthetic_corpus()
MULTI = multiscript_corpus()


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


def test_training_on_a_lone_surrogate_is_a_clear_error():
    for train in (train_fast, train_naive, ByteLevelBPE.train):
        with pytest.raises(ValueError, match=r"lone surrogate '\\udc80' at index 4"):
            train("abc \udc80 def", 300)


def round_by_round(ids: list[int], ranks: dict, merged: dict) -> list[int]:
    """The textbook encoder: merge every occurrence of the lowest-ranked pair present, repeat."""
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, len(ranks)))
        if pair not in ranks:
            break
        ids = merge_pair(ids, pair, merged[pair])
    return ids


@given(st.text(alphabet="katorinlmesu ", max_size=300))
@settings(max_examples=200, deadline=None)
def test_heap_merging_equals_merging_round_by_round(tok, text):
    ids = [tok.byte_ids[b] for b in text.encode("utf-8")]
    assert apply_merges(ids, tok.ranks, tok.merged) == round_by_round(ids, tok.ranks, tok.merged)


class CountingRanks(dict):
    """The merge ranks, counting every lookup the encoder makes."""
    lookups = 0

    def get(self, key, default=None):
        self.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key):
        self.lookups += 1
        return super().__getitem__(key)

    def __contains__(self, key):
        self.lookups += 1
        return super().__contains__(key)


@pytest.mark.parametrize("n", [2_000, 16_000])
def test_encoding_one_long_run_of_letters_does_linear_work(tok, n):
    # One pre-token of n letters (the corpus' words glued together). Re-scanning the chunk after
    # every merge round costs rounds x n rank lookups (about 28 n here); the heap looks up each
    # initial pair once, each popped entry once and the two new pairs of each merge once:
    # at most (n - 1) + 3 (n - 1) + 2 (n - 1) < 6 n.
    letters = "".join(regex.findall(r"\p{L}+", TEXT))
    run = (letters * (n // len(letters) + 1))[:n]
    fresh = ByteLevelBPE.from_merges(tok.merges)
    fresh.ranks = CountingRanks(fresh.ranks)
    ids = fresh.encode(run)
    assert fresh.decode(ids) == run and len(ids) < n / 2  # merges did apply
    n_bytes = len(run.encode("utf-8"))
    assert fresh.ranks.lookups < 6 * n_bytes, f"{fresh.ranks.lookups} rank lookups for {n_bytes} bytes"


def test_tokenizers_byte_order_ranks_bytes_by_their_stand_in():
    order, table = tokenizers_byte_order(), byte_to_unicode()
    assert sorted(order) == list(range(256))
    assert order[ord("!")] == 0 and order[ord("a")] < order[ord(" ")]  # "Ġ" (U+0120) sorts after "a"
    assert all((order[a] < order[b]) == (table[a] < table[b]) for a in range(256) for b in range(256))
    with pytest.raises(ValueError, match="permutation"):
        train_fast("ab ab", 300, byte_order=[0] * 256)


@pytest.mark.parametrize("pattern", ["gpt2", None])
def test_both_trainers_agree_under_any_byte_order(pattern):
    order = tokenizers_byte_order()
    assert train_fast(MULTI[:3000], 300, pattern, order) == train_naive(MULTI[:3000], 300, pattern, order)


def hf_trained(text: str, vocab_size: int) -> tuple[Tokenizer, ByteLevelBPE]:
    hf = hf_byte_level(models.BPE())
    hf.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(hf.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return hf, ByteLevelBPE.from_hf(model["vocab"], merges, "gpt2")


def merged_bytes(tok: ByteLevelBPE) -> list[tuple[bytes, bytes]]:
    return [(tok.vocab[a], tok.vocab[b]) for a, b in tok.merges]


@pytest.mark.parametrize("corpus", ["synthetic", "multiscript"])
def test_same_merge_list_as_the_tokenizers_trainer_with_its_byte_order(corpus):
    # tokenizers numbers its 256 base symbols by the code point of their stand-in characters;
    # with the same numbering for ties, the two trainers must agree merge for merge
    text = TEXT if corpus == "synthetic" else MULTI
    _, theirs = hf_trained(text, 600)
    ours = ByteLevelBPE.from_merges(train_fast(text, 600, byte_order=tokenizers_byte_order()))
    assert len(theirs.merges) == 344 if corpus == "multiscript" else len(theirs.merges) > 100
    assert merged_bytes(ours) == merged_bytes(theirs)
    # with byte values as tie-break ids the lists part at the first tie that involves a space
    assert merged_bytes(ByteLevelBPE.from_merges(train_fast(text, 600))) != merged_bytes(theirs)


def test_encoders_agree_with_tokenizers_on_many_scripts():
    # several scripts, ZWJ emoji sequences, combining marks, snake_case code, CRLF line ends
    probe = MULTI + "".join(MULTISCRIPT_LINES) + " unseen: ∮ ⠿ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🫠\r\n"
    hf, theirs = hf_trained(MULTI, 600)
    assert theirs.encode(probe) == hf.encode(probe).ids  # our encoder, their merges
    ours = ByteLevelBPE.from_merges(train_fast(MULTI, 600))
    vocab, merges = ours.to_hf()
    with_ours = hf_byte_level(models.BPE(vocab=vocab, merges=merges))
    assert with_ours.encode(probe).ids == ours.encode(probe)  # their encoder, our merges
    assert with_ours.decode(ours.encode(probe)) == probe == ours.decode(ours.encode(probe))


# ---- the pre-token memo: a speed-up that must not change a single id ---------------------------

@pytest.fixture(scope="module")
def multi_merges() -> list[tuple[int, int]]:
    return train_fast(MULTI, 600, "gpt4")


def test_memo_gives_the_ids_of_merging_every_pre_token_afresh(multi_merges):
    probe = MULTI + " unseen: ∮ ⠿ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🫠 " + "x" * 300 + "\r\n"  # a pre-token too long to memoise
    memoised = ByteLevelBPE.from_merges(multi_merges, "gpt4")
    plain = ByteLevelBPE.from_merges(multi_merges, "gpt4", memo_size=0)
    ids = memoised.encode(probe)
    assert ids == plain.encode(probe) and not plain.memo
    assert 0 < len(memoised.memo) <= memoised.memo_size
    assert all(len(piece) <= MEMO_MAX_CHARS for piece in memoised.memo)  # the 300 x's were not kept
    assert memoised.encode(probe) == ids  # a second call, served from the memo
    assert memoised.decode(ids) == probe
    # the returned list is a fresh copy: editing it cannot corrupt the memo
    ids[:] = [0] * len(ids)
    assert memoised.encode(probe) == plain.encode(probe)


def test_memo_never_holds_more_than_its_bound_and_keeps_the_recent_pre_tokens(multi_merges):
    plain = ByteLevelBPE.from_merges(multi_merges, "gpt4", memo_size=0)
    small = ByteLevelBPE.from_merges(multi_merges, "gpt4", memo_size=8)
    sizes = []
    for line in MULTI.splitlines(keepends=True)[:300]:
        ids = small.encode(line)
        sizes.append(len(small.memo))
        assert ids == plain.encode(line) and small.decode(ids) == line
    assert max(sizes) == 8  # full, and never over
    last = list(dict.fromkeys(pretokenize(MULTI.splitlines(keepends=True)[299], "gpt4")))
    k = min(8, len(last))
    assert list(small.memo)[-k:] == last[-k:]  # the last line's pre-tokens are the most recent
    with pytest.raises(ValueError, match="memo_size must be >= 0"):
        ByteLevelBPE.from_merges(multi_merges, "gpt4", memo_size=-1)


def test_tiktoken_with_our_merges_gives_our_ids(multi_merges):
    ours = ByteLevelBPE.from_merges(multi_merges, "gpt4")
    theirs = tiktoken.Encoding(name="ours-multiscript", pat_str=GPT4_PATTERN,
                               mergeable_ranks=ours.mergeable_ranks(), special_tokens={})
    probe = MULTI + "".join(MULTISCRIPT_LINES) + " unseen: ∮ ⠿ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🫠\r\n"
    assert theirs.encode_ordinary(probe) == ours.encode(probe)
    assert theirs.decode(ours.encode(probe)) == probe
    # ids that do not grow with merge rank would be merged in another order by tiktoken
    vocab = {**{b: bytes([b]) for b in range(256)}, 256: b"ab", 257: b"cd"}
    with pytest.raises(ValueError, match="do not grow with merge rank"):
        ByteLevelBPE(vocab, [(ord("c"), ord("d")), (ord("a"), ord("b"))]).mergeable_ranks()
