"""ELECTRA's replaced-token detection (Clark et al., 2020, arXiv:2003.10555): a small MLM
generator fills the masked positions with samples; the discriminator labels *every* token
as original or replaced. A sampled token that happens to equal the original counts as
original.

Shape legend: B batch, T time, V vocabulary size.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:rtd]
def corrupt_with_generator(ids: torch.Tensor, labels: torch.Tensor, generator_logits: torch.Tensor,
                           generator: torch.Generator) -> torch.Tensor:
    """Replace each selected position (labels != -100) by a sample from the generator's
    distribution there. ids, labels (B, T); generator_logits (B, T, V) -> corrupted ids (B, T)."""
    if generator_logits.shape[:2] != ids.shape or labels.shape != ids.shape:
        raise ValueError(f"ids {tuple(ids.shape)}, labels {tuple(labels.shape)} and generator logits "
                         f"{tuple(generator_logits.shape)} must agree on (B, T)")
    probs = F.softmax(generator_logits.detach().float(), dim=-1)            # sampling is not differentiated
    samples = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(ids.shape)
    return torch.where(labels != -100, samples, ids)


def replaced_token_labels(original: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
    """1.0 where the token differs from the original, 0.0 elsewhere (B, T)."""
    if original.shape != corrupted.shape:
        raise ValueError(f"original {tuple(original.shape)} and corrupted {tuple(corrupted.shape)} differ in shape")
    return (original != corrupted).float()


def electra_discriminator_loss(disc_logits: torch.Tensor, original: torch.Tensor,
                               corrupted: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over every real (non-padding) token: disc_logits (B, T) is the
    score for "replaced". Every position teaches, not just the 15% that were masked."""
    if disc_logits.shape != original.shape or attention_mask.shape != original.shape:
        raise ValueError(f"disc_logits {tuple(disc_logits.shape)}, ids {tuple(original.shape)} and "
                         f"attention_mask {tuple(attention_mask.shape)} must all be (B, T)")
    target = replaced_token_labels(original, corrupted)
    per_token = F.binary_cross_entropy_with_logits(disc_logits, target, reduction="none")
    m = attention_mask.to(per_token.dtype)
    return (per_token * m).sum() / m.sum()
# --8<-- [end:rtd]
