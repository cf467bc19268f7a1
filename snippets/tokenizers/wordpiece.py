"""WordPiece (Schuster & Nakajima, 2012; Wu et al., 2016, arXiv:1609.08144; BERT's tokenizer).

Training merges the pair with the highest ratio count(ab) / (count(a) count(b)), the score of
the Hugging Face course's re-implementation (the `tokenizers` trainer merges by frequency, as
BPE does; the exact likelihood gain is about count(ab) * (PMI(a, b) - 1)). Encoding ignores the merge order: it takes, from the
left, the longest vocabulary entry that matches; pieces inside a word carry the "##" prefix.
"""

# --8<-- [start:imports]
import heapq
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

import regex

# BERT's pre-tokenizer: split on whitespace, then every punctuation character (Unicode P*, or an
# ASCII symbol such as $ + < = > ^ ` | ~) stands alone; letters, digits, marks, emoji stay together
WORD_PATTERN = regex.compile(r"[^\p{White_Space}\p{P}$+<=>^`|~]+|[\p{P}$+<=>^`|~]")
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# --8<-- [end:imports]


# --8<-- [start:train]
# --8<-- [start:train_scores]
def pair_scores(splits: dict[str, list[str]], freq: Counter) -> dict[tuple[str, str], float]:
    """score(a, b) = count(ab) / (count(a) * count(b)): how much more often a, b co-occur than by chance."""
    units, pairs = Counter(), Counter()
    for word, parts in splits.items():
        for part in parts:
            units[part] += freq[word]
        for pair in zip(parts, parts[1:]):
            pairs[pair] += freq[word]
    return {p: c / (units[p[0]] * units[p[1]]) for p, c in pairs.items()}


def join(a: str, b: str) -> str:
    return a + b.removeprefix("##")


def merge_in_word(parts: list[str], a: str, b: str) -> list[str]:
    """Every non-overlapping (a, b), left to right, becomes one piece."""
    i, out = 0, []
    while i < len(parts):
        if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
            out.append(join(a, b))
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out
# --8<-- [end:train_scores]


# --8<-- [start:train_index]
class PairIndex:
    """Unit and pair counts kept up to date by deltas, so a merge costs the words it changes.

    A merge of (a, b) rewrites only the words in `where[(a, b)]`, but it changes count(a),
    count(b) and count(ab), hence the score of every pair that contains one of them
    (`by_unit` finds those). Each changed score is pushed on a max-heap; an entry whose score
    no longer matches the pair's current score is stale and dropped when it reaches the top.
    """

    def __init__(self, freq: Counter) -> None:
        self.freq = freq
        self.splits = {w: [w[0]] + ["##" + c for c in w[1:]] for w in freq}
        self.units, self.pairs = Counter(), Counter()
        self.where: dict[tuple[str, str], set[str]] = defaultdict(set)   # pair -> words with it
        self.by_unit: dict[str, set[tuple[str, str]]] = defaultdict(set)  # unit -> its live pairs
        for word, parts in self.splits.items():
            self._count(word, parts, +1, set())
        self.heap = [(-self.score(p), p) for p in self.pairs]
        heapq.heapify(self.heap)

    def score(self, pair: tuple[str, str]) -> float:
        return self.pairs[pair] / (self.units[pair[0]] * self.units[pair[1]])

    def _count(self, word: str, parts: list[str], sign: int, changed: set) -> None:
        f = sign * self.freq[word]
        for part in parts:
            self.units[part] += f
        for pair in zip(parts, parts[1:]):
            self.pairs[pair] += f
            changed.add(pair)
            if sign > 0:
                self.where[pair].add(word)
                self.by_unit[pair[0]].add(pair)
                self.by_unit[pair[1]].add(pair)
            else:
                self.where[pair].discard(word)
                if self.pairs[pair] == 0:    # the pair is gone from the corpus
                    del self.pairs[pair], self.where[pair]
                    self.by_unit[pair[0]].discard(pair)
                    self.by_unit[pair[1]].discard(pair)

    def best(self) -> tuple[str, str] | None:
        """Highest score; ties go to the smallest pair (the heap orders (-score, pair))."""
        while self.heap:
            neg, pair = self.heap[0]
            if pair in self.pairs and self.score(pair) == -neg:
                return pair
            heapq.heappop(self.heap)                # stale: the pair changed or vanished
        return None

    def merge(self, a: str, b: str) -> int:
        """Merge (a, b) everywhere; returns the number of words rewritten."""
        words = list(self.where[(a, b)])
        changed: set[tuple[str, str]] = set()
        for word in words:                         # only these words contain the pair
            self._count(word, self.splits[word], -1, changed)
            self.splits[word] = merge_in_word(self.splits[word], a, b)
            self._count(word, self.splits[word], +1, changed)
        for unit in (a, b, join(a, b)):            # their counts moved: so did these scores
            changed |= self.by_unit.get(unit, set())
        for pair in changed:
            if pair in self.pairs:
                heapq.heappush(self.heap, (-self.score(pair), pair))
        return len(words)
