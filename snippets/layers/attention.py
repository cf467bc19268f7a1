"""Scaled dot-product and multi-head attention (Vaswani et al., 2017, arXiv:1706.03762),
with grouped key/value heads (Ainslie et al., 2023, arXiv:2305.13245), a KV cache, and
optional QK-norm (an RMSNorm on each head's queries and keys, as Qwen3 and Gemma 3 do; Dehghani
et al., 2023, arXiv:2302.05442, with LayerNorm).

Shape legend: B batch, H query heads, H_kv key/value heads, T_q query positions,
T_k key positions, C model width, D head width, d_k query/key width, d_v value width.
"""

# --8<-- [start:imports]
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:  # a bounded cache (window_cache.py) fits the same slot
    from snippets.layers.window_cache import RollingKVCache
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


def _check_every_query_sees_a_key(mask: torch.Tensor) -> None:
    """A query whose keys are all masked has no distribution to take (0/0): say so.

    Checked on the mask, before any kernel runs, so that both implementations refuse it:
    torch's fused kernel would otherwise return zeros for that row, silently.
    """
    hidden = ~mask if mask.dtype == torch.bool else torch.isneginf(mask)
    if hidden.all(dim=-1).any():
        raise ValueError("mask leaves at least one query with no key to attend to")
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
        end = self.end_after(k, v)
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]  # (B, H_kv, T_k, D)

    def end_after(self, k: torch.Tensor, v: torch.Tensor) -> int:
        """The length once k, v (B, H_kv, T, D) are appended; an error if they do not fit."""
        end = self.length + k.shape[-2]
        if end > self.k.shape[-2]:
            raise ValueError(f"KV cache holds {self.k.shape[-2]} positions; "
                             f"appending {k.shape[-2]} to {self.length} overflows it")
        B, H_kv, T_max, D = self.k.shape
        if k.dim() != 4 or k.shape[:2] != (B, H_kv) or k.shape[3] != D or v.shape != k.shape:
            raise ValueError(f"KV cache holds (B, H_kv, T, D) = ({B}, {H_kv}, T, {D}); "
                             f"got k {tuple(k.shape)} and v {tuple(v.shape)}")
        return end
# --8<-- [end:kv_cache]


