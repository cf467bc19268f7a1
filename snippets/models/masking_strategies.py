"""Which positions a masked language model hides: whole words (BERT's 2019 whole-word-masking
release, google-research/bert) and contiguous spans (SpanBERT, Joshi et al., 2019,
arXiv:1907.10529), with BERT's 80/10/10 corruption applied to any selection (Devlin et al.,
2018, arXiv:1810.04805).

A selection is a boolean (B, T) tensor; corrupt() turns it into inputs and labels, so that the
strategy (which positions) and the corruption (what the model sees there) stay separate.

Shape legend: B batch, T time, V vocabulary size.
"""

# --8<-- [start:imports]
import math

import torch

IGNORE = -100  # the label cross_entropy skips: no prediction asked at this position
# --8<-- [end:imports]


# --8<-- [start:whole_words]
def select_whole_words(word_ids: torch.Tensor, rate: float,
                       generator: torch.Generator) -> torch.Tensor:
    """word_ids (B, T): the word each token belongs to, -1 for special tokens and padding.

    Each word is selected with probability `rate`, and then all of its pieces are: a model
    never sees "##ing" hidden while "play" is shown, so it cannot fill in a word from its
    own other half. Returns the selection (B, T), bool.
    """
    if word_ids.dim() != 2 or word_ids.dtype != torch.long:
        raise ValueError(f"word_ids must be a (B, T) LongTensor, got {word_ids.dtype} "
                         f"{tuple(word_ids.shape)}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    n_words = int(word_ids.max()) + 1 if word_ids.numel() else 0
    chosen = torch.rand(word_ids.shape[0], max(n_words, 1), generator=generator) < rate  # (B, W)
    selected = chosen.gather(1, word_ids.clamp(min=0))                   # each token: its word
    return selected & (word_ids >= 0)                                    # (B, T)
# --8<-- [end:whole_words]


# --8<-- [start:spans]
def select_spans(candidate: torch.Tensor, rate: float, generator: torch.Generator,
                 p: float = 0.2, max_span: int = 10) -> torch.Tensor:
    """candidate (B, T) bool: the positions that may be hidden. Returns the selection (B, T).

    SpanBERT's rule: draw a span length from a geometric distribution (parameter p)
    truncated at max_span (mean 3.8 tokens for 0.2 and 10), a start uniformly among the
    candidates, hide the span; repeat until round(rate * candidates) positions are hidden
    in each row (the last span cut short to hit the budget exactly).
    """
    if candidate.dim() != 2 or candidate.dtype != torch.bool:
        raise ValueError(f"candidate must be a (B, T) bool tensor, got {candidate.dtype} "
                         f"{tuple(candidate.shape)}")
    if not 0.0 <= rate <= 1.0 or not 0.0 < p < 1.0 or max_span < 1:
        raise ValueError(f"need 0 <= rate <= 1, 0 < p < 1, max_span >= 1, got rate={rate}, "
                         f"p={p}, max_span={max_span}")
    mass = 1.0 - (1.0 - p) ** max_span                   # P(length <= max_span) before truncation
    selected = torch.zeros_like(candidate)
    for b in range(candidate.shape[0]):
        positions = candidate[b].nonzero().squeeze(1)                    # this row's candidates
        budget = round(rate * len(positions))
        while (hidden := int(selected[b].sum())) < budget:
            u = float(torch.rand((), generator=generator))
            length = math.floor(math.log(1.0 - u * mass) / math.log(1.0 - p)) + 1  # inverse CDF
            start = int(torch.randint(len(positions), (), generator=generator))
            span = positions[start:start + length]                       # candidates only
            fresh = span[~selected[b, span]][: budget - hidden]
            selected[b, fresh] = True
    return selected
# --8<-- [end:spans]


# --8<-- [start:corrupt]
def corrupt(ids: torch.Tensor, selected: torch.Tensor, mask_id: int, ordinary_ids: torch.Tensor,
            generator: torch.Generator, p_mask: float = 0.8,
            p_random: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's 80/10/10 on a selection: [MASK], a random ordinary token, or the token itself.
    Returns (inputs (B, T), labels (B, T) with IGNORE where nothing was selected)."""
    if selected.shape != ids.shape or selected.dtype != torch.bool:
        raise ValueError(f"selected must be a bool tensor of ids' shape {tuple(ids.shape)}, "
                         f"got {selected.dtype} {tuple(selected.shape)}")
    if p_mask < 0 or p_random < 0 or p_mask + p_random > 1.0:
        raise ValueError(f"need p_mask, p_random >= 0 and p_mask + p_random <= 1, got "
                         f"p_mask={p_mask}, p_random={p_random}")
    action = torch.rand(ids.shape, generator=generator)                  # one draw decides 80/10/10
    to_mask = selected & (action < p_mask)
    to_random = selected & (action >= p_mask) & (action < p_mask + p_random)
    random_ids = ordinary_ids[torch.randint(len(ordinary_ids), ids.shape, generator=generator)]
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_ids, inputs)
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE))
    return inputs, labels
# --8<-- [end:corrupt]