# --8<-- [end:train_index]


# --8<-- [start:train_loop]
def train_wordpiece(text: str, vocab_size: int, special_tokens: Sequence[str] = SPECIAL_TOKENS) -> list[str]:
    """The vocabulary, in the order it was built: special tokens, the alphabet, then merges.

    Ties in score go to the lexicographically smallest pair, so the result is deterministic.
    """
    freq = Counter(WORD_PATTERN.findall(text))
    if not freq:
        raise ValueError("cannot train WordPiece on an empty corpus")
    index = PairIndex(freq)
    alphabet = sorted({p for parts in index.splits.values() for p in parts})
    vocab = list(special_tokens) + alphabet
    if vocab_size < len(vocab):
        raise ValueError(f"vocab_size {vocab_size} is below the {len(alphabet)} characters "
                         f"plus {len(special_tokens)} special tokens")
    seen = set(vocab)
    while len(vocab) < vocab_size:
        pair = index.best()
        if pair is None:
            break  # every word is a single token
        index.merge(*pair)
        merged = join(*pair)
        if merged not in seen:       # the same string can come from two different pairs
            vocab.append(merged)
            seen.add(merged)
    return vocab
# --8<-- [end:train_loop]
# --8<-- [end:train]


# --8<-- [start:bert_basic]
def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def bert_normalize(text: str, lowercase: bool = True, strip_accents: bool = True) -> str:
    """BERT's normaliser (uncased checkpoints): drop control characters, put spaces around CJK
    ideographs, strip accents (NFD, then drop combining marks), lower-case."""
    chars = []
    for ch in text:
        cp, cat = ord(ch), unicodedata.category(ch)
        if cp == 0 or cp == 0xFFFD or (cat in ("Cc", "Cf", "Co") and ch not in "\t\n\r"):
            continue                                    # control and invalid characters vanish
        if ch in " \t\n\r" or cat == "Zs":
            chars.append(" ")
        elif _is_cjk(cp):
            chars.append(f" {ch} ")                     # each ideograph is a word
        else:
            chars.append(ch)
    text = "".join(chars)
    if strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lowercase:  # character by character: no context rules such as Greek final sigma
        text = "".join(c.lower() for c in text)
    return text


def bert_basic_tokenize(text: str) -> list[str]:
    """Normalise as an uncased BERT does, then split into words and punctuation (WORD_PATTERN)."""
    return WORD_PATTERN.findall(bert_normalize(text))
# --8<-- [end:bert_basic]


# --8<-- [start:encode]
class WordPiece:
    def __init__(self, vocab: Iterable[str], unk_token: str = "[UNK]", max_chars: int = 100,
                 pre_tokenizer: Callable[[str], list[str]] | None = None) -> None:
        """pre_tokenizer splits text into words (default: WORD_PATTERN); BERT's own
        checkpoints need bert_basic_tokenize."""
        self.pre_tokenizer = pre_tokenizer or WORD_PATTERN.findall
        self.itos = list(vocab)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if unk_token not in self.stoi:
            raise ValueError(f"the unknown token {unk_token!r} is not in the vocabulary")
        self.unk, self.max_chars = unk_token, max_chars

    @classmethod
    def train(cls, text: str, vocab_size: int) -> "WordPiece":
        return cls(train_wordpiece(text, vocab_size))

    def tokenize_word(self, word: str) -> list[str]:
        """Greedy longest-match-first; a word with any unmatchable rest becomes one [UNK]."""
        if len(word) > self.max_chars:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.stoi:
                    break
            else:
                return [self.unk]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [p for word in self.pre_tokenizer(text) for p in self.tokenize_word(word)]

    def encode(self, text: str) -> list[int]:
        return [self.stoi[p] for p in self.tokenize(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Lossy: "##" pieces join their word, other pieces get one space (the original spacing is gone)."""
        words = []
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i!r} is outside the vocabulary [0, {len(self.itos)})")
            piece = self.itos[i]
            if piece.startswith("##") and words:
                words[-1] += piece[2:]
            else:
                words.append(piece)
        return " ".join(words)
# --8<-- [end:encode]
