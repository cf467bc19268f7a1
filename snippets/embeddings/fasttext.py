"""fastText's subword units: character n-grams of "<word>", hashed into buckets (Bojanowski et al. 2017,
arXiv:1607.04606). A word's vector is the mean of its own vector and its n-gram vectors, so an unseen
word still gets one from its pieces.

The hash is FNV-1a over the UTF-8 bytes, with one quirk kept for compatibility with Facebook's
C++ code: each byte is read as a *signed* char, so a byte >= 0x80 (any non-ASCII letter) is
sign-extended before the XOR. gensim reproduces it; so do we.
"""

# --8<-- [start:imports]
import numpy as np
import torch

from snippets.embeddings.word2vec import (Word2Vec, Word2VecConfig, build_vocab, draw_negatives,
                                          keep_probability, reduced_windows, skipgram_pairs)
# --8<-- [end:imports]


# --8<-- [start:ngrams]
def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[bytes]:
    """UTF-8 n-grams of '<word>' of n = min_n..max_n *characters* (never split inside a character).

    Ordered by start position, then length; a lone '<' or '>' is not an n-gram.
    """
    if min_n < 1 or max_n < min_n:
        raise ValueError(f"need 1 <= min_n <= max_n, got min_n={min_n}, max_n={max_n}")
    chars = [c.encode("utf-8") for c in f"<{word}>"]
    grams = []
    for i in range(len(chars)):
        for n in range(min_n, max_n + 1):
            if i + n > len(chars):
                break
            if n == 1 and (i == 0 or i + n == len(chars)):
                continue
            grams.append(b"".join(chars[i:i + n]))
    return grams


def fnv1a_signed(data: bytes) -> int:
    """32-bit FNV-1a, bytes taken as signed chars (fastText's dictionary.cc)."""
    h = 2166136261
    for b in data:
        signed = b - 256 if b >= 128 else b
        h = ((h ^ (signed & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h


def ngram_buckets(word: str, min_n: int = 3, max_n: int = 6, buckets: int = 2_000_000) -> list[int]:
    """Bucket ids of a word's n-grams: different n-grams may share a bucket (a hash collision)."""
    if buckets < 1:
        raise ValueError(f"buckets must be positive, got {buckets}")
    return [fnv1a_signed(g) % buckets for g in char_ngrams(word, min_n, max_n)]
# --8<-- [end:ngrams]


# --8<-- [start:subword_vectors]
def subword_table(words: list[str], min_n: int = 3, max_n: int = 6, buckets: int = 100_000
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows to average for each word: (V, S) ids into a (V + buckets) table, and a (V, S) mask.

    Row i holds word i itself, then V + bucket for each of its n-grams (S = the longest list).
    """
    rows = [[i] + [len(words) + b for b in ngram_buckets(w, min_n, max_n, buckets)]
            for i, w in enumerate(words)]
    width = max(map(len, rows))
    ids = torch.zeros(len(rows), width, dtype=torch.int64)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r), True
    return ids, mask


def compose(table: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(V, C) word vectors: the mean of each word's own row and its n-gram rows."""
    m = mask.to(table.dtype)
    return (table[ids] * m[..., None]).sum(1) / m.sum(1, keepdim=True)


def oov_vector(table: torch.Tensor, n_words: int, word: str, min_n: int = 3, max_n: int = 6) -> torch.Tensor:
    """A vector for a word never seen in training: the mean of its n-gram rows alone."""
    rows = [n_words + b for b in ngram_buckets(word, min_n, max_n, table.shape[0] - n_words)]
    if not rows:
        raise ValueError(f"word {word!r} has no {min_n}..{max_n}-grams")
    return table[rows].mean(0)
# --8<-- [end:subword_vectors]


def _sgns_subword_step(table: torch.Tensor, w_out: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor,
                       center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor,
                       lr: float) -> torch.Tensor:
    """SGNS where the centre's vector is the mean of its S subword rows, and each row gets the *full* error.

    The chain rule would give each row err / S. Facebook's fastText divides by S only for supervised
    models (`normalizeGradient` in fasttext.cc), and gensim's `fasttext_fast_sentence_sg_neg` adds the
    whole error to the word row and to every n-gram row; so do we, as word2vec's CBOW does.
    """
    sub, m = ids[center], mask[center].to(table.dtype)                 # (P, S)
    v = (table[sub] * m[..., None]).sum(1) / m.sum(1, keepdim=True)    # (P, C)
    u = torch.cat([context[:, None], negatives], dim=1)
    u_vec = w_out[u]
    score = torch.einsum("pc,pkc->pk", v, u_vec)
    label = torch.zeros_like(score)
    label[:, 0] = 1.0
    g = (label - torch.sigmoid(score)) * lr
    g[:, 1:] *= negatives != context[:, None]
    loss = -torch.nn.functional.logsigmoid(torch.where(label > 0, score, -score)).sum(1).mean()
    err = torch.einsum("pk,pkc->pc", g, u_vec)                          # the same for every row
    w_out.index_add_(0, u.reshape(-1), (g[:, :, None] * v[:, None, :]).reshape(-1, v.shape[1]))
    table.index_add_(0, sub[mask[center]], err[:, None, :].expand(-1, sub.shape[1], -1)[mask[center]])
    return loss


def train_fasttext(sentences: list[list[str]], config: Word2VecConfig | None = None, buckets: int = 100_000,
                   min_n: int = 3, max_n: int = 6, seed: int = 0) -> tuple:
    """Skip-gram fastText: word2vec's pipeline with subword-composed input vectors.

    Returns (words, index, vectors (V, C) numpy, table, ids, mask). The rate is word2vec's;
    fastText's own default is 0.05 for skip-gram.
    """
    cfg = config or Word2VecConfig()
    words, counts = build_vocab(sentences, cfg.min_count)
    shell = Word2Vec(words, counts, cfg, seed)
    ids, mask = subword_table(words, min_n, max_n, buckets)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    table = (torch.rand(len(words) + buckets, cfg.dim, generator=g, dtype=cfg.dtype) - 0.5) / cfg.dim
    flat, sent = shell.encode(sentences)
    keep = keep_probability(counts, cfg.sample)
    total, done = cfg.epochs * keep[flat].sum(), 0.0
    for _ in range(cfg.epochs):
        kept = rng.random(len(flat)) < keep[flat]
        e_ids, e_sent = flat[kept], sent[kept]
        center, context = skipgram_pairs(e_ids, e_sent, reduced_windows(len(e_ids), cfg.window, rng),
                                          cfg.window)
        center, context = torch.from_numpy(center), torch.from_numpy(context)
        per_pair = len(e_ids) / max(len(center), 1)
        for s in range(0, len(center), cfg.batch_size):
            c, o = center[s:s + cfg.batch_size], context[s:s + cfg.batch_size]
            lr = max(cfg.min_alpha, cfg.alpha - (cfg.alpha - cfg.min_alpha) * done / total)
            neg = draw_negatives(shell._table, (len(c), cfg.negative), g)
            _sgns_subword_step(table, shell.w_out, ids, mask, c, o, neg, lr)
            done += len(c) * per_pair
    return words, shell.index, compose(table, ids, mask).numpy(), table, ids, mask
