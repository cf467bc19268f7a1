"""word2vec: skip-gram and CBOW with negative sampling (Mikolov et al. 2013, arXiv:1301.3781, 1310.4546).

Everything word2vec.c and gensim do around the objective is here and tested against gensim:
the vocabulary order, the sub-sampling of frequent words (the sqrt form the code uses, not the
paper's), the unigram^0.75 noise table, and the shrinking window. Training is plain SGD with
word2vec's linearly decaying rate, applied to a batch of pairs at once with sparse row updates
(index_add_), the batched analogue of gensim's one-pair-at-a-time Hogwild loop.
Shapes: P pairs in a batch, K negatives, C width (d_model), V vocabulary, W window.
"""

# --8<-- [start:imports]
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:vocab]
def build_vocab(sentences: Sequence[Sequence[str]], min_count: int = 5) -> tuple[list[str], np.ndarray]:
    """Words with count >= min_count, most frequent first; ties: the word seen later comes first (gensim)."""
    counts = Counter(w for s in sentences for w in s)
    if not counts:
        raise ValueError(f"empty corpus: {len(sentences)} sentences and no words")
    kept = [(w, c) for w, c in counts.items() if c >= min_count]  # Counter keeps first-seen order
    if not kept:
        raise ValueError(f"no word occurs min_count={min_count} times (most frequent: "
                         f"{counts.most_common(1)[0]})")
    order = sorted(range(len(kept)), key=lambda i: (-kept[i][1], -i))
    return [kept[i][0] for i in order], np.array([kept[i][1] for i in order], dtype=np.int64)
# --8<-- [end:vocab]


# --8<-- [start:subsample]
def keep_probability(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """(V,) chance that one occurrence survives sub-sampling, as word2vec.c and gensim compute it.

    With t = sample * total and f = count: p = (sqrt(f / t) + 1) * t / f, capped at 1.
    """
    if sample <= 0:
        return np.ones(len(counts))
    t = sample * counts.sum()
    return np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)


def paper_discard_probability(counts: np.ndarray, sample: float = 1e-5) -> np.ndarray:
    """(V,) the paper's form (1310.4546, eq. 5): discard with 1 - sqrt(t / f), f the relative frequency."""
    f = counts / counts.sum()
    return np.maximum(1.0 - np.sqrt(sample / f), 0.0)
# --8<-- [end:subsample]


# --8<-- [start:noise]
def noise_table(counts: np.ndarray, exponent: float = 0.75, domain: int = 2**31 - 1) -> np.ndarray:
    """(V,) gensim's cum_table: cumulative count^0.75, scaled to `domain` and rounded (uint32)."""
    cumulative = np.cumsum(counts.astype(np.float64) ** exponent)
    # the total is the last running sum (a sequential sum, as gensim's loop), not np.sum's pairwise one
    return np.round(cumulative / cumulative[-1] * domain).astype(np.uint32)


