import math
import random
from collections import Counter

import pytest
import sentencepiece as spm
from hypothesis import given, settings, strategies as st

from snippets.tokenizers.unigram import SPACE, UnigramLM, from_stream, to_stream
from tests.tokenizers.texts import synthetic_corpus

TEXT = synthetic_corpus(1500)


@pytest.fixture(scope="module")
def model() -> UnigramLM:
    return UnigramLM.train(TEXT, 120, seed_size=600)


def test_viterbi_picks_the_most_probable_segmentation():
    lm = UnigramLM({"a": math.log(0.3), "b": math.log(0.3), "ab": math.log(0.05), "abb": math.log(0.01)})
    # a+b+b = 0.3**3 = 0.027 beats ab+b = 0.015 and abb = 0.01
    assert lm.viterbi("abb") == ["a", "b", "b"]
    lm.pieces["abb"] = math.log(0.2)
    assert lm.viterbi("abb") == ["abb"]


def test_stream_marks_spaces():
    assert to_stream("a b") == f"{SPACE}a{SPACE}b"
    assert from_stream([f"{SPACE}a", f"{SPACE}b"]) == "a b"


def test_training_reaches_the_vocab_size_and_keeps_every_character(model):
    assert len(model.pieces) == 120
    assert {c for w in TEXT.split() for c in SPACE + w} <= set(model.pieces)
    assert math.isclose(sum(math.exp(v) for v in model.pieces.values()), 1.0, rel_tol=1e-6)


def test_training_learns_frequent_words_as_pieces(model):
    common = Counter(TEXT.split()).most_common(1)[0][0]
    assert model.encode(common) == [SPACE + common]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=SPACE)))
@settings(max_examples=200, deadline=None)
def test_round_trip_on_single_spaced_text(model, text):
    # the raw stream keeps every space, so decoding is exact (unknown characters stay as themselves)
    assert model.decode(model.encode(text)) == text


def test_sampling_varies_and_theta_large_is_viterbi(model):
    rng = random.Random(0)
    samples = {tuple(model.sample("katorinalo suberan", 0.1, rng)) for _ in range(40)}
    assert len(samples) > 3
    assert all(from_stream(s) == "katorinalo suberan" for s in samples)
    assert model.sample("katorinalo suberan", 200.0, rng) == model.encode("katorinalo suberan")


def test_same_segmentation_as_sentencepiece(tmp_path):
    (tmp_path / "corpus.txt").write_text("\n".join(TEXT.split(" . ")), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "corpus.txt"), model_prefix=str(tmp_path / "m"), model_type="unigram",
        vocab_size=150, normalization_rule_name="identity", character_coverage=1.0, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "m.model"))
    pieces = {sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i))}
    ours = UnigramLM(pieces)
    lines = [line for line in TEXT.split(" . ") if line.strip()][:60]
    for line in lines:
        line = " ".join(line.split())
        assert ours.encode(line) == sp.encode(line, out_type=str), line


def test_bad_input():
    with pytest.raises(ValueError, match="empty corpus"):
        UnigramLM.train(" \n ", 50)
    with pytest.raises(ValueError, match="below the"):
        UnigramLM.train("abcdefgh", 3)
    with pytest.raises(ValueError, match="at least one piece"):
        UnigramLM({})
