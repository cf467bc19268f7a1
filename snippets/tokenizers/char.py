"""A character-level tokenizer: the vocabulary is the sorted set of characters in a corpus.

The baseline every subword tokenizer is measured against (Karpathy's char-rnn and nanoGPT's
Shakespeare model use it): no merges, no out-of-vocabulary words inside the training
alphabet, but one token per character, so sequences are as long as they can be.
"""

# --8<-- [start:imports]
from collections.abc import Sequence
# --8<-- [end:imports]


# --8<-- [start:char_tokenizer]
class CharTokenizer:
    """Maps each character seen in training to its rank in the sorted alphabet."""

    def __init__(self, chars: Sequence[str]) -> None:
        if not chars:
            raise ValueError("a CharTokenizer needs at least one character")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError(f"every vocabulary entry must be one character, got {list(chars)[:10]}")
        if len(set(chars)) != len(chars):
            raise ValueError("the character vocabulary contains duplicates")
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def train(cls, text: str) -> "CharTokenizer":
        if not text:
            raise ValueError("cannot train a CharTokenizer on an empty corpus")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} (U+{ord(error.args[0]):04X}) "
                             f"is not in the vocabulary of {self.vocab_size}") from None

    def decode(self, ids: Sequence[int]) -> str:
        out = []
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i!r} is outside the vocabulary [0, {self.vocab_size})")
            out.append(self.itos[i])
        return "".join(out)

    def to_dict(self) -> dict:
        return {"type": "char", "chars": "".join(self.itos)}

    @classmethod
    def from_dict(cls, data: dict) -> "CharTokenizer":
        if not isinstance(data, dict) or data.get("type") != "char" or not isinstance(data.get("chars"), str):
            raise ValueError(f"not a saved CharTokenizer: expected {{'type': 'char', 'chars': str}}, "
                             f"got {str(data)[:80]}")
        return cls(list(data["chars"]))
# --8<-- [end:char_tokenizer]
