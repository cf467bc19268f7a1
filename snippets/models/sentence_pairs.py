"""Sentence-pair pre-training tasks: BERT's next-sentence prediction (Devlin et al., 2018,
arXiv:1810.04805) and ALBERT's sentence-order prediction (Lan et al., 2019, arXiv:1909.11942),
and the [CLS] A [SEP] B [SEP] packing with segment ids that both feed to the encoder.

Shape legend: B batch, T time.
"""

# --8<-- [start:imports]
import random
from collections.abc import Sequence

import torch

Segment = list[int]  # the token ids of one text segment (a sentence or a few)
# --8<-- [end:imports]


# --8<-- [start:pairs]
def nsp_pairs(documents: Sequence[Sequence[Segment]], rng: random.Random) -> list[tuple[Segment, Segment, int]]:
    """(A, B, label): label 1 when B is the segment that follows A in the same document,
    0 when B is a segment drawn from a *different* document (50% each)."""
    if sum(1 for d in documents if len(d) >= 1) < 2:
        raise ValueError("NSP needs at least two non-empty documents to draw negatives from")
    pairs = []
    for d, doc in enumerate(documents):
        for i in range(len(doc) - 1):
            if rng.random() < 0.5:
                pairs.append((list(doc[i]), list(doc[i + 1]), 1))
            else:  # a random segment from another document: usually another topic
                other = rng.choice([j for j in range(len(documents)) if j != d and documents[j]])
                pairs.append((list(doc[i]), list(rng.choice(documents[other])), 0))
    return pairs


def sop_pairs(documents: Sequence[Sequence[Segment]], rng: random.Random) -> list[tuple[Segment, Segment, int]]:
    """(A, B, label): two consecutive segments of one document, label 1 in their order,
    0 swapped (50% each). Both classes share topic and style; only the order differs."""
    pairs = []
    for doc in documents:
        for i in range(len(doc) - 1):
            a, b = list(doc[i]), list(doc[i + 1])
            pairs.append((a, b, 1) if rng.random() < 0.5 else (b, a, 0))
    if not pairs:
        raise ValueError("SOP needs at least one document with two segments")
    return pairs
# --8<-- [end:pairs]


# --8<-- [start:pack]
def pack_pair(a: Segment, b: Segment, cls_id: int, sep_id: int, max_len: int) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] with segment ids 0 for [CLS] A [SEP] and 1 for B [SEP].

    The longer of A and B loses tokens from its end until the pair fits max_len.
    """
    if max_len < 5:
        raise ValueError(f"max_len={max_len} leaves no room for two segments and three specials")
    a, b = list(a), list(b)
    while len(a) + len(b) > max_len - 3:
        (a if len(a) >= len(b) else b).pop()
    ids = [cls_id, *a, sep_id, *b, sep_id]
    segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return ids, segments


def collate_pairs(packed: Sequence[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, ...]:
    """Right-pad packed pairs: ids, segments, attention mask, each (B, T)."""
    T = max(len(ids) for ids, _ in packed)
    ids = torch.full((len(packed), T), pad_id, dtype=torch.long)
    seg = torch.zeros(len(packed), T, dtype=torch.long)
    mask = torch.zeros(len(packed), T, dtype=torch.long)
    for r, (i, s) in enumerate(packed):
        ids[r, : len(i)], seg[r, : len(s)], mask[r, : len(i)] = torch.tensor(i), torch.tensor(s), 1
    return ids, seg, mask
# --8<-- [end:pack]
