"""The Unigram language-model tokenizer (Kudo, 2018, arXiv:1804.10959) on SentencePiece's raw stream.

A segmentation x = (x_1..x_m) of a word has probability prod_i p(x_i). Training is EM over all
segmentations (forward-backward on the lattice of pieces), followed by pruning the pieces whose
removal costs the least likelihood. Encoding is Viterbi: the most probable segmentation.
Sampling segmentations instead is subword regularisation.

SentencePiece (Kudo & Richardson, 2018, arXiv:1808.06226) treats text as a raw character stream:
spaces become the visible marker "▁" (U+2581), so decoding is exact concatenation. A literal "▁"
in the input is not escaped: it decodes as a space, as in `sentencepiece` (whose vocabularies
this encoder loads), so text that contains "▁" does not round-trip.
"""

# --8<-- [start:imports]
import math
import random
from collections import Counter
from collections.abc import Sequence

SPACE = "\u2581"  # ▁, SentencePiece's visible space
# --8<-- [end:imports]


# --8<-- [start:stream]
def to_stream(text: str) -> str:
    """SentencePiece's view of text: a dummy prefix space, then every space as ▁ (a literal ▁ stays ▁)."""
    return SPACE + text.replace(" ", SPACE)


def from_stream(pieces: Sequence[str]) -> str:
    text = "".join(pieces).replace(SPACE, " ")
    return text[1:] if text.startswith(" ") else text
# --8<-- [end:stream]


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    hi, lo = max(a, b), min(a, b)
    return hi + math.log1p(math.exp(lo - hi))