# --8<-- [start:mha]
class MultiHeadAttention(nn.Module):
    """MultiHead(X) = Concat(head_1, ..., head_H) W^O with head_i = Attention(X W_i^Q, X W_i^K, X W_i^V).

    n_kv_heads < n_heads shares each key/value head among n_heads / n_kv_heads query heads
    (grouped-query attention; n_kv_heads = 1 is multi-query attention).
    qk_norm=True normalises each head's queries and keys (RMSNorm over D, one weight vector
    shared by the heads) before RoPE: a score is then at most |g_q| |g_k| sqrt(D) in size.
    window: causal sliding-window attention, each query sees the last `window` keys up to
    itself (Mistral), whatever the cache still holds.
    impl="ours" runs scaled_dot_product_attention above; impl="torch" the fused kernel.
    """

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int | None = None,
                 bias: bool = True, dropout: float = 0.0, impl: str = "torch",
                 qk_norm: bool = False, eps: float = 1e-6, window: int | None = None):
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        if n_kv_heads < 1 or n_heads % n_kv_heads != 0:
            raise ValueError(f"n_heads={n_heads} is not a multiple of n_kv_heads={n_kv_heads}")
        if impl not in ("ours", "torch"):
            raise ValueError(f"impl must be 'ours' or 'torch', got {impl!r}")
        if window is not None and window < 1:
            raise ValueError(f"window must be >= 1 or None, got {window}")
        self.n_heads, self.n_kv_heads, self.d_head = n_heads, n_kv_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, n_heads * self.d_head, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.d_head, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O
        self.q_norm = nn.RMSNorm(self.d_head, eps=eps) if qk_norm else None
        self.k_norm = nn.RMSNorm(self.d_head, eps=eps) if qk_norm else None
        self.dropout, self.impl, self.window = dropout, impl, window

    def split_heads(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, heads, self.d_head).transpose(1, 2)  # (B, heads, T, D)

    def forward(
        self,
        x: torch.Tensor,                        # (B, T_q, C) queries come from here
        context: torch.Tensor | None = None,    # (B, T_k, C) keys/values (cross-attention); default x
        mask: torch.Tensor | None = None,       # bool keep-mask or additive bias, broadcasts to (B, H, T_q, T_k)
        is_causal: bool = False,
        cache: "KVCache | RollingKVCache | None" = None,  # self-attention only: extended in place
        rotary: Callable[[torch.Tensor, int], torch.Tensor] | None = None,  # (q or k, first position) -> rotated
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.q_proj.in_features:
            raise ValueError(f"x must be (B, T, {self.q_proj.in_features}), got {tuple(x.shape)}")
        source = x if context is None else context
        if context is not None and cache is not None:
            raise ValueError("a KV cache is for self-attention; pass context or cache, not both")
        start = cache.length if cache is not None else 0  # position of x's first token
        q, k = self.queries_keys(x, source, start, rotary)             # (B, H or H_kv, T, D)
        v = self.split_heads(self.v_proj(source), self.n_kv_heads)      # (B, H_kv, T, D)
        if cache is not None:
            k, v = cache.append(k, v)                                   # (B, H_kv, T_k, D)
        if self.n_kv_heads != self.n_heads:  # each K/V head serves a group of query heads
            group = self.n_heads // self.n_kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        p = self.dropout if self.training else 0.0
        T_q, T_k = q.shape[-2], k.shape[-2]
        if self.window is not None:  # local: the band replaces the causal mask
            keep = sliding_window_mask(T_q, self.window, T_k).to(x.device)
            mask = keep if mask is None else (
                _as_additive(keep, q.new_zeros(())) + _as_additive(mask, q.new_zeros(())))
            is_causal = False
        if is_causal and mask is None and T_q == T_k:  # plain causal: let the kernel mask
            if self.impl == "ours":
                out, _ = scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
            else:
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        else:
            given = mask is not None
            if is_causal:  # queries after a cache sit at the end: shift the diagonal
                keep = causal_mask(T_q, T_k).to(x.device)
                mask = keep if mask is None else (
                    _as_additive(keep, q.new_zeros(())) + _as_additive(mask, q.new_zeros(())))
            if given:  # both kernels refuse a query with nothing to attend to (the causal
                _check_every_query_sees_a_key(mask)  # mask alone keeps each query's own key)
            if self.impl == "ours":
                out, _ = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=p)
            else:
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = out.transpose(1, 2).reshape(x.shape[0], T_q, self.n_heads * self.d_head)  # (B, T_q, C)
        return self.out_proj(out)

    def queries_keys(self, x: torch.Tensor, source: torch.Tensor, start: int = 0,
                     rotary: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected queries (B, H, T_q, D) and keys (B, H_kv, T, D): normed, then rotated."""
        q = self.split_heads(self.q_proj(x), self.n_heads)              # (B, H, T_q, D)
        k = self.split_heads(self.k_proj(source), self.n_kv_heads)      # (B, H_kv, T, D)
        if self.q_norm is not None:  # per head, over D, before the rotation (Qwen3, Gemma 3)
            q, k = self.q_norm(q), self.k_norm(k)
        if rotary is not None:
            q, k = rotary(q, start), rotary(k, start)
        return q, k
# --8<-- [end:mha]


# --8<-- [start:additive]
class AdditiveAttention(nn.Module):
    """Bahdanau et al. (2014, arXiv:1409.0473): score(q, k) = w^T tanh(W_q q + W_k k).

    A one-hidden-layer MLP scores each (query, key) pair, so q and k may differ in width.
    """

    def __init__(self, d_q: int, d_k: int, d_hidden: int):
        super().__init__()
        if min(d_q, d_k, d_hidden) < 1:
            raise ValueError(f"widths must be positive, got d_q={d_q}, d_k={d_k}, d_hidden={d_hidden}")
        self.w_q = nn.Linear(d_q, d_hidden, bias=False)
        self.w_k = nn.Linear(d_k, d_hidden, bias=True)
        self.w = nn.Linear(d_hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B, T_q, d_q), k (B, T_k, d_k), v (B, T_k, d_v) -> (B, T_q, d_v), (B, T_q, T_k)."""
        if q.shape[-1] != self.w_q.in_features or k.shape[-1] != self.w_k.in_features:
            raise ValueError(f"expected q (..., {self.w_q.in_features}) and k (..., "
                             f"{self.w_k.in_features}), got {tuple(q.shape)} and {tuple(k.shape)}")
        if k.shape[-2] != v.shape[-2]:
            raise ValueError(f"k and v must share T_k: k {tuple(k.shape)}, v {tuple(v.shape)}")
        # Broadcast to every (query, key) pair: (B, T_q, 1, h) + (B, 1, T_k, h).
        hidden = torch.tanh(self.w_q(q).unsqueeze(-2) + self.w_k(k).unsqueeze(-3))
        scores = self.w(hidden).squeeze(-1)  # (B, T_q, T_k)
        if mask is not None:
            scores = scores + _as_additive(mask, scores)
        weights = torch.softmax(scores, dim=-1)  # (B, T_q, T_k)
        return weights @ v, weights
# --8<-- [end:additive]


# --8<-- [start:tiled]
def tiled_attention(
    q: torch.Tensor,          # (..., T_q, d_k)
    k: torch.Tensor,          # (..., T_k, d_k)
    v: torch.Tensor,          # (..., T_k, d_v)
    block_q: int = 64,
    block_k: int = 64,
    is_causal: bool = False,
) -> torch.Tensor:
    """Exact attention computed one (block_q x block_k) tile at a time with an online softmax
    (Milakov & Gimelshein, 2018, arXiv:1805.02867; the loop of FlashAttention, Dao et al.,
    2022, arXiv:2205.14135). Never holds more than one tile of scores."""
    _check_qkv(q, k, v)
    if block_q < 1 or block_k < 1:
        raise ValueError(f"block sizes must be positive, got block_q={block_q}, block_k={block_k}")
    T_q, T_k, d_k = q.shape[-2], k.shape[-2], q.shape[-1]
    if is_causal and T_k < T_q:
        raise ValueError(f"causal attention needs T_k >= T_q, got T_q={T_q}, T_k={T_k}")
    offset = T_k - T_q  # queries are the last T_q positions, as in causal_mask
    out = torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)
    for i0 in range(0, T_q, block_q):
        q_i = q[..., i0:i0 + block_q, :] / math.sqrt(d_k)            # (..., b_q, d_k)
        rows = q_i.shape[-2]
        m = q.new_full((*q_i.shape[:-1], 1), float("-inf"))         # running max  (..., b_q, 1)
        l = q.new_zeros((*q_i.shape[:-1], 1))                        # running sum  (..., b_q, 1)
        acc = q.new_zeros((*q_i.shape[:-1], v.shape[-1]))            # unnormalised output
        # Under a causal mask, key tiles past the last query of this block are all masked.
        k_end = min(T_k, i0 + rows + offset) if is_causal else T_k
        for j0 in range(0, k_end, block_k):
            s = q_i @ k[..., j0:j0 + block_k, :].transpose(-2, -1)    # (..., b_q, b_k)
            if is_causal:
                i = torch.arange(i0, i0 + rows, device=q.device).unsqueeze(1) + offset
                j = torch.arange(j0, j0 + s.shape[-1], device=q.device).unsqueeze(0)
                s = s.masked_fill(j > i, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
            p = torch.exp(s - m_new)                                 # (..., b_q, b_k), <= 1
            rescale = torch.exp(m - m_new)                           # shrink what came before
            l = l * rescale + p.sum(dim=-1, keepdim=True)
            acc = acc * rescale + p @ v[..., j0:j0 + block_k, :]
            m = m_new
        out[..., i0:i0 + rows, :] = acc / l
    return out
# --8<-- [end:tiled]


# --8<-- [start:local]
def sliding_window_mask(t: int, window: int, t_k: int | None = None) -> torch.Tensor:
    """Causal local attention (Child et al., 2019; Beltagy et al., 2020; Mistral): query i sees
    keys i - window + 1 .. i, `window` keys counting itself. Boolean (T, T_k), True where
    attention is allowed; with t_k > t the queries are the last t of t_k positions, as after a
    cache (the same alignment as causal_mask)."""
    t_k = t if t_k is None else t_k
    if t < 1 or window < 1 or t_k < t:
        raise ValueError(f"need t >= 1, window >= 1 and t_k >= t, got t={t}, window={window}, "
                         f"t_k={t_k}")
    i = torch.arange(t_k - t, t_k).unsqueeze(1)  # (T, 1) absolute query positions
    j = torch.arange(t_k).unsqueeze(0)           # (1, T_k)
    return (j <= i) & (j > i - window)           # (T, T_k)
# --8<-- [end:local]


# --8<-- [start:linear]
def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     is_causal: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """Kernel attention with phi(x) = elu(x) + 1 (Katharopoulos et al., 2020, arXiv:2006.16236):
    out_i = phi(q_i)^T S / phi(q_i)^T z, with S = sum_j phi(k_j) v_j^T and z = sum_j phi(k_j).
    O(T d^2) time and no (T, T) matrix: this is a different model, not an approximation of softmax."""
    _check_qkv(q, k, v)
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1                          # positive features
    if is_causal:
        if q.shape[-2] != k.shape[-2]:
            raise ValueError(f"causal linear attention needs T_q == T_k, got {tuple(q.shape)}, {tuple(k.shape)}")
        # Prefix sums over positions: S_i = sum_{j<=i} phi(k_j) v_j^T, (..., T, d_k, d_v).
        s = torch.cumsum(phi_k.unsqueeze(-1) * v.unsqueeze(-2), dim=-3)
        z = torch.cumsum(phi_k, dim=-2)                                  # (..., T, d_k)
        num = (phi_q.unsqueeze(-2) @ s).squeeze(-2)                      # (..., T, d_v)
        den = (phi_q * z).sum(-1, keepdim=True)                          # (..., T, 1)
    else:
        s = phi_k.transpose(-2, -1) @ v                                  # (..., d_k, d_v)
        num = phi_q @ s                                                  # (..., T_q, d_v)
        den = phi_q @ phi_k.sum(-2, keepdim=True).transpose(-2, -1)      # (..., T_q, 1)
    return num / (den + eps)
# --8<-- [end:linear]


# --8<-- [start:linear_step]
def linear_attention_step(state: tuple[torch.Tensor, torch.Tensor] | None, q: torch.Tensor,
                          k: torch.Tensor, v: torch.Tensor,
                          eps: float = 1e-6) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Causal linear attention for one new token, as a recurrence: q, k (..., d_k) and
    v (..., d_v) of that token, state (S (..., d_k, d_v), z (..., d_k)) or None before the first.
    Returns (output (..., d_v), new state); the state's size does not grow with the tokens seen."""
    if q.shape != k.shape or v.shape[:-1] != q.shape[:-1]:
        raise ValueError(f"q, k need one shape and v their leading dims, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1
    s_new, z_new = phi_k.unsqueeze(-1) * v.unsqueeze(-2), phi_k          # phi(k_i) v_i^T, phi(k_i)
    if state is not None:
        s_new, z_new = state[0] + s_new, state[1] + z_new                 # S_i = S_{i-1} + ...
    num = (phi_q.unsqueeze(-2) @ s_new).squeeze(-2)                       # (..., d_v)
    den = (phi_q * z_new).sum(-1, keepdim=True)                           # (..., 1)
    return num / (den + eps), (s_new, z_new)
# --8<-- [end:linear_step]


# --8<-- [start:entropy]
def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of each attention row (..., T_q, T_k) -> (..., T_q).
    log(T_k) for uniform attention, 0 for one-hot (saturated) attention."""
    return -(weights * weights.clamp_min(1e-30).log()).sum(dim=-1)
# --8<-- [end:entropy]


# --8<-- [start:kv_memory]
def kv_cache_bytes(n_layers: int, n_kv_heads: int, d_head: int, tokens: int = 1,
                   batch: int = 1, bytes_per_value: int = 2) -> int:
    """Bytes a KV cache holds: 2 (K and V) x layers x KV heads x head width x tokens x batch
    x bytes per number (2 for fp16/bf16)."""
    sizes = dict(n_layers=n_layers, n_kv_heads=n_kv_heads, d_head=d_head, tokens=tokens,
                 batch=batch, bytes_per_value=bytes_per_value)
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        raise ValueError(f"KV cache sizes must be positive, got {bad}")
    return 2 * n_layers * n_kv_heads * d_head * tokens * batch * bytes_per_value
# --8<-- [end:kv_memory]
