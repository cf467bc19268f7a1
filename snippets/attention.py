"""Scaled dot-product and multi-head attention (Vaswani et al., 2017, arXiv:1706.03762),
with grouped key/value heads (Ainslie et al., 2023, arXiv:2305.13245) and a KV cache.

Shape legend: B batch, H query heads, H_kv key/value heads, T_q query positions,
T_k key positions, C model width, D head width, d_k query/key width, d_v value width.
"""

# --8<-- [start:imports]
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:causal_mask]
def causal_mask(t_q: int, t_k: int | None = None) -> torch.Tensor:
    """Boolean (T_q, T_k) mask, True where query i may look at key j (j <= i).

    With t_k > t_q the queries are the last t_q positions of a longer sequence,
    as when new tokens attend to a KV cache.
    """
    t_k = t_q if t_k is None else t_k
    if t_q < 1 or t_k < t_q:
        raise ValueError(f"causal mask needs 1 <= t_q <= t_k, got t_q={t_q}, t_k={t_k}")
    offset = t_k - t_q
    i = torch.arange(t_q).unsqueeze(1)  # (T_q, 1)
    j = torch.arange(t_k).unsqueeze(0)  # (1, T_k)
    return j <= i + offset  # (T_q, T_k)
# --8<-- [end:causal_mask]


# --8<-- [start:checks]
def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(f"q, k, v need at least 2 dims (..., T, d), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] == 0:
        raise ValueError(f"d_k is zero: q has shape {tuple(q.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share d_k: q {tuple(q.shape)}, k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must share T_k: k {tuple(k.shape)}, v {tuple(v.shape)}")


def _as_additive(mask: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Turn a boolean keep-mask or an additive float mask into a float bias."""
    try:
        torch.broadcast_shapes(mask.shape, scores.shape)
    except RuntimeError:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not broadcast to "
                         f"scores {tuple(scores.shape)}") from None
    if mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=scores.dtype, device=scores.device)
        return bias.masked_fill(~mask, float("-inf"))
    return mask.to(scores.dtype)
# --8<-- [end:checks]


# --8<-- [start:sdpa]
def scaled_dot_product_attention(
    q: torch.Tensor,             # (..., T_q, d_k)
    k: torch.Tensor,             # (..., T_k, d_k)
    v: torch.Tensor,             # (..., T_k, d_v)
    mask: torch.Tensor | None = None,  # bool keep-mask or additive float, broadcasts to (..., T_q, T_k)
    is_causal: bool = False,
    dropout_p: float = 0.0,      # dropout on the attention weights (training only)
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d_k) + mask) v. Returns (output, attention weights)."""
    _check_qkv(q, k, v)
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if is_causal:
        keep = causal_mask(q.shape[-2], k.shape[-2]).to(q.device)
        scores = scores + _as_additive(keep, scores)
    if mask is not None:
        scores = scores + _as_additive(mask, scores)
    # A row with every key masked has no distribution to take: say so, not NaN.
    if torch.isneginf(scores).all(dim=-1).any():
        raise ValueError("mask leaves at least one query with no key to attend to")
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), rows sum to 1
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)
# --8<-- [end:sdpa]


# --8<-- [start:kv_cache]
class KVCache:
    """Keys and values of the positions seen so far, for one attention layer.

    Pre-allocated to `max_len` so that appending is a copy into place, not a concat.
    """

    def __init__(self, batch: int, n_kv_heads: int, max_len: int, d_head: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        self.k = torch.zeros(batch, n_kv_heads, max_len, d_head, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)  # (B, H_kv, T_max, D)
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new positions' k, v (B, H_kv, T, D); return all cached so far."""
        end = self.length + k.shape[-2]
        if end > self.k.shape[-2]:
            raise ValueError(f"KV cache holds {self.k.shape[-2]} positions; "
                             f"appending {k.shape[-2]} to {self.length} overflows it")
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]  # (B, H_kv, T_k, D)
# --8<-- [end:kv_cache]


# --8<-- [start:mha]
class MultiHeadAttention(nn.Module):
    """MultiHead(X) = Concat(head_1, ..., head_H) W^O with head_i = Attention(X W_i^Q, X W_i^K, X W_i^V).

    n_kv_heads < n_heads shares each key/value head among n_heads / n_kv_heads query heads
    (grouped-query attention; n_kv_heads = 1 is multi-query attention).
    impl="ours" runs scaled_dot_product_attention above; impl="torch" the fused kernel.
    """

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int | None = None,
                 bias: bool = True, dropout: float = 0.0, impl: str = "torch"):
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        if n_kv_heads < 1 or n_heads % n_kv_heads != 0:
            raise ValueError(f"n_heads={n_heads} is not a multiple of n_kv_heads={n_kv_heads}")
        if impl not in ("ours", "torch"):
            raise ValueError(f"impl must be 'ours' or 'torch', got {impl!r}")
        self.n_heads, self.n_kv_heads, self.d_head = n_heads, n_kv_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, n_heads * self.d_head, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O
        self.dropout, self.impl = dropout, impl

    def split_heads(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, heads, self.d_head).transpose(1, 2)  # (B, heads, T, D)

    def forward(
        self,
        x: torch.Tensor,                        # (B, T_q, C) queries come from here
        context: torch.Tensor | None = None,    # (B, T_k, C) keys/values (cross-attention); default x
        mask: torch.Tensor | None = None,       # bool keep-mask or additive bias, broadcasts to (B, H, T_q, T_k)
        is_causal: bool = False,
        cache: KVCache | None = None,           # self-attention only: extended in place
        rotary: Callable[[torch.Tensor, int], torch.Tensor] | None = None,  # (q or k, first position) -> rotated
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.q_proj.in_features:
            raise ValueError(f"x must be (B, T, {self.q_proj.in_features}), got {tuple(x.shape)}")
        source = x if context is None else context
        if context is not None and cache is not None:
            raise ValueError("a KV cache is for self-attention; pass context or cache, not both")
        start = cache.length if cache is not None else 0  # position of x's first token
        q = self.split_heads(self.q_proj(x), self.n_heads)              # (B, H, T_q, D)
        k = self.split_heads(self.k_proj(source), self.n_kv_heads)      # (B, H_kv, T, D)
        v = self.split_heads(self.v_proj(source), self.n_kv_heads)      # (B, H_kv, T, D)
        if rotary is not None:
            q, k = rotary(q, start), rotary(k, start)
        if cache is not None:
            k, v = cache.append(k, v)                                   # (B, H_kv, T_k, D)
        if self.n_kv_heads != self.n_heads:  # each K/V head serves a group of query heads
            group = self.n_heads // self.n_kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        p = self.dropout if self.training else 0.0
        T_q, T_k = q.shape[-2], k.shape[-2]
        if is_causal and mask is None and T_q == T_k:  # plain causal: let the kernel mask
            if self.impl == "ours":
                out, _ = scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
            else:
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        else:
            if is_causal:  # queries after a cache sit at the end: shift the diagonal
                keep = causal_mask(T_q, T_k).to(x.device)
                mask = keep if mask is None else (
                    _as_additive(keep, q.new_zeros(())) + _as_additive(mask, q.new_zeros(())))
            if self.impl == "ours":
                out, _ = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=p)
            else:
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = out.transpose(1, 2).reshape(x.shape[0], T_q, self.n_heads * self.d_head)  # (B, T_q, C)
        return self.out_proj(out)
# --8<-- [end:mha]
