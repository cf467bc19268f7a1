"""Transformer blocks: self-attention plus feed-forward, each wrapped in a residual
connection, with the normalisation before (Pre-LN) or after (Post-LN) each sub-layer.

Shape legend: B batch, T time, C model width.
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch
from torch import nn

from snippets.layers.attention import KVCache, MultiHeadAttention
from snippets.layers.feedforward import FeedForward
from snippets.layers.normalization import make_norm
from snippets.layers.window_cache import RollingKVCache
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
                 eps: float = 1e-5, qk_norm: bool = False, window: int | None = None):
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.attn = MultiHeadAttention(d_model, n_heads, n_kv_heads=n_kv_heads, bias=bias,
                                       dropout=dropout, impl=attn_impl, qk_norm=qk_norm, eps=eps,
                                       window=window)
        self.norm2 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout, bias=bias)
        self.dropout = nn.Dropout(dropout)  # on the attention branch, before the add

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, is_causal: bool = False,
                cache: "KVCache | RollingKVCache | None" = None,
                rotary: Callable[[torch.Tensor, int], torch.Tensor] | None = None) -> torch.Tensor:
        def attend(h: torch.Tensor) -> torch.Tensor:
            return self.dropout(self.attn(h, mask=mask, is_causal=is_causal, cache=cache, rotary=rotary))

        if self.norm_first:
            x = x + attend(self.norm1(x))        # (B, T, C)
            return x + self.ffn(self.norm2(x))   # (B, T, C)
        x = self.norm1(x + attend(x))
        return self.norm2(x + self.ffn(x))
# --8<-- [end:self_attention_block]


# --8<-- [start:mask_check]
def check_mask(mask: torch.Tensor | None, batch: int, t_q: int, t_k: int, name: str = "mask") -> None:
    """A mask must broadcast to (B, H, T_q, T_k) without growing any of B, T_q, T_k."""
    if mask is None:
        return
    shape = tuple(mask.shape)
    ok = mask.dim() <= 4 and all(
        m in (1, want) for m, want in zip(reversed(shape), (t_k, t_q, None, batch), strict=False)
        if want is not None) and (mask.dim() < 2 or shape[-1] == t_k)
    if not ok:
        raise ValueError(f"{name} shape {shape} does not broadcast to (B={batch}, H, "
                         f"T_q={t_q}, T_k={t_k})")
# --8<-- [end:mask_check]


# --8<-- [start:decoder_block]
class DecoderBlock(nn.Module):
    """One decoder layer: causal self-attention, cross-attention to the encoder, FFN.

    Pre-LN:  x = x + SelfAttn(Norm1(x));  x = x + CrossAttn(Norm2(x), memory);  x = x + FFN(Norm3(x))
    Post-LN: x = Norm1(x + SelfAttn(x));  x = Norm2(x + CrossAttn(x, memory));  x = Norm3(x + FFN(x))
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, *, dropout: float = 0.0,
                 norm_first: bool = True, activation: str = "gelu", norm: str = "layer",
                 bias: bool = True, attn_impl: str = "torch", eps: float = 1e-5):
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.self_attn = MultiHeadAttention(d_model, n_heads, bias=bias, dropout=dropout, impl=attn_impl)
        self.norm2 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, bias=bias, dropout=dropout, impl=attn_impl)
        self.norm3 = make_norm(norm, d_model, eps=eps, bias=bias)
        self.ffn = FeedForward(d_model, d_ff, activation=activation, dropout=dropout, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor,
                memory_mask: torch.Tensor | None = None,
                self_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T_t, C) target so far; memory (B, T_s, C) encoder output.
        memory_mask hides source padding, broadcasting to (B, H, T_t, T_s)."""
        B, T_t, _ = x.shape
        if memory.dim() != 3 or memory.shape[0] != B or memory.shape[-1] != x.shape[-1]:
            raise ValueError(f"memory must be (B={B}, T_s, C={x.shape[-1]}), got {tuple(memory.shape)}")
        check_mask(memory_mask, B, T_t, memory.shape[1], "memory_mask")
        check_mask(self_mask, B, T_t, T_t, "self_mask")

        def self_attend(h: torch.Tensor) -> torch.Tensor:  # position t sees targets <= t only
            return self.dropout(self.self_attn(h, mask=self_mask, is_causal=True))

        def cross_attend(h: torch.Tensor) -> torch.Tensor:  # queries from h, keys/values from memory
            return self.dropout(self.cross_attn(h, context=memory, mask=memory_mask))

        if self.norm_first:
            x = x + self_attend(self.norm1(x))
            x = x + cross_attend(self.norm2(x))
            return x + self.ffn(self.norm3(x))      # (B, T_t, C)
        x = self.norm1(x + self_attend(x))
        x = self.norm2(x + cross_attend(x))
        return self.norm3(x + self.ffn(x))
# --8<-- [end:decoder_block]


# --8<-- [start:grad_norms]
def gradient_norms_per_layer(norm_first: bool, n_layers: int = 12, d_model: int = 64,
                             n_heads: int = 4, seq_len: int = 16, batch: int = 8,
                             n_classes: int = 32, seed: int = 0) -> list[float]:
    """||dLoss/dW_2|| of each layer's FFN output matrix, at initialisation.

    A stack of encoder blocks (plus the final norm a Pre-LN stack needs) reads a random
    input and predicts random labels at every position; one backward pass.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # initialisers draw from the global generator: restore it after
        torch.manual_seed(seed)
        blocks = nn.ModuleList(SelfAttentionBlock(d_model, n_heads, 4 * d_model, norm_first=norm_first,
                                                  activation="relu", attn_impl="ours")
                               for _ in range(n_layers))
        final = make_norm("layer", d_model) if norm_first else nn.Identity()
        head = nn.Linear(d_model, n_classes)
    x = torch.randn(batch, seq_len, d_model, generator=g)           # (B, T, C)
    labels = torch.randint(0, n_classes, (batch, seq_len), generator=g)
    for block in blocks:
        x = block(x)
    logits = head(final(x))                                         # (B, T, classes)
    nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten()).backward()
    return [block.ffn.down.weight.grad.norm().item() for block in blocks]
# --8<-- [end:grad_norms]
