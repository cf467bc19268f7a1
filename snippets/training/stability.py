"""Two measures of a training run's stability: PaLM's output z-loss (Chowdhery et al., 2022,
arXiv:2204.02311, section 5), and the largest attention score, whose growth precedes the
divergence that QK-norm prevents (Dehghani et al., 2023, arXiv:2302.05442; Wortsman et al., 2023,
arXiv:2309.14322).

Shape legend: B batch, T time, V vocabulary, H heads, D head width.
"""

# --8<-- [start:imports]
import math

import torch
from torch import nn

from snippets.layers.attention import causal_mask
from snippets.layers.moe import router_z_loss
# --8<-- [end:imports]


# --8<-- [start:z_loss]
def output_z_loss(logits: torch.Tensor, coef: float = 1e-4) -> torch.Tensor:
    """coef * mean over positions of (log Z)^2, Z = sum_v exp(logit_v): PaLM's 1e-4 log^2 Z.

    Cross-entropy does not change when every logit of a position moves by the same amount, so
    log Z can drift far from 0; this term pins it there. The formula is the router z-loss of
    ST-MoE (moe.py), applied to the vocabulary's logits instead of the experts'.
    """
    if logits.dim() < 2:
        raise ValueError(f"logits must be (..., V), got {tuple(logits.shape)}")
    return coef * router_z_loss(logits)
# --8<-- [end:z_loss]


# --8<-- [start:max_logit]
@torch.no_grad()
def max_attention_logits(model: nn.Module, idx: torch.Tensor) -> list[float]:
    """The largest |q . k| / sqrt(D) that any head of each block computes on idx (B, T), under
    the causal mask: one number per block. The model runs once; each block's attention input
    is caught on the way and its queries and keys recomputed by the layer's own code."""
    inputs: list[tuple[torch.Tensor, object]] = []
    hooks = [block.attn.register_forward_pre_hook(
        lambda _, args, kwargs: inputs.append((args[0], kwargs.get("rotary"))), with_kwargs=True)
        for block in model.blocks]
    try:
        model(idx)
    finally:
        for hook in hooks:
            hook.remove()
    keep = causal_mask(idx.shape[1])                                      # (T, T)
    largest = []
    for block, (x, rotary) in zip(model.blocks, inputs, strict=True):
        attn = block.attn
        q, k = attn.queries_keys(x, x, 0, rotary)                         # (B, H, T, D), (B, H_kv, T, D)
        k = k.repeat_interleave(attn.n_heads // attn.n_kv_heads, dim=1)   # (B, H, T, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(attn.d_head)         # (B, H, T, T)
        largest.append(scores.abs().masked_fill(~keep, 0.0).max().item())
    return largest
# --8<-- [end:max_logit]
