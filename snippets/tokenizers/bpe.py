"""Byte-level byte-pair encoding (Sennrich et al., 2016, arXiv:1508.07909; GPT-2, Radford et al., 2019).

Text -> UTF-8 bytes -> regex pre-tokens -> repeated merges of the most frequent adjacent pair.
Ids 0..255 are the raw bytes, so every string has an encoding; merge i creates id 256 + i;
special tokens take the ids after the merges.

Tie-breaking rule (both trainers): the pair with the highest count wins; among equal counts,
the pair (a, b) that is smallest as a tuple of ids wins (compare a first, then b). `byte_order`
renumbers the 256 byte ids for that comparison only: `tokenizers_byte_order()` makes both
trainers break ties as Hugging Face `tokenizers` does, and then the merge lists are identical.
"""

# --8<-- [start:imports]
import heapq
import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import regex

from snippets.tokenizers.pretokenize import PATTERNS, compile_pattern

Pair = tuple[int, int]
# --8<-- [end:imports]


# --8<-- [start:merge_pair]
# --8<-- [start:merge_pair_rules]
def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of `pair`, scanning left to right."""
    out, i, n = [], 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def tie_key(byte_order: Sequence[int] | None = None) -> Callable[[Pair], Pair]:
    """The tie-break key of a pair: its ids, with byte ids 0..255 renumbered by `byte_order`."""
    if byte_order is None:
        return lambda pair: pair
    if sorted(byte_order) != list(range(256)):
        raise ValueError("byte_order must be a permutation of the 256 byte ids")
    rank = list(byte_order)
    return lambda pair: (rank[pair[0]] if pair[0] < 256 else pair[0],
                         rank[pair[1]] if pair[1] < 256 else pair[1])


def best_pair(counts: dict[Pair, int], byte_order: Sequence[int] | None = None) -> Pair:
    """Highest count; ties go to the smallest (a, b)."""
    key = tie_key(byte_order)
    return min(counts, key=lambda p: (-counts[p], key(p)))
# --8<-- [end:merge_pair_rules]


# --8<-- [start:merge_pair_checks]
def check_utf8(text: str) -> None:
    """A lone surrogate ("\\ud800") is a str but not Unicode text: it has no UTF-8 bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text has a lone surrogate {text[error.start]!r} at index {error.start}: "
                         "it is not valid Unicode and has no UTF-8 bytes") from None


def _check_training_input(text: str, vocab_size: int, n_special: int = 0) -> None:
    if not text:
        raise ValueError("cannot train BPE on an empty corpus")
    check_utf8(text)
    if vocab_size < 256 + n_special:
        raise ValueError(f"vocab_size {vocab_size} is below the 256-byte alphabet"
                         f"{f' plus {n_special} special tokens' if n_special else ''}")


def _chunks(text: str, pattern: str | None) -> list[bytes]:
    compiled = compile_pattern(pattern)
    pieces = [text] if compiled is None else compiled.findall(text)
    return [p.encode("utf-8") for p in pieces]
# --8<-- [end:merge_pair_checks]
# --8<-- [end:merge_pair]


# --8<-- [start:train_naive]
def train_naive(text: str, vocab_size: int, pattern: str | None = "gpt2",
                byte_order: Sequence[int] | None = None) -> list[Pair]:
    """The textbook loop: re-count every pair in the whole corpus before each merge."""
    _check_training_input(text, vocab_size)
    chunks = [list(c) for c in _chunks(text, pattern)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = Counter()
        for ids in chunks:
            counts.update(zip(ids, ids[1:]))
        if not counts:
            break  # every chunk is a single token: nothing left to merge
        pair = best_pair(counts, byte_order)
        chunks = [merge_pair(ids, pair, new_id) for ids in chunks]
        merges.append(pair)
    return merges
# --8<-- [end:train_naive]


# --8<-- [start:train_fast]
def train_fast(text: str, vocab_size: int, pattern: str | None = "gpt2",
               byte_order: Sequence[int] | None = None) -> list[Pair]:
    """Same merges as train_naive, but each merge only touches the words that contain the pair.

    Pre-tokens are deduplicated into (word, frequency); pair counts are kept up to date
    incrementally, `where[pair]` indexes the words to revisit, and a heap finds the best pair.
    """
    _check_training_input(text, vocab_size)
    freq = Counter(_chunks(text, pattern))
    words = [list(w) for w in freq]
    counts = list(freq.values())
    pair_counts: Counter = Counter()
    where: dict[Pair, set[int]] = {}
    for w, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            pair_counts[pair] += counts[w]
            where.setdefault(pair, set()).add(w)
    # a max-heap of (-count, tie key, pair); entries whose count is out of date are skipped when popped
    key = tie_key(byte_order)
    heap = [(-c, key(p), p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    for new_id in range(256, vocab_size):
        while heap and pair_counts.get(heap[0][2]) != -heap[0][0]:
            heapq.heappop(heap)
        if not heap:
            break  # every word is a single token: nothing left to merge
        pair = heapq.heappop(heap)[2]  # highest count, then smallest key: best_pair's rule
        changed = set()
        for w in where.pop(pair):
            old = words[w]
            new = merge_pair(old, pair, new_id)
            if len(new) == len(old):
                continue  # stale index: this word no longer holds the pair
            f = counts[w]
            for p in zip(old, old[1:]):
                pair_counts[p] -= f
                changed.add(p)
            for p in zip(new, new[1:]):
                pair_counts[p] += f
                changed.add(p)
                where.setdefault(p, set()).add(w)
            words[w] = new
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], key(p), p))
            else:
                del pair_counts[p]
        merges.append(pair)
    return merges