class UnigramLM:
    """pieces: piece -> log probability. Characters outside every piece score `unk_score`."""

    def __init__(self, pieces: dict[str, float], unk_penalty: float = 10.0) -> None:
        if not pieces:
            raise ValueError("a Unigram model needs at least one piece")
        self.pieces = dict(pieces)
        self.max_len = max(len(p) for p in self.pieces)
        # SentencePiece scores an unknown character 10 below the least likely piece
        self.unk_score = min(self.pieces.values()) - unk_penalty

    def _score(self, s: str, start: int, end: int) -> float | None:
        score = self.pieces.get(s[start:end])
        if score is None and end - start == 1:
            return self.unk_score
        return score

    # --8<-- [start:viterbi]
    def viterbi(self, s: str) -> list[str]:
        """The most probable segmentation of a stream string: best[e] = max_s best[s] + log p(s[s:e])."""
        best = [0.0] + [-math.inf] * len(s)
        back = [0] * (len(s) + 1)
        for end in range(1, len(s) + 1):
            for start in range(max(0, end - self.max_len), end):
                score = self._score(s, start, end)
                if score is not None and best[start] + score > best[end]:
                    best[end], back[end] = best[start] + score, start
        pieces, end = [], len(s)
        while end > 0:
            pieces.append(s[back[end]:end])
            end = back[end]
        return pieces[::-1]
    # --8<-- [end:viterbi]

    def encode(self, text: str) -> list[str]:
        """Viterbi pieces; a run of unknown characters becomes one (unknown) piece, as in sentencepiece."""
        pieces: list[str] = []
        for piece in self.viterbi(to_stream(text)):
            if pieces and piece not in self.pieces and pieces[-1] not in self.pieces:
                pieces[-1] += piece
            else:
                pieces.append(piece)
        return pieces

    def decode(self, pieces: Sequence[str]) -> str:
        return from_stream(pieces)

    def forward(self, s: str, theta: float = 1.0) -> list[float]:
        """alpha[e] = log of the summed (tempered) probability of all segmentations of s[:e]."""
        alpha = [0.0] + [-math.inf] * len(s)
        for end in range(1, len(s) + 1):
            for start in range(max(0, end - self.max_len), end):
                score = self._score(s, start, end)
                if score is not None:
                    alpha[end] = _logsumexp(alpha[end], alpha[start] + theta * score)
        return alpha

    # --8<-- [start:sample]
    def sample(self, text: str, theta: float, rng: random.Random) -> list[str]:
        """Draw a segmentation with probability proportional to P(x)^theta (forward-filter, backward-sample).

        theta -> infinity gives Viterbi; theta = 0 is uniform over segmentations.
        """
        s = to_stream(text)
        alpha = self.forward(s, theta)
        pieces, end = [], len(s)
        while end > 0:
            starts, logits = [], []
            for start in range(max(0, end - self.max_len), end):
                score = self._score(s, start, end)
                if score is not None and alpha[start] > -math.inf:
                    starts.append(start)
                    logits.append(alpha[start] + theta * score)
            top = max(logits)
            start = rng.choices(starts, weights=[math.exp(v - top) for v in logits])[0]
            pieces.append(s[start:end])
            end = start
        return pieces[::-1]
    # --8<-- [end:sample]

    # --8<-- [start:train]
    @classmethod
    def train(cls, text: str, vocab_size: int, max_piece_len: int = 8, seed_size: int = 2000,
              em_steps: int = 2, shrink: float = 0.75) -> "UnigramLM":
        """Seed with frequent substrings, then alternate EM and pruning until vocab_size pieces remain."""
        words = Counter(SPACE + w for w in text.split())
        if not words:
            raise ValueError("cannot train a Unigram model on an empty corpus")
        chars = {c for w in words for c in w}
        if vocab_size < len(chars):
            raise ValueError(f"vocab_size {vocab_size} is below the {len(chars)} characters of the corpus")
        subs = Counter()
        for w, f in words.items():
            for i in range(len(w)):
                for j in range(i + 2, min(len(w), i + max_piece_len) + 1):
                    subs[w[i:j]] += f
        seed = [p for p, c in subs.most_common(seed_size) if c > 1]
        counts = {p: subs[p] for p in seed} | {c: sum(w.count(c) * f for w, f in words.items()) for c in chars}
        model = cls._from_counts(counts)
        while True:
            for _ in range(em_steps):
                model = cls._from_counts(model._expected_counts(words), keep=chars)
            if len(model.pieces) <= vocab_size:
                return model
            model = model._prune(words, chars, max(vocab_size, int(len(model.pieces) * shrink)))
    # --8<-- [end:train]

    @classmethod
    def _from_counts(cls, counts: dict[str, float], keep: set[str] = frozenset()) -> "UnigramLM":
        # M-step: p(piece) = expected count / total; characters always stay (so every word has a path)
        kept = {p: c for p, c in counts.items() if c > 1e-6 or p in keep}
        total = sum(kept.values())
        return cls({p: math.log(max(c, 1e-6) / total) for p, c in kept.items()})

    def _expected_counts(self, words: Counter) -> dict[str, float]:
        """E-step: expected uses of each piece under the posterior over segmentations (forward-backward)."""
        expected = dict.fromkeys(self.pieces, 0.0)
        for w, f in words.items():
            alpha = self.forward(w)
            beta = [-math.inf] * len(w) + [0.0]
            for start in range(len(w) - 1, -1, -1):
                for end in range(start + 1, min(len(w), start + self.max_len) + 1):
                    if w[start:end] in self.pieces:
                        beta[start] = _logsumexp(beta[start], self.pieces[w[start:end]] + beta[end])
            for start in range(len(w)):
                for end in range(start + 1, min(len(w), start + self.max_len) + 1):
                    piece = w[start:end]
                    if piece in self.pieces:
                        expected[piece] += f * math.exp(alpha[start] + self.pieces[piece] + beta[end] - alpha[-1])
        return expected

    def _prune(self, words: Counter, chars: set[str], size: int) -> "UnigramLM":
        """Keep the `size` pieces whose removal would cost the most log-likelihood.

        Removing piece p re-segments each of its Viterbi uses by the best split of p itself,
        so the loss is uses(p) * (log p(p) - log p(best split of p without p)).
        """
        uses = Counter()
        for w, f in words.items():
            for piece in self.viterbi(w):
                uses[piece] += f
        loss = {}
        for piece, score in list(self.pieces.items()):
            if piece in chars:
                continue
            del self.pieces[piece]  # briefly: the best split of the piece without itself
            alt = sum(self.pieces.get(q, self.unk_score) for q in self.viterbi(piece))
            self.pieces[piece] = score
            loss[piece] = uses[piece] * (score - alt)
        ranked = sorted(loss, key=lambda p: (-loss[p], p))
        keep = set(ranked[: size - len(chars)]) | chars
        return UnigramLM({p: v for p, v in self.pieces.items() if p in keep})
