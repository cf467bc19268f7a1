"""Cutting long documents into the passages a retriever indexes: fixed-size windows, sentences, overlap.

A token here is a whitespace-separated word, so sizes are in words (a WordPiece encoder such as
MiniLM sees about 1.3 tokens a word in English). Every chunker first collapses runs of whitespace
to one space, so a chunk is always a substring of " ".join(text.split()).
"""

# --8<-- [start:imports]
import re
# --8<-- [end:imports]


# --8<-- [start:fixed]
def fixed_chunks(text: str, size: int, overlap: int = 0) -> list[str]:
    """Windows of `size` words, each starting `size - overlap` words after the last; the last one
    ends at the final word. overlap = 0 is plain fixed-size chunking."""
    if size <= 0:
        raise ValueError(f"chunk size must be a positive number of words, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size) = [0, {size}), got {overlap}")
    words = text.split()
    if not words:
        return []
    # a window starting at or after len - overlap would only repeat words the previous one holds
    starts = range(0, max(len(words) - overlap, 1), size - overlap)
    return [" ".join(words[s:s + size]) for s in starts]
# --8<-- [end:fixed]


# --8<-- [start:sentences]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences: split after '.', '!' or '?' followed by whitespace (abbreviations are cut too)."""
    return [s for s in SENTENCE_END.split(" ".join(text.split())) if s]


def sentence_chunks(text: str, max_words: int) -> list[str]:
    """Whole sentences packed greedily into chunks of at most `max_words` words; a sentence longer
    than that is cut into fixed-size windows of its own."""
    if max_words <= 0:
        raise ValueError(f"max_words must be a positive number of words, got {max_words}")
    chunks, current, count = [], [], 0
    for sentence in split_sentences(text):
        n = len(sentence.split())
        if current and count + n > max_words:
            chunks.append(" ".join(current))
            current, count = [], 0
        if n > max_words:
            chunks.extend(fixed_chunks(sentence, max_words))
        else:
            current.append(sentence)
            count += n
    if current:
        chunks.append(" ".join(current))
    return chunks
# --8<-- [end:sentences]
