"""Supervised fine-tuning data: a chat template with the loss on assistant tokens only, and
packing several documents into one row without letting them see each other.

A chat is a list of {"role", "content"} messages. The template writes each message as
<role marker> content <end marker>; labels repeat the ids on the assistant's content and end
marker (what the model must learn to produce, including when to stop) and are IGNORE (−100)
everywhere else: the system prompt, the user's turns and the role markers are context only.
Labels follow the transformers convention: aligned with ids, shifted inside the loss.

Packing concatenates documents into one row of length T. Without care, document 2's tokens
would attend to document 1's and its positions would continue where document 1 stopped; a
block-diagonal causal mask and positions that restart at 0 in every document make each
document's logits equal to those of the document run alone.
Shape legend: B batch, T time (one packed row), V vocabulary.
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch
# --8<-- [end:imports]

# --8<-- [start:template]
IGNORE = -100  # F.cross_entropy's default ignore_index
ROLES = ("system", "user", "assistant")


def render_chat(messages: list[dict[str, str]], encode: Callable[[str], list[int]],
                special: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (T,) and labels (T,) for one chat; special maps each role and "end" to a token id."""
    if not any(m.get("role") == "assistant" for m in messages):
        raise ValueError("a training chat needs at least one assistant message")
    ids: list[int] = []
    labels: list[int] = []
    for m in messages:
        if m.get("role") not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {m.get('role')!r}")
        body = encode(m["content"]) + [special["end"]]
        ids += [special[m["role"]]] + body
        trained = m["role"] == "assistant"
        labels += [IGNORE] + (body if trained else [IGNORE] * len(body))  # marker: context
    return torch.tensor(ids), torch.tensor(labels)


def shifted_targets(labels: torch.Tensor) -> torch.Tensor:
    """Targets (..., T−1) for logits[..., :-1, :]: position t predicts labels[t + 1]."""
    return labels[..., 1:]
# --8<-- [end:template]


# --8<-- [start:packing]
def pack(documents: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate 1-D documents into one row: ids (1, T) and document index (1, T)."""
    if not documents or any(d.dim() != 1 or d.numel() == 0 for d in documents):
        raise ValueError(f"give non-empty 1-D documents, got shapes "
                         f"{[tuple(d.shape) for d in documents]}")
    ids = torch.cat(documents)[None]                                   # (1, T)
    doc = torch.cat([torch.full((len(d),), i) for i, d in enumerate(documents)])[None]
    return ids, doc


def packed_positions(doc: torch.Tensor) -> torch.Tensor:
    """Position of each token inside its own document, (B, T): 0, 1, ..., 0, 1, ..."""
    B, T = doc.shape
    t = torch.arange(T).expand(B, T)
    is_start = torch.ones_like(doc, dtype=torch.bool)
    is_start[:, 1:] = doc[:, 1:] != doc[:, :-1]
    start = torch.where(is_start, t, torch.zeros_like(t)).cummax(dim=1).values  # (B, T)
    return t - start


def packed_mask(doc: torch.Tensor) -> torch.Tensor:
    """Block-diagonal causal keep-mask (B, 1, T, T): key j <= query i, same document."""
    T = doc.shape[1]
    same = doc[:, :, None] == doc[:, None, :]                          # (B, T, T)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return (same & causal)[:, None]                                    # (B, 1, T, T)


def packed_targets(labels: torch.Tensor, doc: torch.Tensor) -> torch.Tensor:
    """shifted_targets, with IGNORE where t and t + 1 lie in different documents."""
    targets = shifted_targets(labels).clone()                          # (B, T−1)
    targets[doc[:, 1:] != doc[:, :-1]] = IGNORE  # a document's last token predicts no one
    return targets
# --8<-- [end:packing]


# --8<-- [start:accumulation]
def mean_of_means(losses: list[torch.Tensor]) -> torch.Tensor:
    """What a naive loop does: average each micro-batch's per-token losses, then the means."""
    return torch.stack([l.mean() for l in losses]).mean()


def per_token_mean(losses: list[torch.Tensor]) -> torch.Tensor:
    """The loss of the whole accumulated batch: every counted token has weight 1 / Σ n_i."""
    return torch.cat(losses).sum() / sum(l.numel() for l in losses)
# --8<-- [end:accumulation]
