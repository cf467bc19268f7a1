"""Sentence vectors: masked mean pooling and the InfoNCE loss with in-batch negatives.

Reimers & Gurevych 2019 (Sentence-BERT, arXiv:1908.10084) mean-pool a BERT's last layer;
van den Oord et al. 2018 (arXiv:1807.03748) name the contrastive loss InfoNCE; sentence-transformers
calls it MultipleNegativesRankingLoss (scale 20 = temperature 0.05 on cosine similarity).
Shapes: B batch, T time (tokens), C width (d_model), M extra hard negatives per query.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:pooling]
def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T, C) token states and a (B, T) 0/1 mask -> (B, C) mean over the real tokens only."""
    B, T, C = hidden.shape
    if attention_mask.shape != (B, T):
        raise ValueError(f"mask shape {tuple(attention_mask.shape)} does not match hidden {(B, T, C)}")
    m = attention_mask.to(hidden.dtype)[:, :, None]               # (B, T, 1)
    # padding would drag every short sentence toward the pad vector's direction
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
# --8<-- [end:pooling]


# --8<-- [start:infonce]
def info_nce(q: torch.Tensor, d: torch.Tensor, temperature: float = 0.05,
             hard_negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of picking d[i] for q[i] among all B documents (and B*M hard negatives).

    q, d: (B, C); hard_negatives: (B * M, C) or None. Similarity is cosine / temperature.
    """
    if q.shape != d.shape:
        raise ValueError(f"queries {tuple(q.shape)} and documents {tuple(d.shape)} differ in shape")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    candidates = d if hard_negatives is None else torch.cat([d, hard_negatives])   # (B(1+M), C)
    if candidates.shape[1] != q.shape[1]:
        raise ValueError(f"hard negatives have width {candidates.shape[1]}, queries {q.shape[1]}")
    logits = F.normalize(q, dim=-1) @ F.normalize(candidates, dim=-1).T / temperature   # (B, B(1+M))
    # the positive of query i is column i; every other column is a negative for free
    return F.cross_entropy(logits, torch.arange(q.shape[0]))
# --8<-- [end:infonce]