def draw_negatives(table: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Word ids drawn from the noise distribution: a uniform integer's insertion point in the table."""
    r = torch.randint(0, int(table[-1]), shape, generator=generator, dtype=torch.int64)
    return torch.searchsorted(table, r)  # bisect_left, as gensim
# --8<-- [end:noise]


# --8<-- [start:window]
def reduced_windows(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) effective window per position, uniform on 1..window (word2vec's `b = rand() % window`).

    Context at distance d is used with probability (window - d + 1) / window: near words weigh more.
    """
    return window - rng.integers(0, window, size=n)


def skipgram_pairs(ids: np.ndarray, sentence: np.ndarray, eff: np.ndarray, window: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """All (center, context) pairs, vectorised over offsets: (P,), (P,) word ids.

    ids, sentence, eff: (n,) word id, sentence number and effective window of each position.
    """
    centers, contexts = [], []
    for d in range(1, window + 1):
        # position i with i + d in the same sentence; both directions use the centre's own window
        same = sentence[:-d] == sentence[d:]
        right = same & (eff[:-d] >= d)
        left = same & (eff[d:] >= d)
        centers += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    return np.concatenate(centers), np.concatenate(contexts)


def cbow_windows(ids: np.ndarray, sentence: np.ndarray, eff: np.ndarray, window: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (n,), their contexts (n, 2W) padded with 0, and a mask (n, 2W) of real entries."""
    n = len(ids)
    ctx = np.zeros((n, 2 * window), dtype=np.int64)
    mask = np.zeros((n, 2 * window), dtype=bool)
    pos = np.arange(n)
    for slot, d in enumerate([d for k in range(1, window + 1) for d in (-k, k)]):
        j = pos + d
        ok = (j >= 0) & (j < n) & (np.abs(d) <= eff)
        ok[ok] &= sentence[j[ok]] == sentence[pos[ok]]
        ctx[ok, slot], mask[ok, slot] = ids[j[ok]], True
    has = mask.any(axis=1)  # a one-word sentence has no context
    return ids[has], ctx[has], mask[has]
# --8<-- [end:window]


# --8<-- [start:sgns_step]
def sgns_step(w_in: torch.Tensor, w_out: torch.Tensor, center: torch.Tensor, context: torch.Tensor,
              negatives: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step of -log s(u_o.v_c) - sum_k log s(-u_k.v_c) on P pairs; returns the mean loss.

    w_in, w_out: (V, C); center, context: (P,); negatives: (P, K). Updates rows in place.
    """
    P, C = center.shape[0], w_in.shape[1]
    v = w_in.index_select(0, center)                                   # (P, C)
    u = torch.cat([context[:, None], negatives], dim=1)                # (P, 1 + K) positive first
    u_vec = w_out.index_select(0, u.reshape(-1)).view(P, -1, C)         # (P, 1 + K, C)
    score = torch.bmm(u_vec, v[:, :, None]).squeeze(-1)                # (P, 1 + K)
    # d loss / d score = sigmoid(score) - label; a negative that is the positive word is skipped
    g = -torch.sigmoid(score)
    g[:, 0] += 1.0
    g[:, 1:] *= negatives != context[:, None]
    g *= lr
    loss = -(F.logsigmoid(score[:, 0]).sum() + F.logsigmoid(-score[:, 1:]).sum()) / P
    w_in.index_add_(0, center, torch.bmm(g[:, None, :], u_vec).squeeze(1))
    w_out.index_add_(0, u.reshape(-1), (g[:, :, None] * v[:, None, :]).reshape(-1, C))
    return loss
# --8<-- [end:sgns_step]


# --8<-- [start:cbow_step]
def cbow_step(w_in: torch.Tensor, w_out: torch.Tensor, center: torch.Tensor, ctx: torch.Tensor,
              mask: torch.Tensor, negatives: torch.Tensor, lr: float) -> torch.Tensor:
    """CBOW: the mean of the context vectors predicts the centre. ctx, mask: (P, 2W); negatives (P, K).

    As in word2vec.c and gensim (cbow_mean=1), every context word receives the full error,
    not the error divided by the number of context words.
    """
    m = mask.to(w_in.dtype)
    h = (w_in[ctx] * m[:, :, None]).sum(1) / m.sum(1, keepdim=True)   # (P, C)
    u = torch.cat([center[:, None], negatives], dim=1)                 # (P, 1 + K)
    u_vec = w_out[u]
    score = torch.einsum("pc,pkc->pk", h, u_vec)
    label = torch.zeros_like(score)
    label[:, 0] = 1.0
    g = (label - torch.sigmoid(score)) * lr
    g[:, 1:] *= negatives != center[:, None]
    loss = -torch.nn.functional.logsigmoid(torch.where(label > 0, score, -score)).sum(1).mean()
    err = torch.einsum("pk,pkc->pc", g, u_vec)                        # (P, C)
    w_out.index_add_(0, u.reshape(-1), (g[:, :, None] * h[:, None, :]).reshape(-1, h.shape[1]))
    w_in.index_add_(0, ctx[mask], err[:, None, :].expand(-1, ctx.shape[1], -1)[mask])
    return loss
# --8<-- [end:cbow_step]


# --8<-- [start:train]
# --8<-- [start:train_config]
@dataclass(frozen=True)
class Word2VecConfig:
    dim: int = 100          # C
    window: int = 5         # W, the largest distance
    negative: int = 5       # K noise words per positive
    sample: float = 1e-3
    min_count: int = 5
    epochs: int = 5
    alpha: float = 0.025    # linearly decayed to min_alpha, as in word2vec.c
    min_alpha: float = 1e-4
    sg: bool = True         # skip-gram; False: CBOW
    batch_size: int = 1024  # pairs (skip-gram) or centres (CBOW) per step
    ns_exponent: float = 0.75
    dtype: torch.dtype = torch.float32
# --8<-- [end:train_config]


# --8<-- [start:train_model]
class Word2Vec:
    """Input vectors `w_in` (the embeddings) and output vectors `w_out`, both (V, C)."""

    def __init__(self, words: list[str], counts: np.ndarray, config: Word2VecConfig, seed: int = 0):
        self.words, self.counts, self.config = words, counts, config
        self.index = {w: i for i, w in enumerate(words)}
        g = torch.Generator().manual_seed(seed)
        V, C = len(words), config.dim
        # word2vec.c's initialisation: small uniform inputs, zero outputs
        self.w_in = (torch.rand(V, C, generator=g, dtype=config.dtype) - 0.5) / C
        self.w_out = torch.zeros(V, C, dtype=config.dtype)
        self.losses: list[float] = []

    @classmethod
    def train(cls, sentences: Sequence[Sequence[str]], config: Word2VecConfig = Word2VecConfig(),
              seed: int = 0) -> "Word2Vec":
        words, counts = build_vocab(sentences, config.min_count)
        model = cls(words, counts, config, seed)
        model.fit(sentences, seed)
        return model

    def encode(self, sentences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Flat word ids and sentence numbers; out-of-vocabulary words are removed, as in gensim."""
        ids, sent = [], []
        for s, sentence in enumerate(sentences):
            kept = [self.index[w] for w in sentence if w in self.index]
            ids += kept
            sent += [s] * len(kept)
        return np.array(ids, dtype=np.int64), np.array(sent, dtype=np.int64)

    def fit(self, sentences: Sequence[Sequence[str]], seed: int = 0) -> None:
        cfg = self.config
        rng = np.random.default_rng(seed)
        g = torch.Generator().manual_seed(seed)
        ids, sent = self.encode(sentences)
        keep = keep_probability(self.counts, cfg.sample)
        # the rate decays with progress through the expected number of centre words
        total = cfg.epochs * keep[ids].sum()
        done = 0.0
        for _ in range(cfg.epochs):
            kept = rng.random(len(ids)) < keep[ids]            # sub-sample frequent words
            e_ids, e_sent = ids[kept], sent[kept]
            eff = reduced_windows(len(e_ids), cfg.window, rng)
            if cfg.sg:
                batches = self._sg_batches(e_ids, e_sent, eff)
            else:
                batches = self._cbow_batches(e_ids, e_sent, eff)
            for n_centres, step in batches:
                lr = max(cfg.min_alpha, cfg.alpha - (cfg.alpha - cfg.min_alpha) * done / total)
                self.losses.append(float(step(lr, g)))
                done += n_centres

    def _sg_batches(self, ids, sent, eff):
        cfg = self.config
        center, context = skipgram_pairs(ids, sent, eff, cfg.window)
        center, context = torch.from_numpy(center), torch.from_numpy(context)
        per_pair = len(ids) / max(len(center), 1)  # centre words per pair, for the rate schedule
        for s in range(0, len(center), cfg.batch_size):
            c, o = center[s:s + cfg.batch_size], context[s:s + cfg.batch_size]

            def step(lr, g, c=c, o=o):
                neg = draw_negatives(self._table, (len(c), cfg.negative), g)
                return sgns_step(self.w_in, self.w_out, c, o, neg, lr)
            yield len(c) * per_pair, step

    def _cbow_batches(self, ids, sent, eff):
        cfg = self.config
        center, ctx, mask = (torch.from_numpy(a) for a in cbow_windows(ids, sent, eff, cfg.window))
        for s in range(0, len(center), cfg.batch_size):
            c, x, m = center[s:s + cfg.batch_size], ctx[s:s + cfg.batch_size], mask[s:s + cfg.batch_size]

            def step(lr, g, c=c, x=x, m=m):
                neg = draw_negatives(self._table, (len(c), cfg.negative), g)
                return cbow_step(self.w_in, self.w_out, c, x, m, neg, lr)
            yield len(c), step

    @property
    def _table(self) -> torch.Tensor:
        if not hasattr(self, "_cached_table"):
            self._cached_table = torch.from_numpy(
                noise_table(self.counts, self.config.ns_exponent).astype(np.int64))
        return self._cached_table

    def vector(self, word: str) -> torch.Tensor:
        if word not in self.index:
            raise KeyError(f"word {word!r} is not in the vocabulary of {len(self.words)} words")
        return self.w_in[self.index[word]]
# --8<-- [end:train_model]
# --8<-- [end:train]
