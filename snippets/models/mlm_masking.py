"""Masked-language-model corruption (Devlin et al., 2018, arXiv:1810.04805, section 3.1):
select 15% of the ordinary positions; replace 80% of the selected by [MASK], 10% by a random
token, leave 10% unchanged; predict the original token at every selected position.
Calling it again on the same ids draws a new mask (RoBERTa's dynamic masking,
Liu et al., 2019, arXiv:1907.11692).

Shape legend: B batch, T time, V vocabulary size.
"""

# --8<-- [start:imports]
import torch

IGNORE = -100  # the label cross_entropy skips: no prediction asked at this position
# --8<-- [end:imports]


# --8<-- [start:mask]
def mask_tokens(ids: torch.Tensor, special_ids: list[int], mask_id: int, vocab_size: int,
                generator: torch.Generator, rate: float = 0.15, p_mask: float = 0.8,
                p_random: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (B, T) -> (corrupted inputs (B, T), labels (B, T) with IGNORE where not selected).

    Each non-special position is selected independently with probability `rate` (as
    RoBERTa and transformers' collator do; BERT's scripts took exactly round(rate * n)).
    Special tokens ([CLS], [SEP], [PAD], ...) are never selected. A random replacement is
    drawn uniformly from the ordinary (non-special) ids.
    """
    if ids.dim() != 2 or ids.dtype != torch.long:
        raise ValueError(f"ids must be a (B, T) LongTensor, got {ids.dtype} {tuple(ids.shape)}")
    if not 0.0 <= rate <= 1.0 or p_mask < 0 or p_random < 0 or p_mask + p_random > 1.0:
        raise ValueError(f"need 0 <= rate <= 1 and p_mask + p_random <= 1, got rate={rate}, "
                         f"p_mask={p_mask}, p_random={p_random}")
    special = torch.tensor(sorted(set(special_ids)), dtype=torch.long)
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in set(special_ids)])
    if mask_id not in set(special_ids) or ordinary.numel() == 0:
        raise ValueError(f"mask_id {mask_id} must be one of special_ids, and some ids must be ordinary")
    candidate = ~torch.isin(ids, special)                                    # (B, T)
    u = torch.rand(ids.shape, generator=generator)
    selected = candidate & (u < rate)                                        # 15% of candidates
    action = torch.rand(ids.shape, generator=generator)                      # one draw decides 80/10/10
    to_mask = selected & (action < p_mask)
    to_random = selected & (action >= p_mask) & (action < p_mask + p_random)
    random_ids = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_ids, inputs)                      # the rest stay as they were
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE))
    return inputs, labels
# --8<-- [end:mask]
