"""Prompt tuning: P trainable "virtual token" embeddings prepended to the input
(Lester et al., 2021, arXiv:2104.08691). The whole model stays frozen.

Shape legend: B batch, T time, P virtual tokens, C model width (d_model), V vocabulary.
"""

# --8<-- [start:imports]
import torch
from torch import nn

from snippets.models.gpt import GPT
# --8<-- [end:imports]


# --8<-- [start:prompt]
class SoftPrompt(nn.Module):
    """P learned vectors in the token-embedding space, shared by every sequence."""

    def __init__(self, n_virtual: int, d_model: int, init: torch.Tensor | None = None):
        super().__init__()
        if n_virtual < 1:
            raise ValueError(f"n_virtual must be >= 1, got {n_virtual}")
        # Lester et al. found initialising from real vocabulary embeddings beats random
        start = torch.randn(n_virtual, d_model) if init is None else init.detach().clone()
        if start.shape != (n_virtual, d_model):
            raise ValueError(f"init must be ({n_virtual}, {d_model}), got {tuple(start.shape)}")
        self.embedding = nn.Parameter(start)                          # (P, C)


def prompt_tuned_logits(model: GPT, prompt: SoftPrompt, idx: torch.Tensor) -> torch.Tensor:
    """Logits (B, P + T, V) of the frozen GPT reading [virtual tokens; idx].

    The virtual tokens take positions 0..P−1, so they eat into the context window.
    """
    model.check_ids(idx)
    B, T = idx.shape
    P = prompt.embedding.shape[0]
    if P + T > model.config.context_length:
        raise ValueError(f"P + T = {P} + {T} exceeds context_length={model.config.context_length}")
    tokens = torch.cat([prompt.embedding.expand(B, P, -1), model.wte(idx)], dim=1)  # (B, P+T, C)
    x = model.drop(tokens + model.wpe(torch.arange(P + T, device=idx.device)))
    for block in model.blocks:
        x = block(x, is_causal=True)                                  # (B, P+T, C)
    return model.lm_head(model.ln_f(x))                               # (B, P+T, V)
# --8<-- [end:prompt]
