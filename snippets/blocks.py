"""Transformer blocks: self-attention plus feed-forward, each wrapped in a residual
connection, with the normalisation before (Pre-LN) or after (Post-LN) each sub-layer.

Shape legend: B batch, T time, C model width.
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch
from torch import nn

from snippets.attention import KVCache, MultiHeadAttention
from snippets.feedforward import FeedForward
from snippets.normalization import make_norm
# --8<-- [end:imports]


# --8<-- [start:self_attention_block]
class SelfAttentionBlock(nn.Module):
    """One encoder layer, or one GPT block when called with is_causal=True.

    Pre-LN:  x = x + Attn(Norm(x));  x = x + FFN(Norm(x))
    Post-LN: x = Norm(x + Attn(x));  x = Norm(x + FFN(x))
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, *, dropout: float = 0.0,
                 norm_first: bool = True, activation: str = "gelu", norm: str = "layer",
                 bias: bool = True, n_kv_heads: int | None = None, attn_impl: str = "torch",
                 eps: float = 1e-5):
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.attn = MultiHeadAttention(d_model, n_heads, n_kv_heads=n_kv_heads, bias=bias,
                                       dropout=dropout, impl=attn_impl)
        self.norm2 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout, bias=bias)
        self.dropout = nn.Dropout(dropout)  # on the attention branch, before the add

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, is_causal: bool = False,
                cache: KVCache | None = None,
                rotary: Callable[[torch.Tensor, int], torch.Tensor] | None = None) -> torch.Tensor:
        def attend(h: torch.Tensor) -> torch.Tensor:
            return self.dropout(self.attn(h, mask=mask, is_causal=is_causal, cache=cache, rotary=rotary))

        if self.norm_first:
            x = x + attend(self.norm1(x))        # (B, T, C)
            return x + self.ffn(self.norm2(x))   # (B, T, C)
        x = self.norm1(x + attend(x))
        return self.norm2(x + self.ffn(x))
# --8<-- [end:self_attention_block]