# --8<-- [end:train_fast]


# --8<-- [start:byte_alphabet]
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (the alphabet `tokenizers`' ByteLevel uses).

    Printable Latin-1 bytes stand for themselves; the 68 others (controls, space, ...) are
    shifted to U+0100 and up, in byte order, so that every token prints as visible text.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shift = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


def tokenizers_byte_order() -> list[int]:
    """byte_order[b] = the id `tokenizers`' trainer gives byte b: stand-ins sorted by code point."""
    table = byte_to_unicode()
    by_stand_in = sorted(range(256), key=lambda b: ord(table[b]))
    order = [0] * 256
    for rank, b in enumerate(by_stand_in):
        order[b] = rank
    return order
# --8<-- [end:byte_alphabet]


# --8<-- [start:tokenizer]
# --8<-- [start:tokenizer_apply_merges]
def apply_merges(ids: list[int], ranks: dict[Pair, int], merged: dict[Pair, int]) -> list[int]:
    """Merge by rank in O(n log n): a heap of (rank, position) over a linked list of tokens.

    A merge of rank r only creates pairs that contain the new token, which have ranks above r,
    so popping (rank, position) in order does the same as "merge every occurrence of the
    lowest-ranked pair, left to right, and repeat", without rescanning the chunk each round.
    It is also the order Hugging Face `tokenizers` applies merges in.
    """
    n = len(ids)
    tokens: list[int | None] = list(ids)  # None: absorbed into the token on its left
    nxt, prev = list(range(1, n + 1)), list(range(-1, n - 1))
    heap = []
    for i in range(n - 1):
        rank = ranks.get((ids[i], ids[i + 1]))
        if rank is not None:
            heap.append((rank, i))
    heapq.heapify(heap)
    while heap:
        rank, i = heapq.heappop(heap)
        j = nxt[i]
        # stale entry: the token at i was absorbed, or one side changed since it was pushed
        if tokens[i] is None or j == n or ranks.get((tokens[i], tokens[j])) != rank:
            continue
        tokens[i], tokens[j] = merged[(tokens[i], tokens[j])], None
        nxt[i] = nxt[j]
        if nxt[i] < n:
            prev[nxt[i]] = i
        for left in (prev[i], i):  # the two pairs that now contain the new token
            if left >= 0 and nxt[left] < n:
                new_rank = ranks.get((tokens[left], tokens[nxt[left]]))
                if new_rank is not None:
                    heapq.heappush(heap, (new_rank, left))
    return [t for t in tokens if t is not None]
# --8<-- [end:tokenizer_apply_merges]


# --8<-- [start:tokenizer_class]
# Zipf's law: a few thousand distinct pre-tokens cover most of any text (tiny Shakespeare has about
# 15,000 in all), so 65,536 entries hold the ones that recur; the bound keeps memory near 20 MB
# on a stream of pre-tokens that never repeat (hashes, base64), where a memo cannot help anyway.
MEMO_SIZE = 65_536
MEMO_MAX_CHARS = 64  # longer pre-tokens rarely recur and would pin large lists: not memoised


class ByteLevelBPE:
    """vocab: id -> bytes; merges: (left id, right id) pairs in priority order."""

    def __init__(self, vocab: dict[int, bytes], merges: Sequence[Pair], pattern: str | None = "gpt2",
                 special_tokens: dict[str, int] | None = None, memo_size: int = MEMO_SIZE) -> None:
        self.vocab = dict(vocab)
        self.merges = [tuple(m) for m in merges]
        self.pattern = PATTERNS.get(pattern, pattern) if pattern else None
        self.special = dict(special_tokens or {})
        self._validate()
        token_id = {b: i for i, b in self.vocab.items()}
        self.byte_ids = [token_id[bytes([b])] for b in range(256)]
        self.ranks = {pair: r for r, pair in enumerate(self.merges)}
        self.merged = {pair: token_id[self.vocab[pair[0]] + self.vocab[pair[1]]] for pair in self.merges}
        self.id_to_special = {i: s for s, i in self.special.items()}
        self._regex = compile_pattern(self.pattern)
        self._special_regex = (regex.compile("(" + "|".join(regex.escape(s) for s in
                               sorted(self.special, key=len, reverse=True)) + ")") if self.special else None)
        if memo_size < 0:
            raise ValueError(f"memo_size must be >= 0 (0 turns the memo off), got {memo_size}")
        self.memo_size = memo_size
        self.memo: OrderedDict[str, list[int]] = OrderedDict()  # pre-token -> ids, least recently used first

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str | None = "gpt2",
              special_tokens: Iterable[str] = ()) -> "ByteLevelBPE":
        special_tokens = list(special_tokens)
        _check_training_input(text, vocab_size, len(special_tokens))
        merges = train_fast(text, vocab_size - len(special_tokens), pattern)
        return cls.from_merges(merges, pattern, special_tokens)

    @classmethod
    def from_merges(cls, merges: Sequence[Pair], pattern: str | None = "gpt2",
                    special_tokens: Iterable[str] = (), memo_size: int = MEMO_SIZE) -> "ByteLevelBPE":
        """Ids 0..255 are bytes, merge i is id 256 + i, special tokens follow."""
        vocab = {b: bytes([b]) for b in range(256)}
        for new_id, (a, b) in enumerate(merges, start=256):
            if a not in vocab or b not in vocab:
                raise ValueError(f"merge {new_id - 256} = ({a}, {b}) uses an id not created before it")
            vocab[new_id] = vocab[a] + vocab[b]
        special = {s: len(vocab) + i for i, s in enumerate(special_tokens)}
        return cls(vocab, merges, pattern, special, memo_size)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(self.special)

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        # the earliest-learned merge present goes first: the order merges were learned in is the priority
        return apply_merges([self.byte_ids[b] for b in chunk], self.ranks, self.merged)

    def _ids_of(self, pieces: Iterable[str]) -> dict[str, list[int]]:
        """Ids of each distinct pre-token: from the memo, else from the merges (and memoised)."""
        memo, found = self.memo, {}
        for piece in pieces:
            ids = memo.get(piece)
            if ids is not None:
                memo.move_to_end(piece)  # recently used: evicted last
            else:
                ids = self._encode_chunk(piece.encode("utf-8"))
                if len(piece) <= MEMO_MAX_CHARS:
                    memo[piece] = ids
                    if len(memo) > self.memo_size:
                        memo.popitem(last=False)  # drop the least recently used
            found[piece] = ids
        return found

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode without recognising special tokens (safe for untrusted text)."""
        check_utf8(text)
        pieces = [text] if self._regex is None else self._regex.findall(text)
        if self.memo_size == 0:  # the plain path: merge every pre-token afresh
            return [i for piece in pieces for i in self._encode_chunk(piece.encode("utf-8"))]
        # merges run once per distinct pre-token (in order of first use); the rest is look-ups
        ids = self._ids_of(dict.fromkeys(pieces))
        out: list[int] = []
        extend = out.extend  # bound once: the loop below runs once per pre-token
        for piece in pieces:
            extend(ids[piece])
        return out

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        if not allow_special or self._special_regex is None:
            return self.encode_ordinary(text)
        out: list[int] = []
        for i, part in enumerate(self._special_regex.split(text)):
            # split() with one capture group alternates text, special, text, ...
            out.extend([self.special[part]] if i % 2 else self.encode_ordinary(part))
        return out

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        out = []
        for i in ids:
            if i in self.vocab:
                out.append(self.vocab[i])
            elif i in self.id_to_special:
                out.append(self.id_to_special[i].encode("utf-8"))
            else:
                raise ValueError(f"token id {i!r} is not in the vocabulary (size {self.vocab_size})")
        return b"".join(out)

    def decode(self, ids: Sequence[int]) -> str:
        # a slice of ids can end inside a multi-byte character: show U+FFFD rather than fail
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def _validate(self) -> None:
        if any(not isinstance(i, int) or not isinstance(b, bytes) or not b for i, b in self.vocab.items()):
            raise ValueError("vocab must map int ids to non-empty bytes")
        if len(set(self.vocab.values())) != len(self.vocab):
            raise ValueError("vocab maps two ids to the same bytes")
        single = {b for b in self.vocab.values() if len(b) == 1}
        if len(single) != 256:
            raise ValueError(f"vocab covers {len(single)} of the 256 single bytes; a byte-level BPE needs all")
        by_bytes = set(self.vocab.values())
        for r, pair in enumerate(self.merges):
            if len(pair) != 2 or any(p not in self.vocab for p in pair):
                raise ValueError(f"merge {r} {pair} refers to ids outside the vocabulary")
            if self.vocab[pair[0]] + self.vocab[pair[1]] not in by_bytes:
                raise ValueError(f"merge {r} {pair} produces bytes that have no id")
        clash = set(self.special.values()) & set(self.vocab)
        if clash or any(not isinstance(s, str) or not s for s in self.special):
            raise ValueError(f"special tokens must be non-empty strings with ids of their own (clash {sorted(clash)})")

    def to_hf(self) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """(vocab, merges) in `tokenizers`' byte-level spelling, for `tokenizers.models.BPE`."""
        table = byte_to_unicode()
        spell = {i: "".join(table[b] for b in bs) for i, bs in self.vocab.items()}
        return ({s: i for i, s in spell.items()}, [(spell[a], spell[b]) for a, b in self.merges])

    def mergeable_ranks(self) -> dict[bytes, int]:
        """bytes -> id, the table `tiktoken.Encoding(mergeable_ranks=...)` takes.

        tiktoken merges the adjacent pair whose joined bytes have the lowest rank and uses the
        rank as the id: that replays our merge order when ids grow with merge rank, as they do
        in `from_merges` (merge i is id 256 + i).
        """
        made = [self.merged[pair] for pair in self.merges]
        if made != sorted(made):
            raise ValueError("merge ids do not grow with merge rank: tiktoken would merge in another order")
        return {b: i for i, b in self.vocab.items()}

    @classmethod
    def from_hf(cls, vocab: dict[str, int], merges: Sequence[tuple[str, str]],
                pattern: str | None = "gpt2") -> "ByteLevelBPE":
        """Load a `tokenizers` byte-level BPE (its vocab and merges) into our encoder."""
        inverse = {c: b for b, c in byte_to_unicode().items()}
        ours = {i: bytes(inverse[c] for c in s) for s, i in vocab.items()}
        return cls(ours, [(vocab[a], vocab[b]) for a, b in merges], pattern)

    def to_dict(self) -> dict:
        return {"type": "bpe", "pattern": self.pattern,
                "vocab": {str(i): b.hex() for i, b in self.vocab.items()},
                "merges": [list(m) for m in self.merges], "special_tokens": self.special}

    @classmethod
    def from_dict(cls, data: dict) -> "ByteLevelBPE":
        if not isinstance(data, dict) or data.get("type") != "bpe":
            raise ValueError(f"not a saved ByteLevelBPE (expected 'type': 'bpe'): {str(data)[:80]}")
        try:
            vocab = {int(i): bytes.fromhex(h) for i, h in data["vocab"].items()}
            merges = [(int(a), int(b)) for a, b in data["merges"]]
            special = {str(s): int(i) for s, i in data.get("special_tokens", {}).items()}
            pattern = data["pattern"]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"corrupt ByteLevelBPE data: {type(error).__name__}: {error}") from None
        if pattern is not None and not isinstance(pattern, str):
            raise ValueError(f"corrupt ByteLevelBPE data: pattern {pattern!r} is not a string")
        return cls(vocab, merges, pattern, special)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "ByteLevelBPE":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not a valid tokenizer JSON file: {error}") from None
        return cls.from_dict(data)
# --8<-- [end:tokenizer_class]
# --8<-- [end:tokenizer]
