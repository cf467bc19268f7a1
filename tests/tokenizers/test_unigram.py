import math
import random
from collections import Counter

import pytest
import sentencepiece as spm
from hypothesis import given, settings, strategies as st

from snippets.tokenizers.unigram import SPACE, UnigramLM, from_stream, to_stream
from tests.tokenizers.texts import MULTISCRIPT_LINES, multiscript_corpus, synthetic_corpus

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


def test_a_run_of_unknown_characters_is_one_piece():
    lm = UnigramLM({SPACE: math.log(0.4), "a": math.log(0.3), "b": math.log(0.3)})
    # Viterbi scores each unknown character alone; encode joins a run of them, as sentencepiece does
    assert lm.viterbi(to_stream("axyb z")) == [SPACE, "a", "x", "y", "b", SPACE, "z"]
    assert lm.encode("axyb z") == [SPACE, "a", "xy", "b", SPACE, "z"]
    assert lm.decode(lm.encode("axyb z")) == "axyb z"


def train_sentencepiece(lines: list[str], vocab_size: int, tmp_path) -> spm.SentencePieceProcessor:
    (tmp_path / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    # identity normalisation and every space kept: the same stream our encoder builds
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "corpus.txt"), model_prefix=str(tmp_path / "m"), model_type="unigram",
        vocab_size=vocab_size, normalization_rule_name="identity", remove_extra_whitespaces=False,
        character_coverage=1.0, minloglevel=2)
    return spm.SentencePieceProcessor(model_file=str(tmp_path / "m.model"))


def loaded(sp: spm.SentencePieceProcessor) -> UnigramLM:
    return UnigramLM({sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())
                      if not (sp.is_control(i) or sp.is_unknown(i))})


def test_same_segmentation_as_sentencepiece_on_many_scripts(tmp_path):
    # Thai and Korean are held out of training, so their lines are runs of unknown characters;
    # the probes also carry tabs, double spaces, a CRLF inside a line and unseen emoji
    held_out = ("ภ", "한")
    lines = [line for line in multiscript_corpus().split("\r\n") if line and not any(c in line for c in held_out)]
    sp = train_sentencepiece(lines, 300, tmp_path)
    ours = loaded(sp)
    probes = [*MULTISCRIPT_LINES, "ภาษา ไทย and 한국어", "a\tb  c   d", " lead", "trail ", "x\r\ny", "🦀🦀 crab"]
    unknown_runs = 0
    for line in probes:
        pieces = sp.encode(line, out_type=str)
        assert ours.encode(line) == pieces, line
        unknown_runs += sum(len(p) > 1 and p not in ours.pieces for p in pieces)
    assert unknown_runs >= 5  # the check did exercise runs of unknown characters


def test_a_literal_space_marker_decodes_as_a_space_as_in_sentencepiece(tmp_path):
    # documented, not escaped: "▁" means a space in the stream, in ours and in sentencepiece
    sp = train_sentencepiece([" ".join(line.split()) for line in TEXT.split(" . ")], 150, tmp_path)
    ours = loaded(sp)
    text = f"ka{SPACE}to ri"
    assert ours.encode(text) == sp.encode(text, out_type=str)
    assert ours.decode(ours.encode(text)) == sp.decode(sp.encode(text)) == "ka to ri"
