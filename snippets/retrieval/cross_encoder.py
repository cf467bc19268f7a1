"""A cross-encoder re-ranker: BERT reads "[CLS] query [SEP] document [SEP]", a linear map of [CLS] is the score.

Nogueira & Cho 2019 (Passage re-ranking with BERT, arXiv:1901.04085) fine-tune BERT this way with
a pointwise cross-entropy on relevant and non-relevant pairs. Here the loss is listwise: each
training question sees its relevant answer among n hard negatives (the first stages' top answers
that are not relevant), and the loss is the cross-entropy of picking the relevant one.
Shapes: B questions, n negatives per question, P pairs, T time (tokens), C width, k candidates.
"""

# --8<-- [start:imports]
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from snippets.models.bert import BertModel
from snippets.models.sentence_pairs import collate_pairs, pack_pair
from snippets.tokenizers.wordpiece import WordPiece
# --8<-- [end:imports]


# --8<-- [start:model]
def pair_batch(tokenizer: WordPiece, queries: Sequence[str], documents: Sequence[str],
               max_len: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[CLS] q [SEP] d [SEP] for each (q, d): ids, segments (0 for the query, 1 for the document), mask; (P, T)."""
    if len(queries) != len(documents) or not queries:
        raise ValueError(f"need one document per query, got {len(queries)} queries and {len(documents)} documents")
    cls, sep, pad = (tokenizer.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    packed = [pack_pair(tokenizer.encode(q), tokenizer.encode(d), cls, sep, max_len)
              for q, d in zip(queries, documents)]
    return collate_pairs(packed, pad)


class CrossEncoder(nn.Module):
    """score = w . h_[CLS] + b: (P, T) pair tokens -> (P,) relevance logits."""

    def __init__(self, bert: BertModel):
        super().__init__()
        self.bert = bert
        self.head = nn.Linear(bert.config.d_model, 1)
        nn.init.zeros_(self.head.weight)     # every pair starts at score 0: no preference yet
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.bert(ids, segments, mask)             # (P, T, C)
        return self.head(hidden[:, 0]).squeeze(-1)             # (P,): the [CLS] state read by one layer


def listwise_loss(scores: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the positive in column 0 against its n negatives; scores (B, 1 + n)."""
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"need (B, 1 + n) scores with the positive first and n >= 1, got {tuple(scores.shape)}")
    return F.cross_entropy(scores, torch.zeros(len(scores), dtype=torch.long))
# --8<-- [end:model]


# --8<-- [start:rerank]
def score_pairs(model: CrossEncoder, tokenizer: WordPiece, queries: Sequence[str], documents: Sequence[str],
                max_len: int = 64, batch_size: int = 16) -> torch.Tensor:
    """(P,) scores of the pairs in their given order, run in batches of similar length (less padding)."""
    lengths = [len(tokenizer.encode(q)) + len(tokenizer.encode(d)) for q, d in zip(queries, documents)]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    scores = []
    for s in range(0, len(order), batch_size):
        chunk = order[s:s + batch_size]
        batch = pair_batch(tokenizer, [queries[i] for i in chunk], [documents[i] for i in chunk], max_len)
        scores.append(model(*batch))
    return torch.cat(scores)[torch.argsort(torch.tensor(order))]    # back to the callers' order


@torch.no_grad()
def cross_encoder_rerank(model: CrossEncoder, tokenizer: WordPiece, queries: Sequence[str],
                         documents: Sequence[str], candidates: np.ndarray, k: int,
                         max_len: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) scores and ids: each query's first-stage candidates (Q, k1), one forward pass per pair."""
    if candidates.shape[0] != len(queries) or not 1 <= k <= candidates.shape[1]:
        raise ValueError(f"need one row of candidates per query and 1 <= k <= {candidates.shape[1]}, "
                         f"got {candidates.shape} for {len(queries)} queries and k={k}")
    model.eval()
    scores = np.stack([score_pairs(model, tokenizer, [q] * len(row), [documents[d] for d in row], max_len).numpy()
                       for q, row in zip(queries, candidates)])     # (Q, k1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]      # ties keep the first stage's order
    return np.take_along_axis(scores, order, 1), np.take_along_axis(candidates, order, 1)
# --8<-- [end:rerank]
