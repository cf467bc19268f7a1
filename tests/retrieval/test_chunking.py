import pytest

from snippets.retrieval.chunking import fixed_chunks, sentence_chunks, split_sentences

TEN = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"


def test_fixed_chunks_by_hand():
    assert fixed_chunks(TEN, 4) == ["w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9"]
    assert fixed_chunks(TEN, 10) == [TEN]
    assert fixed_chunks(TEN, 25) == [TEN]


def test_overlapping_windows_by_hand():
    # stride 4 - 2 = 2: starts 0, 2, 4, 6; the window at 6 reaches the last word, so none at 8
    assert fixed_chunks(TEN, 4, overlap=2) == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9"]
    # stride 3: starts 0, 3, 6
    assert fixed_chunks(TEN, 4, overlap=1) == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert fixed_chunks("a b c", 4, overlap=2) == ["a b c"]


@pytest.mark.parametrize("n, size, overlap", [(1, 1, 0), (7, 3, 1), (50, 8, 3), (9, 5, 4), (64, 16, 0)])
def test_windows_cover_every_word_in_order_and_never_exceed_size(n, size, overlap):
    text = " ".join(f"w{i}" for i in range(n))
    chunks = fixed_chunks(text, size, overlap)
    assert all(len(c.split()) <= size for c in chunks)
    assert chunks[0].split()[0] == "w0" and chunks[-1].split()[-1] == f"w{n - 1}"
    for a, b in zip(chunks, chunks[1:]):   # consecutive windows share exactly `overlap` words
        assert a.split()[len(a.split()) - overlap:] == b.split()[:overlap]
    assert {w for c in chunks for w in c.split()} == set(text.split())


def test_whitespace_is_collapsed_and_empty_text_gives_no_chunk():
    assert fixed_chunks("a \n b\t c  ", 2) == ["a b", "c"]
    assert fixed_chunks("  ", 3) == [] and sentence_chunks("", 3) == []


def test_sentences_by_hand():
    text = "Hi there. How are you? Fine!  Thanks"
    assert split_sentences(text) == ["Hi there.", "How are you?", "Fine!", "Thanks"]
    assert split_sentences("Version 3.5 is out.") == ["Version 3.5 is out."]  # no space after the dot


def test_sentence_chunks_pack_whole_sentences_and_cut_only_an_overlong_one():
    text = "One two three. Four five. Six seven eight nine ten eleven. Twelve."
    # 3 + 2 words fit in 5; the 6-word sentence alone is cut into 5 + 1; "Twelve." joins the 1
    assert sentence_chunks(text, 5) == ["One two three. Four five.", "Six seven eight nine ten",
                                        "eleven.", "Twelve."]
    assert sentence_chunks(text, 6) == ["One two three. Four five.", "Six seven eight nine ten eleven.",
                                        "Twelve."]
    assert sentence_chunks(text, 100) == [text]


@pytest.mark.parametrize("size, overlap, message", [
    (0, 0, "positive number of words, got 0"), (-3, 0, "got -3"),
    (4, 4, r"overlap must be in \[0, size\) = \[0, 4\), got 4"), (4, 7, "got 7"), (4, -1, "got -1")])
def test_bad_sizes_and_overlaps_are_errors_naming_the_values(size, overlap, message):
    with pytest.raises(ValueError, match=message):
        fixed_chunks(TEN, size, overlap)


def test_sentence_chunks_reject_a_size_below_one():
    with pytest.raises(ValueError, match="max_words must be a positive number of words, got 0"):
        sentence_chunks(TEN, 0)
